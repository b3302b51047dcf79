// Device actors: thin shells that own one device driver each, poll it on its
// own period, send timestamped samples to the supervisor and apply the
// commands they are sent. Spawned detached (a thread each), so a device that
// does not answer blocks nobody but itself. A failed request is a sample with
// ok = false; the link reconnects with backoff on its own.
//
// Commands are coalesced: only the newest is applied, and none is written to
// a device whose last read failed (each write would wait for its timeout
// and starve the polling that notices the device is back).
//
// Their interfaces: cabinet_api, line_api, io_api below; what they send,
// device_sink.
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
  void update(devices::device& dev, bool answering);
};

// Where the device actors send their samples: the supervisor.
using device_sink = caf::typed_actor<caf::reacts_to<cabinet_sample>, caf::reacts_to<meter_sample>,
                                     caf::reacts_to<inverter_sample>, caf::reacts_to<io_sample>>;

// One cabinet over Modbus TCP.
using cabinet_api = caf::typed_actor<
  // The newest setpoint to write (coalesced: only the newest is written).
  caf::reacts_to<cabinet_command>,
  // Taken out of the configuration or replaced: 0 W, then it quits.
  caf::reacts_to<retire_atom>,
  // Its own: the next poll, and writing the pending command.
  caf::reacts_to<poll_atom>, caf::reacts_to<apply_atom>>;

// One RS485 line (or its TCP gateway): its meters and PV inverters, one
// request at a time.
using line_api = caf::typed_actor<
  // An inverter's power limit (coalesced per inverter).
  caf::reacts_to<inverter_command>,
  // Its own: the next poll, and writing the pending limits.
  caf::reacts_to<poll_atom>, caf::reacts_to<apply_atom>>;

// The DRED / RCR / DI / DO lines.
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

struct line_actor_args {
  plant::serial_line line;
  const pointtables::registry* tables = nullptr;
  // PV inverter index (config order) of the line's first inverter.
  uint32_t first_inverter = 0;
  std::chrono::milliseconds grid_meter_period{200};
  std::chrono::milliseconds pv_meter_period{1000};
  std::chrono::milliseconds inverter_period{1000};
  // The inverters' own fallback when plantd is gone: after
  // device_watchdog without a request, at most fallback_limit_percent.
  std::chrono::seconds device_watchdog{10};
  double fallback_limit_percent = 0;
  device_sink supervisor;
  const clock* clk = nullptr;
  std::shared_ptr<modbus::register_bus> bus;
};

struct io_actor_args {
  std::shared_ptr<dio::line_source> lines;
  std::chrono::milliseconds period{200};
  device_sink supervisor;
  const clock* clk = nullptr;
};

cabinet_api::behavior_type cabinet_actor(cabinet_api::pointer self, cabinet_actor_args args);
line_api::behavior_type line_actor(line_api::pointer self, line_actor_args args);
io_api::behavior_type io_actor(io_api::pointer self, io_actor_args args);

// The bus of a cabinet or a line, as the config describes it. The device
// ids name its units in the Modbus traffic counters (modbus/traffic.hpp).
std::shared_ptr<modbus::register_bus> open_bus(const plant::tcp_endpoint& ep,
                                               std::chrono::milliseconds timeout, const clock& clk,
                                               const std::string& device = {});
std::shared_ptr<modbus::register_bus> open_bus(const plant::serial_line& line, const clock& clk);

}  // namespace plantd::actors
