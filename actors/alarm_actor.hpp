// alarm actor: turns the conditions of each plant state into alarms (raised,
// cleared), persists every change in the store, answers list and
// acknowledge requests, and tells the supervisor to release the export trip
// when its alarm is acknowledged.
//
// Its protocol is the typed interface alarm_api below.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/alarm_hub.hpp"
#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"

namespace plantd::actors {

using alarm_api = caf::typed_actor<
  // The conditions of each plant state (from the supervisor, which is then
  // told to release an export trip or a foreign master once acknowledged).
  caf::reacts_to<plant_state>,
  // Conditions another actor holds, by source ("store", "network"): they
  // replace what that source held before.
  caf::reacts_to<store_atom, std::string, std::vector<alarms::condition>>,
  // The alarms a filter selects.
  caf::replies_to<caf::get_atom, alarms::filter>::with<std::vector<alarms::alarm>>,
  // Acknowledges alarm `id` as `who`; `may_release`: the caller may hand a
  // foreign master back to plantd (else permission_denied for one);
  // not_found for an unknown id.
  caf::replies_to<ack_atom, uint64_t, std::string, bool>::with<alarms::alarm>>;

// Who releases what an acknowledged alarm held: the export trip, a cabinet
// after a foreign controller (the supervisor, supervisor_api).
using trip_release = caf::typed_actor<caf::replies_to<reset_atom>::with<bool>,
                                      caf::replies_to<reset_atom, std::string>::with<bool>>;

struct alarm_actor_args {
  std::shared_ptr<store::store> db;  // may be null (nothing persisted)
  // For the export-trip release; null: the sender of the plant states.
  trip_release supervisor;
  const clock* clk = nullptr;
  // Where every change is published for streaming; may be null.
  std::shared_ptr<alarm_hub> hub;
};

alarm_api::behavior_type alarm_actor(alarm_api::pointer self, alarm_actor_args args);

}  // namespace plantd::actors
