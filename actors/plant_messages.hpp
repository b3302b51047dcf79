// Messages between the device actors and the supervisor. The samples and the
// plant state the supervisor publishes are model types (model/plant/summary.hpp).
// Local to one process (not serialized).
#pragma once

#include <string>

#include "drivers/dio/lines.hpp"
#include "drivers/modbus/request.hpp"
#include "model/common/clock.hpp"
#include "model/plant/summary.hpp"

namespace plantd::actors {

// What a meter or inverter actor asks of its line's bus actor: requests run
// in order, one batch at a time on the line.
struct bus_batch {
  std::string device;  // who asks: names its unit in the Modbus traffic counters
  std::vector<modbus::request> requests;
};

// One answer per request, and when the last one came.
struct bus_reply {
  std::vector<modbus::answer> answers;
  std::chrono::steady_clock::time_point done_at{};
};

// The dry contacts (lines.di); the DRED / RCR lines come apart.
struct io_sample {
  time_point time{};
  bool ok = false;
  dio::line_state lines;
  std::string error;
};

// The DRED / ripple-control port.
struct demand_response_sample {
  time_point time{};
  bool ok = false;
  io::dred_contacts dred;
  std::array<bool, 4> rcr{};
  std::string error;
};

struct cabinet_command {
  double power_w = 0;  // > 0 discharge
  bool run = true;
  bool rewrite = false;  // write even what the actor believes is written
};

struct inverter_command {
  uint32_t index = 0;  // PV inverter index in config order
  double limit_percent = 100;
};

// Who holds the manual setpoint: a commissioning run's CT test, which
// nobody else may move or clear while it measures (and which does not take
// the battery from an operator's setpoint in force).
inline constexpr const char* commissioning_owner = "commissioning";

struct output_command {
  int channel = 1;  // DO1, DO2
  bool closed = false;
};

using plant::cabinet_sample;
using plant::inverter_sample;
using plant::latency_bounds_us;
using plant::meter_sample;
using plant::plant_state;

}  // namespace plantd::actors
