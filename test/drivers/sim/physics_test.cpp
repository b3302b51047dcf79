// plant-sim's physics as tables of steps: inputs, a time leap, expected state.
#include <catch2/catch.hpp>

#include <cmath>

#include "drivers/sim/physics.hpp"

using namespace plantd;
using namespace plantd::sim;
using namespace std::chrono_literals;

namespace {

// 2026-06-03 is a Wednesday. UTC site time for simple arithmetic.
time_point at(int day, int hour, int minute = 0) {
  auto t = absl::FromCivil(absl::CivilMinute(2026, 6, day, hour, minute), absl::UTCTimeZone());
  return time_point{std::chrono::milliseconds{absl::ToUnixMillis(t)}};
}

physics one_cabinet(double soc = 50) {
  plant_state s;
  cabinet_state c;
  c.id = "C01";
  c.soc = soc;
  s.cabinets.push_back(c);
  s.inverters.push_back(pv_state{"inv", 50'000});
  s.load_peak_w = 60'000;
  return physics{s, absl::UTCTimeZone(), 7};
}

void run(physics& p, time_point from, std::chrono::seconds span,
         std::chrono::milliseconds dt = 1000ms) {
  for (auto t = from; t < from + span; t += dt)
    p.step(t + dt, dt);
}

}  // namespace

TEST_CASE("SOC follows AC energy through the one-way efficiency", "[sim][physics]") {
  auto p = one_cabinet(90);
  auto& c = p.state().cabinets[0];
  c.setpoint_w = 100'000;  // discharge at rated power
  run(p, at(3, 2), 1h);
  // 100 kWh out at the AC side costs 100 / sqrt(0.9) kWh of the 215 kWh.
  double expected = 90 - (100.0 / std::sqrt(0.9)) / 215 * 100;
  CHECK(c.soc == Approx(expected).margin(0.3));  // the first second ramps
  CHECK(c.discharged_wh == Approx(100'000).margin(100));
  // Charging the same AC energy back leaves the SOC lower: losses both ways.
  c.setpoint_w = -100'000;
  run(p, at(3, 3), 1h);
  CHECK(c.soc < 90);
  CHECK(c.soc == Approx(expected + 100 * std::sqrt(0.9) / 215 * 100).margin(0.5));
}

TEST_CASE("power ramps at the ramp limit and stays within the BMS limits", "[sim][physics]") {
  auto p = one_cabinet(50);
  auto& c = p.state().cabinets[0];
  c.ramp_w_per_s = 20'000;
  c.setpoint_w = 100'000;
  p.step(at(3, 2), 1000ms);
  CHECK(c.power_w == Approx(20'000));
  p.step(at(3, 2) + 2s, 1000ms);
  CHECK(c.power_w == Approx(40'000));
  c.bms_derate = 0.5;
  run(p, at(3, 2) + 2s, 10s);
  CHECK(c.power_w == Approx(50'000));
}

TEST_CASE("the BMS tapers charging near full and discharging near empty", "[sim][physics]") {
  cabinet_state c;
  c.soc = 95;
  CHECK(c.allowed_charge_w() == Approx(50'000));
  CHECK(c.allowed_discharge_w() == Approx(100'000));
  c.soc = 5;
  CHECK(c.allowed_discharge_w() == Approx(50'000));
  c.soc = 50;
  c.cell_temp_c = 50;
  CHECK(c.allowed_charge_w() == Approx(50'000));
  c.contactor_trip = true;
  CHECK(c.allowed_charge_w() == 0);
  CHECK(c.pcs_state() == 3);
}

TEST_CASE("PV follows the sun and obeys the inverter limit", "[sim][physics]") {
  auto p = one_cabinet();
  CHECK(p.irradiance(at(3, 3)) == 0);
  CHECK(p.irradiance(at(3, 12)) == Approx(0.9));
  auto& inv = p.state().inverters[0];
  p.step(at(3, 12), 1000ms);
  CHECK(inv.power_w == Approx(45'000).margin(10));
  inv.limit_percent = 30;
  p.step(at(3, 12) + 1s, 1000ms);
  CHECK(inv.power_w == Approx(15'000));
}

TEST_CASE("the grid balances the site: load = grid + pv + battery", "[sim][physics]") {
  auto p = one_cabinet();
  auto& s = p.state();
  s.cabinets[0].setpoint_w = -30'000;
  for (int i = 0; i < 20; ++i) {
    p.step(at(3, 11) + std::chrono::seconds{i}, 1000ms);
    CHECK(s.load_w == Approx(s.grid_w + s.pv_w + s.battery_w));
  }
  // Export happens when PV exceeds the load: counters only grow.
  s.load_override_w = 5'000;
  s.cabinets[0].setpoint_w = 0;
  double export_before = s.export_wh;
  double import_before = s.import_wh;
  run(p, at(3, 12), 60s);
  CHECK(s.grid_w < 0);
  CHECK(s.export_wh > export_before);
  CHECK(s.import_wh == import_before);
}

TEST_CASE("the C&I load profile: weekday shifts, quiet weekends", "[sim][physics]") {
  auto p = one_cabinet();
  CHECK(p.load_profile(at(3, 10)) == Approx(1.0));       // Wednesday morning
  CHECK(p.load_profile(at(3, 12, 30)) == Approx(0.75));  // lunch
  CHECK(p.load_profile(at(3, 2)) == Approx(0.30));       // night
  CHECK(p.load_profile(at(6, 10)) == Approx(0.40));      // Saturday
}

TEST_CASE("an expired EMS watchdog takes the PCS to 0 W", "[sim][physics]") {
  auto p = one_cabinet();
  auto& c = p.state().cabinets[0];
  c.setpoint_w = 50'000;
  run(p, at(3, 2), 5s);
  CHECK(c.power_w == Approx(50'000));
  c.watchdog_expired = true;
  run(p, at(3, 2) + 5s, 5s);
  CHECK(c.power_w == Approx(0));
}
