#include "model/dispatch/dispatch.hpp"

#include "model/io/contacts.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "model/io/contacts.hpp"
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

namespace {

// 1 at or below `full`, 0 at or above `zero`, linear between.
double taper(double x, double full, double zero) {
  return std::clamp((zero - x) / (zero - full), 0.0, 1.0);
}

// Splits `total` (>= 0) over cabinets by weight, no cabinet above its cap;
// what a full cabinet cannot take goes to the others (water filling).
std::vector<double> split(double total, const std::vector<double>& cap,
                          const std::vector<double>& weight) {
  std::vector<double> out(cap.size(), 0);
  std::vector<bool> open(cap.size());
  for (std::size_t i = 0; i < cap.size(); ++i)
    open[i] = cap[i] > 0 && weight[i] > 0;
  double remaining = total;
  for (std::size_t round = 0; round < cap.size() && remaining > 1e-9; ++round) {
    double wsum = 0;
    for (std::size_t i = 0; i < cap.size(); ++i)
      if (open[i])
        wsum += weight[i];
    if (wsum <= 0)
      break;
    bool clipped = false;
    for (std::size_t i = 0; i < cap.size(); ++i) {
      if (!open[i])
        continue;
      double share = remaining * weight[i] / wsum;
      if (out[i] + share >= cap[i]) {
        clipped = true;
        remaining -= cap[i] - out[i];
        out[i] = cap[i];
        open[i] = false;
      }
    }
    if (clipped)
      continue;  // shares changed: distribute the rest again
    for (std::size_t i = 0; i < cap.size(); ++i)
      if (open[i])
        out[i] += remaining * weight[i] / wsum;
    remaining = 0;
  }
  return out;
}

}  // namespace

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

  decision d;
  d.cabinet_w.assign(n, 0);
  d.cabinet_run.assign(n, true);

  // The plant as measured.
  double batt_now = 0;
  for (const auto& c : s.cabinets)
    if (c.fresh)
      batt_now += c.power_w;
  double pv_now = 0;
  double pv_rated = 0;
  for (const auto& inv : s.inverters) {
    pv_rated += inv.rated_power_w;
    if (inv.fresh)
      pv_now += inv.power_w;
  }
  bool meter_ok = s.grid_w.usable()
                  && s.grid_time <= s.now  // stamped later: the clock was set back
                  && s.now - s.grid_time <= std::chrono::milliseconds{p.fail_safe.meter_stale_ms};
  double grid_now = meter_ok ? s.grid_w.value : 0;
  double balance = grid_now + batt_now;  // net load before the battery
  double pv_at_sample = pv_now;
  if (meter_ok) {
    bool same_sample = st.have_balance && s.grid_time == st.balance_sample_time
                       && s.grid_w.value == st.balance_sample_w;
    if (same_sample) {
      balance = st.balance_w;
      pv_at_sample = st.balance_pv_w;
    } else {
      st.have_balance = true;
      st.balance_sample_time = s.grid_time;
      st.balance_sample_w = s.grid_w.value;
      st.balance_w = balance;
      st.balance_pv_w = pv_now;
    }
  }

  // Safety inputs.
  bool estop = false;
  std::string estop_why;
  for (const auto& in : inputs_) {
    if (in.channel < 1 || in.channel > 2)
      continue;
    bool active = io::input_active(in, s.di[in.channel - 1]);
    bool stops = in.function == plant::input_function::emergency_stop
                 || in.function == plant::input_function::external_trip
                 || in.function == plant::input_function::fire_alarm;
    if (stops && !s.io_known) {
      estop = true;
      estop_why = fmt::format("DI{} ({}) unknown: I/O lines unavailable", in.channel,
                              in.name.empty() ? "stop input" : in.name);
    } else if (active && stops) {
      estop = true;
      estop_why =
        fmt::format("DI{} ({}) active", in.channel, in.name.empty() ? "stop input" : in.name);
    }
  }
  if (s.dred.drm0) {
    estop = true;
    estop_why = "DRM0: disconnect ordered";
  }

  auto calendar = s.calendar == time_point{} ? s.now : s.calendar;
  const plant::tou_slot* slot =
    p.mode == plant::working_mode::time_of_use ? active_slot(calendar) : nullptr;

  // Per-cabinet limits: safety, staleness, SOC bounds with hysteresis,
  // temperature and cooling derating.
  std::vector<double> charge_cap(n, 0);
  std::vector<double> discharge_cap(n, 0);
  bool protection_limited = false;
  std::string cabinet_notes;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = s.cabinets[i];
    if (c.fire || c.bms_fault) {
      d.cabinet_run[i] = false;
      cabinet_notes +=
        fmt::format("; cabinet {} stopped ({})", i + 1, c.fire ? "fire alarm" : "BMS fault");
      continue;
    }
    if (!c.fresh || c.contactor_open)
      continue;  // excluded; its share goes to the others
    auto low = st.soc_low_lock[i];
    auto high = st.soc_high_lock[i];
    if (c.soc <= p.soc.min_percent)
      low = true;
    else if (c.soc >= p.soc.min_percent + p.soc.hysteresis_percent)
      low = false;
    if (c.soc >= p.soc.max_percent)
      high = true;
    else if (c.soc <= p.soc.max_percent - p.soc.hysteresis_percent)
      high = false;
    double derate = taper(c.cell_temp_max_c, p.thermal.derate_from_c, p.thermal.derate_to_c)
                    * (c.cooling_fault ? p.thermal.cooling_fault_factor : 1.0);
    double ch = std::min(c.allowed_charge_w, c.rated_power_w) * derate;
    double dis = std::min(c.allowed_discharge_w, c.rated_power_w) * derate;
    if (low)
      dis = 0;
    if (high)
      ch = 0;
    if (slot && (slot->soc_min_percent != 0 || slot->soc_max_percent != 0)) {
      if (c.soc <= slot->soc_min_percent)
        dis = 0;
      if (c.soc >= slot->soc_max_percent)
        ch = 0;
    }
    charge_cap[i] = std::max(0.0, ch);
    discharge_cap[i] = std::max(0.0, dis);
  }
  double charge_max = std::accumulate(charge_cap.begin(), charge_cap.end(), 0.0);
  double discharge_max = std::accumulate(discharge_cap.begin(), discharge_cap.end(), 0.0);

  // 6. Working mode.
  double target = 0;
  rule binding = rule::idle;
  if (st.manual && st.manual->expires <= s.now)
    st.manual.reset();
  if (st.manual) {
    target = st.manual->power_w;
    binding = rule::manual;
  } else if (p.mode == plant::working_mode::time_of_use) {
    binding = rule::time_of_use;
    if (slot) {
      switch (slot->action) {
        case plant::slot_action::charge: {
          double want = slot->power_w;
          if (!slot->grid_charge)  // only what would otherwise be exported
            want = std::min(want, std::max(0.0, -balance));
          target = -want;
          break;
        }
        case plant::slot_action::discharge: target = slot->power_w; break;
        case plant::slot_action::self_consume: target = balance; break;
        default: target = 0; break;
      }
    }
  } else {
    target = balance;
    binding = rule::self_consumption;
  }

  // Self-consumption never discharges the battery while PV is curtailed:
  // releasing PV covers the load first (the PV limit below does that).
  bool self_consuming = !st.manual
                        && (p.mode == plant::working_mode::self_consumption
                            || (slot && slot->action == plant::slot_action::self_consume));
  if (self_consuming && st.last_pv_fraction < 0.999 && target > 0)
    target = 0;

  // Ramp and deadband smooth the working mode only; the rules above it act
  // on the smoothed value at once.
  if (st.initialized) {
    if (p.distribution.ramp_w_per_s > 0 && dt_s > 0) {
      double step = p.distribution.ramp_w_per_s * dt_s;
      target = std::clamp(target, st.last_battery_w - step, st.last_battery_w + step);
    }
    if (std::abs(target - st.last_battery_w) < p.distribution.deadband_w)
      target = st.last_battery_w;
  }

  auto apply = [&](double value, rule r) {
    if (std::abs(value - target) > 1e-6) {
      target = value;
      binding = r;
    }
  };

  // 5. Grid connection limits (need the meter).
  if (meter_ok) {
    double grid_pred = balance - target;
    if (p.export_limit.enabled && grid_pred < -p.export_limit.limit_w)
      apply(balance + p.export_limit.limit_w, rule::export_limit);
    if (p.demand_limit.enabled) {
      grid_pred = balance - target;
      if (grid_pred > p.demand_limit.limit_w)
        apply(balance - p.demand_limit.limit_w, rule::demand_limit);
      else if (target <= 0 && grid_pred < p.demand_limit.recharge_below_w)
        apply(std::min(target, balance - p.demand_limit.recharge_below_w), rule::demand_limit);
    }
  }

  // 4. Grid orders.
  if (s.dred.consumption_cap)
    apply(std::max(target, -*s.dred.consumption_cap * rated_power_w_), rule::grid_order);
  if (s.dred.generation_cap)
    apply(std::min(target, *s.dred.generation_cap * rated_power_w_), rule::grid_order);

  // 3. Battery protection.
  {
    double before = target;
    apply(std::clamp(target, -charge_max, discharge_max), rule::battery_protection);
    protection_limited = std::abs(before - target) > 1e-6;
  }

  // 2. Fail-safe.
  if (!meter_ok) {
    target = 0;
    binding = rule::fail_safe;
  }

  // 1. Safety.
  if (estop) {
    target = 0;
    binding = rule::safety;
    std::fill(d.cabinet_run.begin(), d.cabinet_run.end(), false);
  }

  // 7. Distribution.
  if (target > 0) {
    std::vector<double> w(n);
    for (std::size_t i = 0; i < n; ++i)
      w[i] = discharge_cap[i] * (1 + std::max(0.0, s.cabinets[i].soc - p.soc.min_percent));
    d.cabinet_w = split(target, discharge_cap, w);
  } else if (target < 0) {
    std::vector<double> w(n);
    for (std::size_t i = 0; i < n; ++i)
      w[i] = charge_cap[i] * (1 + std::max(0.0, p.soc.max_percent - s.cabinets[i].soc));
    d.cabinet_w = split(-target, charge_cap, w);
    for (auto& x : d.cabinet_w)
      x = -x;
  }
  d.battery_w = std::accumulate(d.cabinet_w.begin(), d.cabinet_w.end(), 0.0);
  d.binding = binding;

  // PV limit: after the battery, curtail only what the limits require.
  double frac = 1.0;
  rule pv_rule = rule::idle;
  auto cap_pv = [&](double f, rule r) {
    f = std::clamp(f, 0.0, 1.0);
    if (f < frac - 1e-9) {
      frac = f;
      pv_rule = r;
    }
  };
  if (pv_rated > 0) {
    if (meter_ok && p.export_limit.enabled) {
      double grid_pred = balance - d.battery_w;
      double excess = -p.export_limit.limit_w - grid_pred;        // > 0: too much export
      double headroom = std::max(0.0, charge_max + d.battery_w);  // more the battery could take
      double pv_cap = excess > 0 ? pv_at_sample - excess : pv_at_sample - excess + headroom;
      cap_pv(pv_cap / pv_rated, rule::export_limit);
    }
    cap_pv(s.rcr_fraction, rule::grid_order);
    if (s.dred.generation_cap)
      cap_pv(*s.dred.generation_cap, rule::grid_order);
    if (!meter_ok)
      cap_pv(p.fail_safe.pv_export_w / pv_rated, rule::fail_safe);
    if (estop)
      cap_pv(0, rule::safety);
  }
  // The export limit raises a PV limit it set only on a grid reading taken
  // a settling time after the limit's last change: an earlier one may not
  // show that change yet, and a raise on it would count the headroom twice
  // (export overshoots the limit). Lowering is never held.
  if (st.pv_changed_at > s.now)
    st.pv_changed_at = s.now;  // the clock was set back
  if (st.initialized && st.last_pv_rule == rule::export_limit && meter_ok
      && frac > st.last_pv_fraction + 1e-9 && s.grid_time < st.pv_changed_at + pv_settle) {
    frac = st.last_pv_fraction;
    pv_rule = rule::export_limit;
  }
  if (frac > st.last_pv_fraction + 1e-9)  // only a raise waits for the meter
    st.pv_changed_at = s.now;
  st.last_pv_rule = pv_rule;
  d.pv_limit_fraction = frac;
  d.pv_binding = pv_rule;
  d.inverter_limit_percent.assign(s.inverters.size(), frac * 100);

  // The trip output: export above the limit for longer than the protection
  // time, measured (not predicted). Latched.
  if (meter_ok && p.export_limit.enabled) {
    double tolerance =
      p.export_limit.trip_tolerance_w.value_or(std::max(500.0, 0.01 * rated_power_w_));
    if (grid_now < -(p.export_limit.limit_w + tolerance)) {
      // Counted again from now after the clock was set back (SetTime): a
      // step back must not hold the trip off for as long as the step.
      if (!st.export_exceeded_since || *st.export_exceeded_since > s.now)
        st.export_exceeded_since = s.now;
      else if (s.now - *st.export_exceeded_since
               >= std::chrono::milliseconds{p.export_limit.max_protection_time_ms})
        st.export_trip = true;
    } else {
      st.export_exceeded_since.reset();
    }
  }
  d.trip_output = st.export_trip && trip_output_ != 0;

  // Explanation.
  switch (binding) {
    case rule::safety: d.explanation = "safety: plant stopped, " + estop_why; break;
    case rule::fail_safe:
      d.explanation = fmt::format("fail-safe: grid meter {}; batteries to 0 W, PV at {:.0f} %",
                                  s.grid_w.usable() ? "stale" : "missing", frac * 100);
      break;
    default:
      d.explanation =
        fmt::format("{}: battery {:.1f} kW (grid {:.1f} kW, PV {:.1f} kW){}", to_string(binding),
                    d.battery_w / 1000, grid_now / 1000, pv_now / 1000,
                    pv_rule != rule::idle ? fmt::format(", PV limited to {:.0f} % by {}",
                                                        frac * 100, to_string(pv_rule))
                                          : "");
  }
  if (protection_limited && binding != rule::battery_protection)
    d.explanation += "; battery limits apply";
  d.explanation += cabinet_notes;

  st.initialized = true;
  st.last_time = s.now;
  st.last_battery_w = d.battery_w;
  st.last_pv_fraction = d.pv_limit_fraction;
  return d;
}

}  // namespace plantd::dispatch
