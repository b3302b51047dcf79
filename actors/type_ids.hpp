// The one type-ID block of plantd: every atom and message type that actors
// exchange (CAF 0.17 syntax). Include this, not CAF's headers piecemeal, in
// actor interfaces.
#pragma once

#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

#include "actors/messages.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(plantd, caf::first_custom_type_id)

  CAF_ADD_ATOM(plantd, plantd::actors, info_atom, "info")

  CAF_ADD_TYPE_ID(plantd, (plantd::problem))
  CAF_ADD_TYPE_ID(plantd, (plantd::problems))
  CAF_ADD_TYPE_ID(plantd, (plantd::actors::plant_info))

CAF_END_TYPE_ID_BLOCK(plantd)

// Shared, immutable and local to one process: not serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(plantd::actors::config_snapshot)
