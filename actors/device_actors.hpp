// Device actors: thin shells that own one device driver each, poll it on its
// own period, send timestamped samples to the supervisor and apply the
// commands they are sent. A failed request is a sample with ok = false; the
// link reconnects with backoff on its own.
//
// Every device is an actor of its own: a cabinet (its own TCP connection),
// a meter or a PV inverter, the I/O lines. The meters and inverters of one
// RS485 line (or its TCP gateway) share the line's bus actor, which alone
// talks to the line: it runs one device's batch of requests at a time, with
// the inter-frame gap between frames, the grid meter's first (its batches
// are sent at high priority). A device actor that fails is restarted alone;
// one whose bus actor is gone stops with it.
//
// Spawned detached (a thread each) in plantd, so a device that does not
// answer blocks nobody but its line.
//
// Commands are coalesced: only the newest is applied, and none is written to
// a device whose last read failed (each write would wait for its timeout
// and starve the polling that notices the device is back).
//
// Their interfaces: cabinet_api, bus_api, meter_api, inverter_api, io_api,
// demand_response_api below; what they send, device_sink.
#pragma once

#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/type_ids.hpp"
#include "drivers/dio/lines.hpp"
#include "drivers/modbus/bus.hpp"
#include "drivers/pointtables/registry.hpp"
#include "model/plant/config.hpp"

namespace plantd::devices {
class device;
}

namespace plantd::actors {

// A device's serial number, read once each time it (re)connects: the
// device at an address may have been swapped while it was silent.
struct identity {
  bool read = false;
  bool unsupported = false;  // the point table has no serial_number string point
  std::string serial;
  std::string error;  // why there is no serial

  // The device does not answer: read again once it does.
  void lost();
  // Whether the serial is to be read now (once per connection). False too
  // when the table has none: unsupported, and said so in error.
  bool due(const pointtables::table& t);
  // What the read gave.
  void take(const modbus::result<std::string>& got);
  // All three on a device with its own bus (the cabinets).
  void update(devices::device& dev, bool answering);
};

// Where the device actors send their samples: the supervisor.
using device_sink = caf::typed_actor<caf::reacts_to<cabinet_sample>, caf::reacts_to<meter_sample>,
                                     caf::reacts_to<inverter_sample>, caf::reacts_to<io_sample>,
                                     caf::reacts_to<demand_response_sample>>;

// One cabinet over Modbus TCP.
using cabinet_api = caf::typed_actor<
  // The newest setpoint to write (coalesced: only the newest is written).
  caf::reacts_to<cabinet_command>,
  // Taken out of the configuration or replaced: 0 W, then it quits.
  caf::reacts_to<retire_atom>,
  // Its own: the next poll, and writing the pending command.
  caf::reacts_to<poll_atom>, caf::reacts_to<apply_atom>>;

// One RS485 line (or its TCP gateway): the one actor talking to it.
using bus_api = caf::typed_actor<
  // A device's requests, run in order; one answer each (bus_reply). The
  // grid meter's are sent at high priority and run first.
  caf::replies_to<bus_batch>::with<bus_reply>>;

// A grid, PV or sub-meter on a line.
using meter_api = caf::typed_actor<
  // Its own: the next poll.
  caf::reacts_to<poll_atom>>;

// A PV inverter on a line.
using inverter_api = caf::typed_actor<
  // Its power limit (coalesced: only the newest is written).
  caf::reacts_to<inverter_command>,
  // Its own: the next poll, and writing the pending limit.
  caf::reacts_to<poll_atom>, caf::reacts_to<apply_atom>>;

// The dry contacts: DI in, DO out.
using io_api = caf::typed_actor<
  // A dry-contact output to set.
  caf::reacts_to<output_command>,
  // Its own: the next poll.
  caf::reacts_to<poll_atom>>;

struct cabinet_actor_args {
  uint32_t index = 0;
  plant::cabinet cabinet;
  const pointtables::table* table = nullptr;
  std::chrono::milliseconds period{1000};
  // The PCS's own fallback when plantd is gone (policies.fail_safe.device_watchdog_ms).
  std::chrono::seconds device_watchdog{10};
  device_sink supervisor;
  const clock* clk = nullptr;
  // For tests: a bus to use instead of opening the cabinet's TCP address.
  std::shared_ptr<modbus::register_bus> bus;
};

struct bus_actor_args {
  // Where the line is (its devices name their units in the traffic
  // counters; the bus actor does not read them otherwise).
  plant::serial_line line;
  const clock* clk = nullptr;
  // For tests: a bus to use instead of opening the line.
  std::shared_ptr<modbus::register_bus> bus;
};

struct meter_actor_args {
  plant::serial_device device;
  const pointtables::table* table = nullptr;
  std::string line;  // its bus actor's name (the line's port)
  std::chrono::milliseconds period{1000};
  device_sink supervisor;
  const clock* clk = nullptr;
  bus_api bus;  // set when it starts (the line's bus actor then)
};

struct inverter_actor_args {
  plant::serial_device device;
  const pointtables::table* table = nullptr;
  std::string line;
  uint32_t index = 0;  // PV inverter index, in config order
  std::chrono::milliseconds period{1000};
  // The inverter's own fallback when plantd is gone: after device_watchdog
  // without a request, at most fallback_limit_percent.
  std::chrono::seconds device_watchdog{10};
  double fallback_limit_percent = 0;
  device_sink supervisor;
  const clock* clk = nullptr;
  bus_api bus;
};

// The DRED / ripple-control port, apart from the dry contacts.
using demand_response_api = caf::typed_actor<
  // Its own: the next poll.
  caf::reacts_to<poll_atom>>;

// The dry contacts (io_actor) and the DRED / RCR port (demand_response_actor):
// their lines may sit on one GPIO chip or I/O module, each actor reads its own.
struct io_actor_args {
  std::shared_ptr<dio::line_source> lines;
  std::chrono::milliseconds period{200};
  device_sink supervisor;
  const clock* clk = nullptr;
};

struct demand_response_actor_args : io_actor_args {};

cabinet_api::behavior_type cabinet_actor(cabinet_api::pointer self, cabinet_actor_args args);
bus_api::behavior_type bus_actor(bus_api::pointer self, bus_actor_args args);
meter_api::behavior_type meter_actor(meter_api::pointer self, meter_actor_args args);
inverter_api::behavior_type inverter_actor(inverter_api::pointer self, inverter_actor_args args);
io_api::behavior_type io_actor(io_api::pointer self, io_actor_args args);
demand_response_api::behavior_type demand_response_actor(demand_response_api::pointer self,
                                                         demand_response_actor_args args);

// The bus of a cabinet or a line, as the config describes it. The device
// ids name its units in the Modbus traffic counters (modbus/traffic.hpp).
std::shared_ptr<modbus::register_bus> open_bus(const plant::tcp_endpoint& ep,
                                               std::chrono::milliseconds timeout, const clock& clk,
                                               const std::string& device = {});
std::shared_ptr<modbus::register_bus> open_bus(const plant::serial_line& line, const clock& clk);

}  // namespace plantd::actors
