// config_actor: the one owner of the configuration plantd runs with. Every
// change (a whole config, a patch, a rollback, the working mode and its TOU
// template) comes here: validated, stored as a new version, published to
// the services' config_view and applied by the supervisor. Thread: a CAF
// actor; handlers never block.
//
//   get_atom            -> config_snapshot (shared, immutable)
//   get_atom, info_atom -> plant_info (version, role, site, uptime from the
//                          clock handed in)
//   apply_atom, shared_ptr<const config>, change_info
//                       -> apply_result: the version it replaced, the one in
//                          force, the device actors started / restarted /
//                          stopped and the fields that wait for a restart.
//                          aborted when change_info.based_on is not the
//                          version in force; invalid_argument listing every
//                          problem; unavailable when it cannot be stored (the
//                          running config is then unchanged). A config equal
//                          to the running one is no new version.
//   mode_atom, working_mode, vector<tou_slot>, change_info
//                       -> apply_result: the working mode (and, when given,
//                          the TOU template) on top of the running config.
#pragma once

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/atom.hpp>

#include <functional>
#include <string>
#include <vector>

#include "actors/config_view.hpp"
#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"
#include "model/common/expected.hpp"

namespace plantd::actors {

using config_actor =
  caf::typed_actor<caf::replies_to<caf::get_atom>::with<config_snapshot>,
                   caf::replies_to<caf::get_atom, info_atom>::with<plant_info>,
                   caf::replies_to<apply_atom, std::shared_ptr<const plant::config>,
                                   change_info>::with<apply_result>,
                   caf::replies_to<mode_atom, plant::working_mode, std::vector<plant::tou_slot>,
                                   change_info>::with<apply_result>>;

// What applies a changed config: the supervisor (supervisor_api).
using config_applier = caf::typed_actor<
  caf::replies_to<apply_atom, std::shared_ptr<const plant::config>>::with<device_changes>>;

struct config_actor_args {
  config_snapshot initial;
  std::string role = "primary";
  const clock* clk = nullptr;  // must outlive the actor
  // Applies a changed config (apply_atom); none: the change is only held.
  config_applier supervisor;
  // Stores a new version; none: changes are not persisted (tests).
  std::function<expected<void, store::error>(const plant::config&, uint64_t version,
                                             const change_info&)>
    persist;
  // Checks beyond plant::validate (the point tables); none: validate only.
  std::function<problems(const plant::config&)> check;
  // Set with every change, for the services; may be null.
  std::shared_ptr<config_view> view;
};

config_actor spawn_config_actor(caf::actor_system& sys, config_actor_args args);

}  // namespace plantd::actors
