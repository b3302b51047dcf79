// config_actor: holds the configuration plantd runs with and answers who
// this plantd is. Thread: a CAF actor; handlers never block.
//
//   get_atom            -> config_snapshot (shared, immutable)
//   get_atom, info_atom -> plant_info (version, role, site, uptime from the
//                          clock handed in)
//   mode_atom, working_mode, vector<tou_slot>
//                       -> the snapshot it replaced (for the audit's
//                          "before"): the working mode (and, when given, the TOU
//                          template) as a new config version: validated,
//                          persisted, then applied by the supervisor; the
//                          snapshot follows. invalid_argument listing every
//                          problem; unavailable when it cannot be stored.
#pragma once

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/atom.hpp>

#include <functional>
#include <string>
#include <vector>

#include "actors/type_ids.hpp"
#include "model/common/expected.hpp"

namespace plantd::actors {

using config_actor = caf::typed_actor<
  caf::replies_to<caf::get_atom>::with<config_snapshot>,
  caf::replies_to<caf::get_atom, info_atom>::with<plant_info>,
  caf::replies_to<mode_atom, plant::working_mode, std::vector<plant::tou_slot>>::with<
    config_snapshot>>;

struct config_actor_args {
  config_snapshot initial;
  std::string role = "primary";
  const clock* clk = nullptr;  // must outlive the actor
  // Applies a changed config (the supervisor's mode_atom); none: changes
  // are refused.
  caf::actor supervisor;
  // Stores a new version; none: changes are not persisted (tests).
  std::function<expected<void, std::string>(const plant::config&, uint64_t version)> persist;
};

config_actor spawn_config_actor(caf::actor_system& sys, config_actor_args args);

} // namespace plantd::actors
