// The supervisor's state, shared by its files (not part of the interface):
// supervisor.cpp (the behaviour, decide and publish) and
// supervisor_devices.cpp (the device actors a config asks for).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/device_actors.hpp"
#include "actors/supervisor.hpp"
#include "model/common/backoff.hpp"
#include "model/dispatch/dispatch.hpp"
#include "model/plant/setpoint_watch.hpp"
#include "model/plant/summary.hpp"
#include "model/telemetry/latency.hpp"

namespace plantd::actors {

// What a device actor is started with: a changed spec restarts it.
using device_spec = std::variant<cabinet_actor_args, bus_actor_args, meter_actor_args,
                                 inverter_actor_args, io_actor_args, demand_response_actor_args>;

struct child {
  std::string name;
  device_spec spec;
  uint64_t uid = 0;   // names its pending restart across reconfigurations
  caf::actor handle;  // its actor, whatever its kind (as<Api> to send to it)
  backoff retry;
  int restarts = 0;
  // A meter or inverter due to start while its line's bus actor is not
  // running: it starts with the bus actor.
  bool waits_for_bus = false;
};

struct supervisor_state {
  supervisor_args args;
  std::unique_ptr<dispatch::dispatcher> dispatcher;
  dispatch::state dstate;
  std::string manual_owner;  // who set dstate.manual
  dispatch::snapshot snap;
  std::vector<cabinet_sample> cabinets;
  // The last power commanded per cabinet and when it changed: until a sample
  // newer than the change arrives, the command is the better estimate of the
  // cabinet's power (the grid meter is polled faster than the cabinets).
  std::vector<double> commanded_w;
  std::vector<time_point> commanded_at;
  std::vector<inverter_sample> inverters;
  // The PV limit last commanded (a share of each inverter's rating) and when.
  double pv_commanded_fraction = 1.0;
  time_point pv_commanded_at{};
  std::vector<std::size_t> inverter_child;  // child index per PV inverter
  meter_sample grid;
  meter_sample pv_meter;
  bool have_pv_meter = false;
  std::map<std::string, meter_sample> sub_meters;  // by device id, as configured
  io_sample io;
  bool have_io = false;
  demand_response_sample demand_response;  // when the config names a DRED or RCR port
  bool have_demand_response = false;
  std::vector<child> children;
  std::vector<std::size_t> cabinet_child;  // child index per cabinet
  std::optional<std::size_t> io_child;
  uint64_t next_uid = 1;
  // Replacements waiting for the actor they replace to be gone (by its
  // address): the child's uid.
  std::map<caf::actor_addr, uint64_t> start_after;
  // The I/O lines and the config they were opened from (reused while it
  // does not change).
  std::shared_ptr<dio::line_source> io_lines;
  std::string io_lines_from;
  dispatch::decision last;
  uint64_t decisions = 0;
  // Handles of every device actor started, shared with the exit functor.
  std::shared_ptr<std::vector<caf::actor>> live_children;
  // What the plant summary remembers (silent cabinets, a cut uplink).
  plant::summary_memory summary;
  // Whether another Modbus master writes a cabinet's setpoint, by cabinet id.
  std::map<std::string, plant::setpoint_watch> foreign;
  telemetry::latency_window latency;  // fast-path latencies, percentiles
  double latency_sum_us = 0;
  std::array<uint64_t, latency_bounds_us.size() + 1> latency_counts{};  // since start
  // The grid-meter reading a fast-path decision answers: its latency is
  // taken once the setpoints are handed to the device actors, before the
  // state is published to listeners and streams.
  std::chrono::steady_clock::time_point fast_read_at{};
  static inline const char* name = "plantd.supervisor";
};

using self_ptr = supervisor_api::stateful_pointer<supervisor_state>;

// A child's actor through its kind's interface (cabinet_api, bus_api,
// meter_api, inverter_api, io_api): the supervisor knows each child's kind by the list it is in.
template <class Api>
Api as(const child& c) {
  return caf::actor_cast<Api>(c.handle);
}

// Brings the device actors and the per-device state in line with `cfg`
// (st.args.cfg is still the config they ran with): an actor whose spec is
// unchanged keeps running, a changed one is restarted, a new one started,
// one no longer configured stopped. Samples and commands carry over by
// device id.
device_changes reconcile(self_ptr self, const plant::config& cfg, bool initial);

// Starts a child's actor (again), monitored and stopped with the supervisor;
// a meter or inverter whose bus actor is not running waits for it.
void start_child(self_ptr self, child& c);

}  // namespace plantd::actors
