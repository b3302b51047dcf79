// The supervisor: keeps the frozen plant snapshot, runs dispatch on every
// grid-meter sample (the fast path for the export limit) and on a periodic
// cycle, fans setpoints out to the device actors, monitors them and restarts
// a failed one with backoff, and publishes the plant state to the hub.
// The logic is in model/dispatch; this is its shell.
//
//   cabinet_sample, meter_sample, inverter_sample, io_sample   (from devices)
//   get_atom, state_atom                     -> plant_state
//   apply_atom, shared_ptr<const config>      -> device_changes
//                 (a validated config: device actors whose settings changed
//                  restart, new ones start, removed ones stop, the others
//                  keep running; the policies hold from a decision made at
//                  once)
//   manual_atom, double power_w, int64 ms     -> bool   (0 ms clears)
//   restart_atom, string device actor name    -> bool   (kills it; it restarts)
//   get_atom, restart_atom                    -> uint64 restarts so far
//   reset_atom                                -> bool   (releases the export trip)
//   reset_atom, string cabinet id             -> bool   (commands a cabinet again
//                                                        after a foreign controller)
#pragma once

#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/state_hub.hpp"
#include "actors/type_ids.hpp"
#include "drivers/modbus/bus.hpp"
#include "drivers/pointtables/registry.hpp"
#include "model/plant/config.hpp"

namespace plantd::actors {

struct supervisor_args {
  plant::config cfg;
  const pointtables::registry* tables = nullptr;
  const clock* clk = nullptr;  // control time: staleness, expiry, backoff
  // Site calendar time for the TOU template; null = clk. Only a simulation
  // faster than real time sets it.
  const clock* calendar = nullptr;
  std::shared_ptr<state_hub> hub;
  // Where plant states go (the store actor, the alarm actor).
  std::vector<caf::actor> listeners;
  // Device actors on their own threads (plantd); false runs them on the
  // scheduler, as deterministic tests need.
  bool detached_devices = true;
  // plantd: the supervisor's thread and those of the device actors it
  // starts run at a real-time priority where the system allows
  // (actors/realtime.hpp).
  bool realtime = false;
  // For tests: the bus of a cabinet (by id) or a line ("RS485-1"); empty
  // uses the addresses of the config.
  std::function<std::shared_ptr<modbus::register_bus>(const std::string&)> bus_for;
  // For tests: the I/O lines; empty opens the config's gpio_chip or
  // modbus_gateway (no I/O actor when the config names neither).
  std::shared_ptr<dio::line_source> io_lines;
  std::chrono::milliseconds restart_initial{500};
  std::chrono::milliseconds restart_max{30'000};
};

caf::behavior supervisor(caf::stateful_actor<struct supervisor_state>* self, supervisor_args args);

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args);

}  // namespace plantd::actors
