// The supervisor: keeps the frozen plant snapshot, runs dispatch on every
// grid-meter sample (the fast path for the export limit) and on a periodic
// cycle, fans setpoints out to the device actors, monitors them and restarts
// a failed one with backoff, and publishes the plant state to the hub.
// The logic is in model/dispatch; this is its shell. Its interface:
// supervisor_api below.
#pragma once

#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/device_actors.hpp"
#include "actors/state_hub.hpp"
#include "actors/type_ids.hpp"
#include "drivers/modbus/bus.hpp"
#include "drivers/pointtables/registry.hpp"
#include "model/plant/config.hpp"

namespace plantd::actors {

// Where the plant states go after each decision (the store, the alarm
// and the energy actors).
using plant_listener = caf::typed_actor<caf::reacts_to<plant_state>>;

using supervisor_api = device_sink::extend<
  // The plant state last published (unavailable before the first decision).
  caf::replies_to<caf::get_atom, state_atom>::with<plant_state>,
  // A validated configuration (the config actor's): device actors whose
  // settings changed restart, new ones start, removed ones stop, the
  // others keep running; the policies hold from a decision made at once.
  caf::replies_to<apply_atom, std::shared_ptr<const plant::config>>::with<device_changes>,
  // A manual setpoint: power (W, + discharges), for how long (ms; 0
  // clears) and by whom (commissioning_owner: the CT test). Refused beyond
  // the plant's rating, or while another owner holds the battery.
  caf::replies_to<manual_atom, double, int64_t, std::string>::with<bool>,
  // Stops a device actor by name (cabinet id, "RS485-1", "io"); it is
  // restarted as a crashed one is. not_found for an unknown name.
  caf::replies_to<restart_atom, std::string>::with<bool>,
  // Device actor restarts so far.
  caf::replies_to<caf::get_atom, restart_atom>::with<uint64_t>,
  // Releases the export trip (its alarm acknowledged).
  caf::replies_to<reset_atom>::with<bool>,
  // Commands a cabinet again after a foreign controller (its alarm acknowledged).
  caf::replies_to<reset_atom, std::string>::with<bool>,
  // Its own: the control cycle, and a child's restart after its backoff.
  caf::reacts_to<tick_atom>, caf::reacts_to<restart_atom, uint64_t>>;

struct supervisor_args {
  plant::config cfg;
  const pointtables::registry* tables = nullptr;
  const clock* clk = nullptr;  // control time: staleness, expiry, backoff
  // Site calendar time for the TOU template; null = clk. Only a simulation
  // faster than real time sets it.
  const clock* calendar = nullptr;
  std::shared_ptr<state_hub> hub;
  // Where plant states go (the store actor, the alarm actor).
  std::vector<plant_listener> listeners;
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

supervisor_api::behavior_type
supervisor(supervisor_api::stateful_pointer<struct supervisor_state> self, supervisor_args args);

supervisor_api spawn_supervisor(caf::actor_system& sys, supervisor_args args);

}  // namespace plantd::actors
