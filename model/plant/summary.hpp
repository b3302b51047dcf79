// The plant as the services show it: the device samples the supervisor
// keeps, and the pure function that sums them up into a plant_state
// (weighted SOC, flows, the PV source, every alarm condition).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/alarms/alarm_book.hpp"
#include "model/common/clock.hpp"
#include "model/common/quality.hpp"
#include "model/dispatch/dispatch.hpp"
#include "model/plant/config.hpp"

namespace plantd::plant {

// A cabinet's reading, already in the terms dispatch uses.
struct cabinet_sample {
  uint32_t index = 0;
  time_point time{};
  bool ok = false;
  std::string error;  // why not ok
  dispatch::cabinet_input input;
  double setpoint_w = 0;        // what the PCS reports as its command
  bool setpoint_known = false;  // the point table reads it back
  // The actor has written a command since it (re)connected: until then the
  // register may hold what was there before.
  bool wrote_since_connect = false;
  std::vector<alarms::condition> flags;  // fault and alarm bits that are set
  // For device statistics.
  reading soh_percent;
  reading cycles;
  reading cell_voltage_max_v;
  reading cell_voltage_min_v;
  reading cell_temperature_max_c;
  reading cell_temperature_min_c;
  std::string fire_state;  // the map's label, e.g. "normal"
  reading coolant_inlet_c;
  reading coolant_outlet_c;
  bool pump_running = false;
  bool cooling_fault = false;
  // The serial number it reports, read once a connection (empty: not read;
  // serial_error says why).
  std::string serial;
  std::string serial_error;
  bool serial_unsupported = false;  // its table has no serial_number
};

struct meter_sample {
  plant::device_role role = plant::device_role::grid_meter;
  std::string id;  // the device's id in the config
  time_point time{};
  // When the reading was complete (steady clock): the start of the control
  // latency the supervisor measures.
  std::chrono::steady_clock::time_point read_at{};
  reading power_w;
  reading import_wh;
  reading export_wh;
  std::string error;
};

struct inverter_sample {
  uint32_t index = 0;  // PV inverter index in config order
  time_point time{};
  bool ok = false;
  double power_w = 0;
  std::string error;
  std::string serial;  // as for cabinet_sample
  std::string serial_error;
  bool serial_unsupported = false;
};

// What the plant is doing, as the services show it.
// The fast path's latency buckets (microseconds).
inline constexpr std::array<double, 14> latency_bounds_us{
  50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 20000, 50000};

struct plant_state {
  time_point time{};
  reading grid_w;
  reading pv_w;            // sum of the inverters (or the PV meter)
  reading load_w;          // grid + pv + battery
  reading grid_import_wh;  // the grid meter's counters
  reading grid_export_wh;
  double battery_w = 0;  // measured, > 0 discharge
  double battery_setpoint_w = 0;
  reading soc_percent;  // energy-weighted over available cabinets
  plant::working_mode mode = plant::working_mode::self_consumption;
  dispatch::rule binding = dispatch::rule::idle;
  dispatch::rule pv_binding = dispatch::rule::idle;
  std::string explanation;
  double pv_limit_percent = 100;
  bool export_trip = false;
  double manual_setpoint_w = 0;
  bool manual_active = false;
  struct device {
    std::string id;
    bool available = false;
    std::string error;
    double power_w = 0;
    double setpoint_w = 0;
    double soc_percent = 0;           // cabinets
    std::string serial;               // read from the device (empty: not read)
    std::string serial_error;         // why not
    bool serial_unsupported = false;  // its point table has no serial_number
  };
  // Battery, fire protection and liquid cooling of each cabinet.
  struct cabinet_detail {
    std::string id;
    reading soh_percent;
    reading cycles;
    reading cell_voltage_max_v;
    reading cell_voltage_min_v;
    reading cell_temperature_max_c;
    reading cell_temperature_min_c;
    std::string fire_state;
    reading coolant_inlet_c;
    reading coolant_outlet_c;
    bool pump_running = false;
    bool cooling_fault = false;
  };
  std::vector<cabinet_detail> cabinet_details;
  std::vector<device> cabinets;
  std::vector<device> inverters;
  bool grid_meter_available = false;
  bool io_available = false;
  // Energy sub-meters (DEVICE_ROLE_SUB_METER): their counters, for the
  // energy-carbon meters bound to them; not usable while silent.
  struct sub_meter {
    std::string id;
    bool available = false;
    std::string error;
    reading power_w, import_wh, export_wh;
  };
  std::vector<sub_meter> sub_meters;
  uint64_t decisions = 0;
  // Grid-meter reading complete -> setpoints handed to the device actors,
  // over the last latency_window decisions (telemetry::latency_window).
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  uint32_t latency_window = 0;
  double latency_sum_us = 0;  // since start
  // Every fast-path decision since start, by latency bucket (bounds in
  // latency_bounds_us; the last count is beyond the last bound).
  std::vector<uint64_t> latency_counts;
  // Conditions that hold now (the alarm actor turns them into alarms).
  std::vector<alarms::condition> conditions;
};

// What summarize() is given: the supervisor's view at one decision.
struct summary_input {
  const config* cfg = nullptr;
  const dispatch::snapshot* snap = nullptr;  // as the last decision saw it
  const dispatch::decision* last = nullptr;
  const dispatch::state* dstate = nullptr;
  const std::vector<cabinet_sample>* cabinets = nullptr;    // aligned with cfg->cabinets
  const std::vector<inverter_sample>* inverters = nullptr;  // aligned with snap->inverters
  const meter_sample* grid = nullptr;
  const meter_sample* pv_meter = nullptr;  // null: none configured or no sample yet
  const std::map<std::string, meter_sample>* sub_meters = nullptr;  // by device id
  // The I/O lines: whether there is an I/O actor, whether its last read
  // worked, and the inputs read.
  bool io_present = false;
  bool io_ok = false;
  std::string io_error;
  std::array<bool, 2> di{};
  // Cabinets another Modbus master writes (plantd no longer commands them):
  // what their setpoint reads and what plantd last wrote, by cabinet id.
  struct foreign_master {
    double seen_w = 0;
    double wrote_w = 0;
  };
  std::map<std::string, foreign_master> foreign;
  uint64_t decisions = 0;
};

// What summarize() remembers from one call to the next: since when each
// cabinet behind the EMS-Switch unit has been silent, and whether its
// uplink was cut (its cabinets coming back one by one stay folded into the
// uplink alarm until uplink_back_by).
struct summary_memory {
  std::map<std::string, time_point> silent_since;
  bool uplink_cut = false;
  time_point uplink_back_by{};
};

// How long the cabinets behind the EMS-Switch unit may take to go silent
// together and still count as one uplink cut.
inline constexpr std::chrono::milliseconds uplink_settle{3000};
// How long the cabinets behind an uplink that came back may take to answer
// again and stay part of its alarm: each cabinet's link retries at its own
// backoff, up to 10 s apart after a long cut (modbus::link_options::
// backoff_max), then reads at its next poll. A cabinet still silent after
// that is reported on its own.
inline constexpr std::chrono::milliseconds uplink_return{12'000};

// The plant state at in.snap->now, every field but the latency figures (the
// supervisor's own). Conditions are for the alarm actor.
plant_state summarize(const summary_input& in, summary_memory& mem);

}  // namespace plantd::plant
