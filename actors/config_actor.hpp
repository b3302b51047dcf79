// config_actor: holds the configuration plantd runs with and answers who
// this plantd is. Thread: a CAF actor; handlers never block.
//
//   get_atom            -> config_snapshot (shared, immutable)
//   get_atom, info_atom -> plant_info (version, role, site, uptime from the
//                          clock handed in)
#pragma once

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/atom.hpp>

#include "actors/type_ids.hpp"

namespace plantd::actors {

using config_actor = caf::typed_actor<
  caf::replies_to<caf::get_atom>::with<config_snapshot>,
  caf::replies_to<caf::get_atom, info_atom>::with<plant_info>>;

struct config_actor_args {
  config_snapshot initial;
  std::string role = "primary";
  const clock* clk = nullptr;  // must outlive the actor
};

config_actor spawn_config_actor(caf::actor_system& sys, config_actor_args args);

} // namespace plantd::actors
