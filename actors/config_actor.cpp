#include "actors/config_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/version.hpp"

namespace plantd::actors {

namespace {

struct config_state {
  config_snapshot current;
  std::string role;
  const clock* clk = nullptr;
  time_point started_at{};
  static inline const char* name = "plantd.config";
};

config_actor::behavior_type
config_impl(config_actor::stateful_pointer<config_state> self, config_actor_args args) {
  auto& st = self->state;
  st.current = std::move(args.initial);
  st.role = std::move(args.role);
  st.clk = args.clk;
  st.started_at = st.clk->now();
  return {
    [self](caf::get_atom) { return self->state.current; },
    [self](caf::get_atom, info_atom) {
      const auto& st = self->state;
      plant_info info;
      info.version = plantd_version;
      info.role = st.role;
      if (st.current.config) {
        info.site_name = st.current.config->site.name;
        info.cabinet_count = static_cast<uint32_t>(st.current.config->cabinets.size());
      }
      info.config_version = st.current.version;
      info.started_at_ms = st.started_at.time_since_epoch().count();
      info.uptime_ms = (st.clk->now() - st.started_at).count();
      return info;
    },
  };
}

} // namespace

config_actor spawn_config_actor(caf::actor_system& sys, config_actor_args args) {
  return sys.spawn(config_impl, std::move(args));
}

} // namespace plantd::actors
