// Sets up a CAF actor system for plantd: message types, the error category,
// and a scheduler sized for the 2-core EMS unit.
#pragma once

#include <caf/actor_system_config.hpp>

namespace plantd::actors {

// Registers plantd's type-ID block and error renderer on `cfg` and caps the
// scheduler at `threads` workers.
void configure(caf::actor_system_config& cfg, size_t threads = 2);

}  // namespace plantd::actors
