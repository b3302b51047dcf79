// Dispatch: a pure function of (snapshot, config, state, now) -> setpoints per
// cabinet and PV inverter, naming the rule that bound the result.
//
// Rules, highest priority first (DESIGN.md §5); each may only tighten what
// the rules below it asked for:
//   1 safety             fire alarm / BMS fault -> that cabinet stops;
//                        emergency-stop DI or DRM0 -> the plant stops
//   2 fail-safe          grid meter stale -> batteries 0 W, PV to the
//                        fail-safe export level; stale cabinets excluded
//   3 battery protection SOC bounds with hysteresis, BMS limits,
//                        temperature and cooling-fault derating
//   4 grid orders        DRM1..8 caps, ripple-control level
//   5 grid limits        export limit (battery first, then PV curtailment,
//                        then the trip output after the protection time);
//                        demand limit with recharge threshold
//   6 working mode       manual setpoint (with expiry), self-consumption, TOU
//   7 distribution       ramp, deadband, split by headroom with SOC balancing
//
// Each rule is a function of its own (rules.hpp, one file each).
//
// Signs: grid > 0 import; battery > 0 discharge; PV >= 0.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/time.h>

#include "model/common/clock.hpp"
#include "model/common/quality.hpp"
#include "model/io/demand_response.hpp"
#include "model/plant/config.hpp"

namespace plantd::dispatch {

struct cabinet_input {
  bool fresh = false;  // a reading within the cabinet stale time
  double soc = 0;      // %
  double power_w = 0;  // measured
  double allowed_charge_w = 0;
  double allowed_discharge_w = 0;
  double rated_power_w = 0;
  bool fire = false;
  bool bms_fault = false;
  bool cooling_fault = false;
  bool contactor_open = false;
  double cell_temp_max_c = 25;
};

struct inverter_input {
  bool fresh = false;
  double rated_power_w = 0;
  double power_w = 0;
};

struct snapshot {
  time_point now{};
  // The site calendar time that picks the TOU slot; unset (epoch) = `now`.
  // Differs from `now` only when a simulation runs faster than real time.
  time_point calendar{};
  reading grid_w;                         // grid meter, > 0 import
  time_point grid_time{};                 // when grid_w was measured
  std::vector<cabinet_input> cabinets;    // aligned with config.cabinets
  std::vector<inverter_input> inverters;  // PV inverters in config order
  std::array<bool, 2> di{};               // DI1, DI2 (contact closed)
  // False while the I/O lines cannot be read: stop inputs count as active
  // (their state is unknown, and stopping is the safe side).
  bool io_known = true;
  io::dred_order dred;
  double rcr_fraction = 1.0;  // ripple control: allowed feed-in of rated PV
};

// A manual plant setpoint from the Control service; ignored once expired.
struct manual_setpoint {
  double power_w = 0;  // > 0 discharge
  time_point expires{};
};

// The rule that bound a decision, strongest first.
enum class rule : uint8_t {
  safety,
  fail_safe,
  battery_protection,
  grid_order,
  export_limit,
  demand_limit,
  manual,
  self_consumption,
  time_of_use,
  idle,
};

// How long after a PV limit change the grid meter is trusted to show it:
// a raise waits for a grid reading at least this much newer than the change.
inline constexpr std::chrono::milliseconds pv_settle{1000};

// What dispatch remembers between decisions.
struct state {
  bool initialized = false;
  time_point last_time{};
  double last_battery_w = 0;
  double last_pv_fraction = 1.0;
  std::vector<bool> soc_low_lock;   // per cabinet: discharge locked until min + hysteresis
  std::vector<bool> soc_high_lock;  // per cabinet: charge locked until max - hysteresis
  std::optional<time_point> export_exceeded_since;
  time_point pv_changed_at{};      // when the PV limit was last raised
  rule last_pv_rule = rule::idle;  // what set it
  bool export_trip = false;        // latched until reset_trip()
  std::optional<manual_setpoint> manual;
  // The grid-meter sample the balance was taken from, and the balance: the
  // site's net load before the battery (grid + battery) at that sample. A
  // sample is integrated once: decisions that see the same sample again
  // (a silent meter, the periodic cycle between readings) reuse its balance
  // instead of adding the old grid power to a battery power already moved.
  time_point balance_sample_time{};
  double balance_sample_w = 0;
  double balance_w = 0;
  double balance_pv_w = 0;  // PV output at that sample
  bool have_balance = false;

  void reset_trip() noexcept {
    export_trip = false;
    export_exceeded_since.reset();
  }
};

const char* to_string(rule r) noexcept;

struct decision {
  double battery_w = 0;            // plant total, sum of the setpoints
  std::vector<double> cabinet_w;   // per cabinet
  std::vector<bool> cabinet_run;   // false: stop the PCS
  double pv_limit_fraction = 1.0;  // 0..1 of rated, the same for every inverter
  std::vector<double> inverter_limit_percent;
  bool trip_output = false;      // the export-limit trip DO
  rule binding = rule::idle;     // the rule that bound the battery setpoint
  rule pv_binding = rule::idle;  // the rule that bound the PV limit
  std::string explanation;
};

class dispatcher {
public:
  // Keeps its own copy of what it needs from `cfg`.
  explicit dispatcher(const plant::config& cfg);

  decision decide(const snapshot& snap, state& st) const;

  // The TOU slot active at `t` (site local time), or nullptr.
  const plant::tou_slot* active_slot(time_point t) const;

private:
  plant::policies policies_;
  plant::polling polling_;
  std::vector<plant::digital_input> inputs_;
  uint32_t trip_output_ = 0;
  double rated_power_w_ = 0;
  absl::TimeZone tz_;
  struct slot_span {
    int start;
    int end;
    uint8_t days;  // bit d for ISO weekday d (1..7)
    std::size_t index;
  };
  std::vector<slot_span> spans_;
};

}  // namespace plantd::dispatch
