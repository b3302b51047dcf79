// alarm actor: turns the conditions of each plant state into alarms (raised,
// cleared), persists every change in the store, answers list and
// acknowledge requests, and tells the supervisor to release the export trip
// when its alarm is acknowledged.
//
//   plant_state                       (from the supervisor)
//   store_atom, vector<condition>     (from the store actor: storage faults)
//   get_atom, alarms::filter      -> vector<alarm>
//   ack_atom, uint64 id, string who -> alarm    (not_found for an unknown id)
#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/alarm_hub.hpp"
#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"

namespace plantd::actors {

struct alarm_actor_args {
  std::shared_ptr<store::store> db;  // may be null (nothing persisted)
  // For the export-trip release; null: the sender of the plant states.
  caf::actor supervisor;
  const clock* clk = nullptr;
  // Where every change is published for streaming; may be null.
  std::shared_ptr<alarm_hub> hub;
};

caf::behavior alarm_actor(caf::event_based_actor* self, alarm_actor_args args);

}  // namespace plantd::actors
