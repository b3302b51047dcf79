#include "model/plant/grid_profiles.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace plantd::plant {

const std::vector<grid_profile_rules>& grid_profiles() {
  static const std::vector<grid_profile_rules> all{
    {grid_profile::as_nzs_4777_2, "AS/NZS 4777.2", demand_response_kind::dred, 15'000, std::nullopt,
     "AS/NZS 4777.2:2015 6.2.1 (the inverter shall support demand response mode DRM 0, "
     "AS/NZS 4755); AS/NZS 4777.2:2020 6.2.2 soft export limit: exceedance contained within "
     "15 s (SA Power Networks, Dynamic Exports test procedure)"},
    {grid_profile::vde_ar_n_4105, "VDE-AR-N 4105", demand_response_kind::rcr, std::nullopt,
     std::nullopt,
     "ripple-control receiver with the active-power stages 100 / 60 / 30 / 0 % "
     "(contacts K1..K4), as German network operators require under VDE-AR-N 4105 "
     "(Solar-Log and Delta installation manuals)"},
    {grid_profile::g99, "G99 / G100", std::nullopt, 5'000, 5'000,
     "ENA EREC G100 export limitation: export reduced to the maximum export capacity within "
     "5 s, and within 5 s when a component or signal of the scheme fails (Western Power "
     "Distribution, export capping)"},
    {grid_profile::ieee_1547, "IEEE 1547 / UL 1741 PCS", std::nullopt, 30'000, std::nullopt,
     "UL 1741 Certification Requirement Decision for power control systems: export limited "
     "within 30 s (open-loop response)"},
    {grid_profile::vde_ar_n_4110, "VDE-AR-N 4110", std::nullopt, std::nullopt, std::nullopt,
     "no public source found: fixes nothing"},
    {grid_profile::en_50549, "EN 50549", std::nullopt, std::nullopt, std::nullopt,
     "no public source found: fixes nothing"},
    {grid_profile::gb_t_36547, "GB/T 36547", std::nullopt, std::nullopt, std::nullopt,
     "the public text gives no response time or communication-loss rule: fixes nothing"},
  };
  return all;
}

const grid_profile_rules* rules_of(grid_profile p) {
  for (const auto& r : grid_profiles())
    if (r.profile == p)
      return &r;
  return nullptr;
}

namespace {

std::string_view kind_name(demand_response_kind k) {
  switch (k) {
    case demand_response_kind::none: return "DEMAND_RESPONSE_KIND_NONE";
    case demand_response_kind::dred: return "DEMAND_RESPONSE_KIND_DRED";
    case demand_response_kind::rcr: return "DEMAND_RESPONSE_KIND_RCR";
  }
  return "?";
}

}  // namespace

problems grid_profile_departures(const config& cfg) {
  problems out;
  const auto* r = rules_of(cfg.site.profile);
  if (!r)
    return out;
  auto say = [&](std::string path, std::string what) {
    out.push_back({std::move(path), fmt::format("{} under the site's grid profile {} ({})", what,
                                                r->name, r->source)});
  };
  if (r->demand_response && cfg.io.demand_response != *r->demand_response)
    say("io.demand_response", fmt::format("must be {}", kind_name(*r->demand_response)));
  const auto& ex = cfg.policies.export_limit;
  if (r->export_within_ms && ex.enabled && ex.max_protection_time_ms > *r->export_within_ms)
    say("policies.export_limit.max_protection_time_ms",
        fmt::format("at most {} ms, got {}", *r->export_within_ms, ex.max_protection_time_ms));
  const auto& fs = cfg.policies.fail_safe;
  if (r->fail_safe_within_ms && fs.meter_stale_ms > *r->fail_safe_within_ms)
    say("policies.fail_safe.meter_stale_ms",
        fmt::format("at most {} ms, got {}", *r->fail_safe_within_ms, fs.meter_stale_ms));
  if (r->fail_safe_within_ms && fs.reach_within_ms > *r->fail_safe_within_ms)
    say("policies.fail_safe.reach_within_ms",
        fmt::format("at most {} ms, got {}", *r->fail_safe_within_ms, fs.reach_within_ms));
  return out;
}

void apply_grid_profile(config& cfg) {
  const auto* r = rules_of(cfg.site.profile);
  if (!r)
    return;
  if (r->demand_response)
    cfg.io.demand_response = *r->demand_response;
  auto& ex = cfg.policies.export_limit;
  if (r->export_within_ms)
    ex.max_protection_time_ms = std::min(ex.max_protection_time_ms, *r->export_within_ms);
  auto& fs = cfg.policies.fail_safe;
  if (r->fail_safe_within_ms) {
    fs.reach_within_ms = std::min(fs.reach_within_ms, *r->fail_safe_within_ms);
    // The meter counts as stale early enough for a decision and a device
    // poll to follow within the time (validation checks the same sum).
    const auto& pl = cfg.polling;
    int64_t room =
      int64_t{fs.reach_within_ms} - pl.control_cycle_ms - std::max(pl.cabinet_ms, pl.inverter_ms);
    if (room > int64_t{pl.grid_meter_ms})
      fs.meter_stale_ms = std::min<uint32_t>(fs.meter_stale_ms, static_cast<uint32_t>(room));
  }
}

}  // namespace plantd::plant
