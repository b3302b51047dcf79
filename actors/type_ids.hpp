// The one type-ID block of plantd: every atom and message type that actors
// exchange (CAF 0.17 syntax). Include this, not CAF's headers piecemeal, in
// actor interfaces.
#pragma once

#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

#include "actors/messages.hpp"
#include "actors/model_messages.hpp"
#include "actors/plant_inspect.hpp"
#include "actors/plant_messages.hpp"
#include "drivers/store/store.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(plantd, caf::first_custom_type_id)

CAF_ADD_ATOM(plantd, plantd::actors, info_atom, "info")
CAF_ADD_ATOM(plantd, plantd::actors, poll_atom, "poll")
CAF_ADD_ATOM(plantd, plantd::actors, tick_atom, "tick")
CAF_ADD_ATOM(plantd, plantd::actors, state_atom, "state")
CAF_ADD_ATOM(plantd, plantd::actors, mode_atom, "mode")
CAF_ADD_ATOM(plantd, plantd::actors, manual_atom, "manual")
CAF_ADD_ATOM(plantd, plantd::actors, restart_atom, "restart")
CAF_ADD_ATOM(plantd, plantd::actors, apply_atom, "apply")
CAF_ADD_ATOM(plantd, plantd::actors, reset_atom, "reset")
CAF_ADD_ATOM(plantd, plantd::actors, ack_atom, "ack")
CAF_ADD_ATOM(plantd, plantd::actors, store_atom, "store")
CAF_ADD_ATOM(plantd, plantd::actors, flush_atom, "flush")
CAF_ADD_ATOM(plantd, plantd::actors, energy_atom, "energy")
CAF_ADD_ATOM(plantd, plantd::actors, leaf_atom, "leaf")
CAF_ADD_ATOM(plantd, plantd::actors, slice_atom, "slice")
CAF_ADD_ATOM(plantd, plantd::actors, idle_atom, "idle")
CAF_ADD_ATOM(plantd, plantd::actors, retire_atom, "retire")
CAF_ADD_ATOM(plantd, plantd::actors, units_atom, "units")
CAF_ADD_ATOM(plantd, plantd::actors, roll_atom, "roll")
CAF_ADD_ATOM(plantd, plantd::actors, model_atom, "model")

CAF_ADD_TYPE_ID(plantd, (plantd::problem))
CAF_ADD_TYPE_ID(plantd, (plantd::problems))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::plant_info))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::leaf_update))
CAF_ADD_TYPE_ID(plantd, (std::vector<plantd::actors::leaf_update>))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::daily_input))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::counter_reading))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::unit_request))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::unit_outcome))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::unit_reply))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::energy_query))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::energy_answer))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::entries_request))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::entries_answer))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::model_put))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::model_edit))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::model_edited))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::audit_request))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::audit_entry))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::audit_answer))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::record_request))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::record_answer))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::uses_request))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::uses_answer))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::change_info))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::device_changes))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::cabinet_sample))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::meter_sample))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::inverter_sample))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::io_sample))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::demand_response_sample))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::bus_batch))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::bus_reply))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::cabinet_command))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::inverter_command))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::output_command))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::plant_state))
CAF_ADD_TYPE_ID(plantd, (plantd::alarms::filter))
CAF_ADD_TYPE_ID(plantd, (plantd::alarms::alarm))
CAF_ADD_TYPE_ID(plantd, (std::vector<plantd::alarms::alarm>))
CAF_ADD_TYPE_ID(plantd, (std::vector<plantd::alarms::condition>))
CAF_ADD_TYPE_ID(plantd, (std::vector<plantd::store::point>))
CAF_ADD_TYPE_ID(plantd, (plantd::plant::working_mode))
CAF_ADD_TYPE_ID(plantd, (std::vector<plantd::plant::tou_slot>))
// Shared snapshots, passed by pointer and never modified (a new one
// replaces it); serialized whole.
CAF_ADD_TYPE_ID(plantd, (plantd::actors::config_snapshot))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::apply_result))
CAF_ADD_TYPE_ID(plantd, (std::shared_ptr<const plantd::plant::config>))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::model_view))
CAF_ADD_TYPE_ID(plantd, (plantd::actors::model_replace))
CAF_ADD_TYPE_ID(plantd, (std::shared_ptr<const plantd::actors::unit_slice>))

CAF_END_TYPE_ID_BLOCK(plantd)
