#include "model/dispatch/dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/dispatch/rules.hpp"
#include "model/plant/tou.hpp"

namespace plantd::dispatch {

const char* to_string(rule r) noexcept {
  switch (r) {
    case rule::safety: return "safety";
    case rule::fail_safe: return "fail-safe";
    case rule::battery_protection: return "battery protection";
    case rule::grid_order: return "grid order";
    case rule::export_limit: return "export limit";
    case rule::demand_limit: return "demand limit";
    case rule::manual: return "manual setpoint";
    case rule::self_consumption: return "self-consumption";
    case rule::time_of_use: return "time of use";
    case rule::idle: return "idle";
  }
  return "?";
}

dispatcher::dispatcher(const plant::config& cfg)
  : policies_(cfg.policies),
    polling_(cfg.polling),
    inputs_(cfg.io.inputs),
    trip_output_(cfg.policies.export_limit.trip_output) {
  for (const auto& c : cfg.cabinets)
    rated_power_w_ += c.rated_power_w;
  if (!absl::LoadTimeZone(cfg.site.time_zone, &tz_))
    tz_ = absl::UTCTimeZone();
  for (std::size_t i = 0; i < policies_.tou.size(); ++i) {
    const auto& s = policies_.tou[i];
    auto start = plant::parse_hhmm(s.start);
    auto end = plant::parse_hhmm(s.end);
    if (!start || !end)
      continue;
    uint8_t days = 0;
    for (auto d : s.days)
      days |= static_cast<uint8_t>(1U << static_cast<unsigned>(d));
    if (s.days.empty())
      days = 0xFE;  // bits 1..7
    spans_.push_back({*start, *end, days, i});
  }
}

const plant::tou_slot* dispatcher::active_slot(time_point t) const {
  auto civil = absl::ToCivilMinute(absl::FromUnixMillis(t.time_since_epoch().count()), tz_);
  int minute = civil.hour() * 60 + civil.minute();
  auto wd = absl::GetWeekday(absl::CivilDay(civil));
  // absl: monday = 0 .. sunday = 6; ours: 1..7.
  unsigned iso = static_cast<unsigned>(wd) + 1;
  for (const auto& sp : spans_)
    if ((sp.days >> iso & 1U) && minute >= sp.start && minute < sp.end)
      return &policies_.tou[sp.index];
  return nullptr;
}

decision dispatcher::decide(const snapshot& s, state& st) const {
  const auto n = s.cabinets.size();
  const auto& p = policies_;
  if (st.soc_low_lock.size() != n) {
    st.soc_low_lock.assign(n, false);
    st.soc_high_lock.assign(n, false);
  }
  double dt_s = st.initialized ? std::chrono::duration<double>(s.now - st.last_time).count() : 0.0;

  auto m = rules::measure(s, p.fail_safe, st);
  auto stop = rules::safety(s, inputs_);
  auto calendar = s.calendar == time_point{} ? s.now : s.calendar;
  const plant::tou_slot* slot =
    p.mode == plant::working_mode::time_of_use ? active_slot(calendar) : nullptr;
  auto lim = rules::limit_cabinets(s, p, slot, st);

  // 6 the working mode; the rules 5..1 may only tighten its target:
  // 5 grid limits (they need the meter), 4 grid orders, 3 battery protection,
  // 2 fail-safe, 1 safety.
  auto t = rules::mode(s, p, slot, m.balance_w, dt_s, st);
  if (m.meter_ok)
    rules::grid_limits(t, p, m.balance_w);
  rules::grid_orders(t, s.dred, rated_power_w_);
  double before = t.w;
  t.apply(std::clamp(t.w, -lim.charge_max, lim.discharge_max), rule::battery_protection);
  bool protection_limited = std::abs(before - t.w) > 1e-6;
  if (!m.meter_ok)
    t = {0, rule::fail_safe};
  decision d;
  d.cabinet_run = lim.run;
  if (stop.active) {
    t = {0, rule::safety};
    std::fill(d.cabinet_run.begin(), d.cabinet_run.end(), false);
  }

  // 7. Distribution, then what the battery leaves to the PV limit.
  d.cabinet_w = rules::distribute(t.w, lim, s, p.soc);
  d.battery_w = std::accumulate(d.cabinet_w.begin(), d.cabinet_w.end(), 0.0);
  d.binding = t.binding;
  auto pv = rules::pv_limit(s, p, m, d.battery_w, lim.charge_max, stop.active, st);
  d.pv_limit_fraction = pv.fraction;
  d.pv_binding = pv.binding;
  d.inverter_limit_percent.assign(s.inverters.size(), pv.fraction * 100);
  d.trip_output = rules::trip(s, p, m, rated_power_w_, trip_output_, st);
  d.explanation = rules::explain(d, s, m, stop, protection_limited, lim.notes);

  st.initialized = true;
  st.last_time = s.now;
  st.last_battery_w = d.battery_w;
  st.last_pv_fraction = d.pv_limit_fraction;
  return d;
}

}  // namespace plantd::dispatch
