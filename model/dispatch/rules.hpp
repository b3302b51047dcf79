// The dispatch rules one by one: each a pure function with its own file and
// its own table test. dispatcher::decide (dispatch.cpp) runs them in this
// order and is the only caller outside the tests.
//
//   measure         the plant as measured; the balance the battery answers
//   safety          stop inputs and DRM0 (rule 1)
//   cabinet_limits  per cabinet: faults, staleness, SOC bounds with
//                   hysteresis, thermal derating, TOU slot SOC bounds (rule 3)
//   mode            the working mode's target with ramp and deadband (rule 6)
//   grid_limits     export and demand limits (rule 5)
//   grid_orders     DRM1..8 caps (rule 4)
//   distribute      the plant total split over the cabinets (rule 7)
//   pv_limit        the PV curtailment the limits require, settling on the meter
//   trip            the export-limit trip output
//   explain         the sentence that says why
//
// Rules 1..5 run after the mode and may only tighten its target: each goes
// through `target::apply`, which records the rule that last moved it.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "model/dispatch/dispatch.hpp"

namespace plantd::dispatch::rules {

// ---- measure.cpp

struct measured {
  double battery_w = 0;   // fresh cabinets, > 0 discharge
  double pv_w = 0;        // fresh inverters
  double pv_rated_w = 0;  // every inverter
  bool meter_ok = false;  // the grid reading is usable and recent
  double grid_w = 0;      // 0 unless meter_ok
  // The site's net load before the battery (grid + battery) at the grid
  // sample, and the PV output then: taken once per grid sample.
  double balance_w = 0;
  double pv_at_sample_w = 0;
};

// Updates the balance kept in `st` when the grid sample is new.
measured measure(const snapshot& s, const plant::fail_safe& fs, state& st);

// ---- safety.cpp

struct stop {
  bool active = false;
  std::string why;  // the last stop input found, or DRM0
};

stop safety(const snapshot& s, const std::vector<plant::digital_input>& inputs);

// ---- cabinet_limits.cpp

struct cabinet_limits {
  std::vector<double> charge_cap;     // W >= 0 per cabinet
  std::vector<double> discharge_cap;  // W >= 0 per cabinet
  std::vector<bool> run;              // false: fire alarm or BMS fault
  double charge_max = 0;              // sums of the caps
  double discharge_max = 0;
  std::string notes;  // "; cabinet 2 stopped (fire alarm)" ...
};

// `slot` is the active TOU slot (its SOC bounds apply), or nullptr. Keeps
// the SOC hysteresis locks in `st` (sized to the cabinets by the caller).
cabinet_limits limit_cabinets(const snapshot& s, const plant::policies& p,
                              const plant::tou_slot* slot, state& st);

// ---- the target the rules tighten

struct target {
  double w = 0;  // plant battery power, > 0 discharge
  rule binding = rule::idle;

  // Moves the target to `value` and names `r` as binding, if it moves.
  void apply(double value, rule r) {
    if (std::abs(value - w) > 1e-6) {
      w = value;
      binding = r;
    }
  }
};

// ---- mode.cpp

// The working mode's target: a manual setpoint (dropped from `st` once
// expired), TOU or self-consumption; held at 0 W while self-consumption
// would discharge with PV curtailed; then ramp and deadband against the
// last decision. `dt_s` is the time since the last decision (0 at first).
target mode(const snapshot& s, const plant::policies& p, const plant::tou_slot* slot,
            double balance_w, double dt_s, state& st);

// ---- grid_limits.cpp

// Export limit, then demand limit (with its recharge threshold); they need
// the grid meter (`balance_w` is its balance).
void grid_limits(target& t, const plant::policies& p, double balance_w);

// ---- grid_orders.cpp

// DRM caps on charging (consumption) and discharging (generation), as a
// share of the plant's rated battery power.
void grid_orders(target& t, const io::dred_order& dred, double rated_power_w);

// ---- distribute.cpp

// Splits `total` (>= 0) over cabinets by weight, none above its cap; what a
// full cabinet cannot take goes to the others (water filling).
std::vector<double> split(double total, const std::vector<double>& cap,
                          const std::vector<double>& weight);

// Per-cabinet setpoints for the plant total `w`: discharge weighted toward
// the fuller cabinets, charge toward the emptier ones.
std::vector<double> distribute(double w, const cabinet_limits& lim, const snapshot& s,
                               const plant::soc_bounds& soc);

// ---- pv_limit.cpp

struct pv_decision {
  double fraction = 1.0;  // 0..1 of each inverter's rating
  rule binding = rule::idle;
};

// The PV limit after the battery: only what the limits require, and a raise
// of an export-limit curtailment only on a grid reading taken `pv_settle`
// after its last change. Keeps that change's time and rule in `st`.
pv_decision pv_limit(const snapshot& s, const plant::policies& p, const measured& m,
                     double battery_w, double charge_max_w, bool stopped, state& st);

// ---- trip.cpp

// Export above the limit (plus tolerance), measured, for longer than the
// protection time latches the trip in `st`. Returns whether the trip output
// is to open (latched and an output configured).
bool trip(const snapshot& s, const plant::policies& p, const measured& m, double rated_power_w,
          uint32_t trip_output, state& st);

// ---- explain.cpp

std::string explain(const decision& d, const snapshot& s, const measured& m, const stop& stop,
                    bool protection_limited, const std::string& cabinet_notes);

}  // namespace plantd::dispatch::rules
