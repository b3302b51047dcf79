#include "drivers/sim/physics.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace plantd::sim {

namespace {

// Linear taper: 1 at `full`, 0 at `zero`.
double taper(double x, double full, double zero) {
  if (full < zero)
    return std::clamp((zero - x) / (zero - full), 0.0, 1.0);
  return std::clamp((x - zero) / (full - zero), 0.0, 1.0);
}

}  // namespace

double cabinet_state::allowed_charge_w() const {
  if (!contactor_closed())
    return 0;
  // BMS: full power up to 90 % SOC, none at 100 %; derated from 45 °C to 55 °C.
  return rated_power_w * bms_derate * taper(soc, 90, 100) * taper(cell_temp_c, 45, 55);
}

double cabinet_state::allowed_discharge_w() const {
  if (!contactor_closed())
    return 0;
  return rated_power_w * bms_derate * taper(soc, 10, 0) * taper(cell_temp_c, 45, 55);
}

uint16_t cabinet_state::pcs_state() const {
  if (!contactor_closed() || fire)
    return 3;
  if (!run)
    return 0;
  return std::abs(power_w) > 1 ? 2 : 1;
}

uint16_t cabinet_state::bms_alarm_word() const {
  uint16_t w = 0;
  if (cell_temp_c > 45)
    w |= 1U << 2;
  if (soc < 5)
    w |= 1U << 5;
  return w;
}

uint16_t cabinet_state::bms_fault_word() const {
  uint16_t w = 0;
  if (cell_temp_c > 55)
    w |= 1U << 2;
  return w;
}

uint16_t cabinet_state::bms_state() const {
  if (bms_fault_word() != 0)
    return 3;
  return (bms_alarm_word() != 0 || bms_derate < 1.0) ? 2 : 1;
}

uint16_t cabinet_state::pcs_fault_word() const {
  return contactor_trip ? static_cast<uint16_t>(1U << 4) : 0;
}

double cabinet_state::cell_voltage(double offset) const {
  // LFP: a flat curve around 3.3 V, steep at the ends.
  double v = 3.2 + 0.15 * (soc / 100.0) + (soc > 95 ? (soc - 95) * 0.04 : 0)
             - (soc < 5 ? (5 - soc) * 0.08 : 0);
  return v + offset;
}

physics::physics(plant_state initial, absl::TimeZone tz, uint64_t seed)
  : state_(std::move(initial)),
    tz_(tz),
    rng_(seed) {}

double physics::irradiance(time_point t) const {
  auto civil = absl::ToCivilSecond(absl::FromUnixMillis(t.time_since_epoch().count()), tz_);
  double hour = civil.hour() + civil.minute() / 60.0 + civil.second() / 3600.0;
  if (hour <= 6 || hour >= 18)
    return 0;
  double x = std::sin(std::numbers::pi * (hour - 6) / 12);
  return std::pow(x, 1.3) * 0.9;  // clear sky at noon: 90 % of rated
}

double physics::load_profile(time_point t) const {
  auto civil = absl::ToCivilSecond(absl::FromUnixMillis(t.time_since_epoch().count()), tz_);
  double hour = civil.hour() + civil.minute() / 60.0;
  auto day = absl::GetWeekday(absl::CivilDay(civil));
  bool weekend = day == absl::Weekday::saturday || day == absl::Weekday::sunday;
  if (weekend)
    return 0.30 + (hour >= 9 && hour < 16 ? 0.10 : 0);
  if (hour < 6 || hour >= 21)
    return 0.30;
  if (hour < 8)
    return 0.30 + 0.35 * (hour - 6);  // ramp-up of the first shift
  if (hour >= 12 && hour < 13)
    return 0.75;  // lunch
  if (hour < 18)
    return 1.0;
  return 1.0 - 0.233 * (hour - 18);  // wind-down
}

void physics::step(time_point now, std::chrono::milliseconds dt_ms) {
  double dt = static_cast<double>(dt_ms.count()) / 1000.0;
  if (dt <= 0)
    return;
  auto& s = state_;
  // Load: profile with slow random noise (±3 %).
  std::normal_distribution<double> n{0, 0.01};
  noise_ = std::clamp(noise_ * 0.98 + n(rng_), -0.03, 0.03);
  s.load_w =
    s.load_override_w >= 0 ? s.load_override_w : s.load_peak_w * load_profile(now) * (1 + noise_);
  // PV: the sun, capped by each inverter's limit register.
  double sun = irradiance(now);
  s.pv_w = 0;
  for (auto& inv : s.inverters) {
    inv.available_w = inv.rated_power_w * sun;
    inv.power_w = std::min(inv.available_w,
                           inv.rated_power_w * std::clamp(inv.limit_percent, 0.0, 100.0) / 100);
    inv.energy_wh += inv.power_w * dt / 3600;
    s.pv_w += inv.power_w;
  }
  // Batteries.
  s.battery_w = 0;
  for (auto& c : s.cabinets) {
    double target = 0;
    if (c.run && c.contactor_closed() && !c.watchdog_expired)
      target = std::clamp(c.setpoint_w, -c.allowed_charge_w(), c.allowed_discharge_w());
    double ramp = (c.ramp_w_per_s > 0 ? c.ramp_w_per_s : 10 * c.rated_power_w) * dt;
    c.power_w += std::clamp(target - c.power_w, -ramp, ramp);
    double one_way = std::sqrt(c.round_trip_efficiency);
    double energy = c.power_w * dt / 3600;  // Wh at the AC side
    if (energy > 0) {
      c.discharged_wh += energy;
      c.soc -= energy / one_way / c.rated_energy_wh * 100;
    } else {
      c.charged_wh -= energy;
      c.soc -= energy * one_way / c.rated_energy_wh * 100;
    }
    c.soc = std::clamp(c.soc, 0.0, 100.0);
    c.cycles = c.discharged_wh / c.rated_energy_wh;
    // Thermal: the cells settle toward a power-dependent temperature; without
    // cooling they settle much higher. Time constant 20 min.
    double load = std::abs(c.power_w) / c.rated_power_w;
    double settle = c.cooling_fault ? 30 + 30 * load : 25 + 8 * load * load;
    c.cell_temp_c += (settle - c.cell_temp_c) * std::min(1.0, dt / 1200);
    c.coolant_in_c = c.cooling_fault ? c.cell_temp_c - 1 : 20 + 2 * load;
    c.coolant_out_c = c.coolant_in_c + (c.cooling_fault ? 0.5 : 1 + 3 * load);
    s.battery_w += c.power_w;
  }
  // The grid connection point balances the site: load = grid + pv + battery.
  s.grid_w = s.load_w - s.pv_w - s.battery_w;
  s.load_wh += s.load_w * dt / 3600;
  if (s.grid_w > 0)
    s.import_wh += s.grid_w * dt / 3600;
  else
    s.export_wh -= s.grid_w * dt / 3600;
}

}  // namespace plantd::sim
