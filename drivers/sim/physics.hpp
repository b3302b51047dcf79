// Device physics of the simulated plant: battery cabinets, PV, a C&I load and
// the grid connection point. Pure and time-stepped: step(now, dt) advances
// every device; no I/O, no wall clock. Sign convention of DESIGN.md §3:
// battery > 0 discharge, grid > 0 import, PV >= 0, load = grid + pv + battery.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <absl/time/time.h>

#include "model/common/clock.hpp"

namespace plantd::sim {

struct cabinet_state {
  std::string id;
  double rated_power_w = 100'000;
  double rated_energy_wh = 215'000;
  double round_trip_efficiency = 0.90;
  double ramp_w_per_s = 0;  // 0: rated power in 100 ms (a modern PCS)

  // Commands (written by the EMS through registers).
  double setpoint_w = 0;
  bool run = true;
  uint16_t heartbeat = 0;
  // EMS watchdog (evaluated by plant_sim in real time): when expired the
  // PCS ignores its setpoint and goes to 0 W.
  bool watchdog_expired = false;

  // State.
  double soc = 50;  // %
  double soh = 98;  // %
  double power_w = 0;
  double cell_temp_c = 25;
  double coolant_in_c = 22;
  double coolant_out_c = 24;
  double charged_wh = 0;
  double discharged_wh = 0;
  double cycles = 0;

  // Injected faults.
  double bms_derate = 1.0;  // 0..1 multiplies the allowed power
  bool fire = false;
  bool contactor_trip = false;
  bool cooling_fault = false;

  double allowed_charge_w() const;
  double allowed_discharge_w() const;
  bool contactor_closed() const { return !contactor_trip && !fire; }
  uint16_t pcs_state() const;  // cm2 enum: 0 off, 1 standby, 2 running, 3 fault
  uint16_t bms_state() const;  // 0 init, 1 normal, 2 warning, 3 fault
  uint16_t bms_alarm_word() const;
  uint16_t bms_fault_word() const;
  uint16_t pcs_fault_word() const;
  double cell_voltage(double offset) const;  // V, from SOC
};

struct pv_state {
  std::string id;
  double rated_power_w = 20'000;
  double limit_percent = 100;  // written by the EMS
  double available_w = 0;      // what the sun offers
  double power_w = 0;          // what the inverter delivers
  double energy_wh = 0;
};

struct plant_state {
  std::vector<cabinet_state> cabinets;
  std::vector<pv_state> inverters;
  double load_peak_w = 100'000;
  double load_w = 0;
  // When >= 0, the load is held at this value instead of the profile.
  double load_override_w = -1;
  double grid_w = 0;
  double import_wh = 0;
  double export_wh = 0;
  double load_wh = 0;  // the load's energy since start (sub-meters measure shares of it)
  double pv_w = 0;
  double battery_w = 0;
};

class physics {
public:
  physics(plant_state initial, absl::TimeZone tz, uint64_t seed);

  // Advances the plant by dt to `now` (simulated time).
  void step(time_point now, std::chrono::milliseconds dt);

  plant_state& state() noexcept { return state_; }
  const plant_state& state() const noexcept { return state_; }

  // Clear-sky irradiance as a fraction of rated PV power at local time `t`.
  double irradiance(time_point t) const;
  // The C&I load profile as a fraction of the peak at local time `t`.
  double load_profile(time_point t) const;

private:
  plant_state state_;
  absl::TimeZone tz_;
  std::mt19937_64 rng_;
  double noise_ = 0;
};

}  // namespace plantd::sim
