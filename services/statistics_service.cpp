#include "services/statistics_service.hpp"

#include "services/access_gate.hpp"

#include <map>

#include <google/protobuf/util/time_util.h>

#include "drivers/store/energy_curve.hpp"
#include "model/statistics/statistics.hpp"
#include "services/request_time.hpp"
#include "services/status.hpp"

namespace plantd::services {

using google::protobuf::util::TimeUtil;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void set(v1::Value* out, const reading& r) {
  out->set_value(r.value);
  out->set_quality(static_cast<v1::Quality>(static_cast<int>(r.quality) + 1));
}

}  // namespace

statistics_service::statistics_service(std::shared_ptr<const actors::config_view> config,
                                       std::shared_ptr<actors::state_hub> hub,
                                       std::shared_ptr<store::store> db)
  : config_(std::move(config)),
    hub_(std::move(hub)),
    db_(std::move(db)) {}

grpc::ServerUnaryReactor* statistics_service::GetOverview(grpc::CallbackServerContext* ctx,
                                                          const v1::GetOverviewRequest*,
                                                          v1::Overview* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto in_force = config_->get();  // the config in force, for this call
  const plant::config& cfg = *in_force;
  const auto& site = cfg.site;
  resp->set_site_name(site.name);
  resp->set_owner(site.owner);
  resp->set_address(site.address);
  if (site.created_at)
    *resp->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(site.created_at->count());
  double rated_p = site.rated_power_w;
  double rated_e = site.rated_energy_wh;
  if (rated_p == 0)
    for (const auto& c : cfg.cabinets)
      rated_p += c.rated_power_w;
  if (rated_e == 0)
    for (const auto& c : cfg.cabinets)
      rated_e += c.rated_energy_wh;
  resp->set_rated_power_w(rated_p);
  resp->set_rated_energy_wh(rated_e);
  if (auto [s, seq] = hub_->latest(); s) {
    resp->set_pv_to_site_w(s->pv_w.usable() ? s->pv_w.value : 0);
    double g = s->grid_w.usable() ? s->grid_w.value : 0;
    resp->set_grid_import_w(std::max(0.0, g));
    resp->set_grid_export_w(std::max(0.0, -g));
    resp->set_battery_discharge_w(std::max(0.0, s->battery_w));
    resp->set_battery_charge_w(std::max(0.0, -s->battery_w));
    set(resp->mutable_load_w(), s->load_w);
    set(resp->mutable_soc_percent(), s->soc_percent);
  }
  auto today = store::energy_curve(*db_, store::curve_period::day, now_ms() - 1, now_ms());
  if (!today.buckets.empty()) {
    const auto& b = today.buckets.back();
    resp->set_pv_today_wh(b.pv_wh);
    resp->set_load_today_wh(b.load_wh);
    resp->set_grid_import_today_wh(b.grid_import_wh);
    resp->set_grid_export_today_wh(b.grid_export_wh);
  }
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* statistics_service::GetRevenue(grpc::CallbackServerContext* ctx,
                                                         const v1::GetRevenueRequest* req,
                                                         v1::GetRevenueResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto in_force = config_->get();  // the config in force, for this call
  const plant::config& cfg = *in_force;
  if (cfg.economics.import_prices.empty())
    return finish(ctx, to_status(errc::failed_precondition,
                                 "no tariff configured: set economics.import_prices"));
  telemetry::resolution group;
  switch (req->period()) {
    case v1::STATISTICS_PERIOD_DAY: group = telemetry::resolution::day; break;
    case v1::STATISTICS_PERIOD_MONTH: group = telemetry::resolution::month; break;
    case v1::STATISTICS_PERIOD_YEAR: group = telemetry::resolution::year; break;
    default: return finish(ctx, to_status(errc::invalid_argument, "period: day, month or year"));
  }
  problems found;
  auto from = request_ms(req->from(), "from", found);
  auto to = req->has_to() ? request_ms(req->to(), "to", found) : now_ms();
  if (!found.empty())
    return finish(ctx, invalid_argument(found));
  if (from >= to)
    return finish(ctx, to_status(errc::invalid_argument, "to: must be later than from"));
  // Hourly energy, each hour at its own price, grouped by day/month/year.
  auto hours = store::energy_curve(*db_, store::curve_period::hour, from, to);
  std::map<int64_t, std::vector<statistics::hourly_energy>> groups;
  for (const auto& h : hours.buckets) {
    auto start =
      telemetry::bucket_start(time_point{std::chrono::milliseconds{h.start_ms}}, group, db_->tz())
        .time_since_epoch()
        .count();
    groups[start].push_back({h.start_ms, h.load_wh, h.pv_wh, h.grid_import_wh, h.grid_export_wh});
  }
  resp->set_currency(cfg.economics.currency);
  double total = 0;
  for (const auto& [start, hs] : groups) {
    auto r = statistics::revenue_of(hs, cfg.economics, db_->tz());
    auto* b = resp->add_buckets();
    *b->mutable_start() = TimeUtil::MillisecondsToTimestamp(start);
    b->set_baseline_cost(r.baseline_cost);
    b->set_actual_cost(r.actual_cost);
    b->set_savings(r.savings);
    b->set_load_kwh(r.load_kwh);
    b->set_import_kwh(r.import_kwh);
    b->set_export_kwh(r.export_kwh);
    total += r.savings;
  }
  resp->set_total_savings(total);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor*
statistics_service::GetSocialContribution(grpc::CallbackServerContext* ctx,
                                          const v1::GetSocialContributionRequest* req,
                                          v1::SocialContribution* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto in_force = config_->get();  // the config in force, for this call
  const plant::config& cfg = *in_force;
  problems found;
  auto from = req->has_from() ? request_ms(req->from(), "from", found) : 0;
  auto to = req->has_to() ? request_ms(req->to(), "to", found) : now_ms();
  if (!found.empty())
    return finish(ctx, invalid_argument(found));
  if (from >= to)
    return finish(ctx, to_status(errc::invalid_argument, "to: must be later than from"));
  auto total = store::energy_curve(*db_, store::curve_period::total, from, to);
  double pv_wh = total.buckets.empty() ? 0 : total.buckets[0].pv_wh;
  auto s = statistics::social_of(pv_wh, cfg.economics);
  resp->set_pv_kwh(s.pv_kwh);
  resp->set_co2_avoided_kg(s.co2_kg);
  resp->set_coal_saved_kg(s.coal_kg);
  resp->set_tree_years(s.tree_years);
  resp->set_co2_kg_per_kwh(cfg.economics.co2_kg_per_kwh);
  resp->set_coal_kg_per_kwh(cfg.economics.coal_kg_per_kwh);
  resp->set_co2_kg_per_tree_year(cfg.economics.co2_kg_per_tree_year);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor*
statistics_service::GetDeviceStatistics(grpc::CallbackServerContext* ctx,
                                        const v1::GetDeviceStatisticsRequest*,
                                        v1::DeviceStatistics* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto [s, seq] = hub_->latest();
  if (!s)
    return finish(ctx, to_status(errc::unavailable, "no reading yet"));
  for (std::size_t i = 0; i < s->cabinet_details.size(); ++i) {
    const auto& d = s->cabinet_details[i];
    auto* out = resp->add_cabinets();
    out->set_id(d.id);
    bool available = i < s->cabinets.size() && s->cabinets[i].available;
    out->set_available(available);
    if (i < s->cabinets.size())
      set(out->mutable_soc_percent(),
          {s->cabinets[i].soc_percent, available ? quality::measured : quality::stale});
    set(out->mutable_soh_percent(), d.soh_percent);
    set(out->mutable_cycles(), d.cycles);
    set(out->mutable_cell_voltage_max_v(), d.cell_voltage_max_v);
    set(out->mutable_cell_voltage_min_v(), d.cell_voltage_min_v);
    set(out->mutable_cell_temperature_max_c(), d.cell_temperature_max_c);
    set(out->mutable_cell_temperature_min_c(), d.cell_temperature_min_c);
    out->set_fire_state(d.fire_state);
    set(out->mutable_coolant_inlet_c(), d.coolant_inlet_c);
    set(out->mutable_coolant_outlet_c(), d.coolant_outlet_c);
    out->set_pump_running(d.pump_running);
    out->set_cooling_fault(d.cooling_fault);
  }
  return finish(ctx, grpc::Status::OK);
}

}  // namespace plantd::services
