#include "actors/config_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/errors.hpp"
#include "actors/version.hpp"
#include "model/plant/validate.hpp"

namespace plantd::actors {

namespace {

struct config_state {
  config_snapshot current;
  std::string role;
  const clock* clk = nullptr;
  caf::actor supervisor;
  std::function<expected<void, std::string>(const plant::config&, uint64_t)> persist;
  time_point started_at{};
  static inline const char* name = "plantd.config";
};

config_actor::behavior_type
config_impl(config_actor::stateful_pointer<config_state> self, config_actor_args args) {
  auto& st = self->state;
  st.current = std::move(args.initial);
  st.role = std::move(args.role);
  st.clk = args.clk;
  st.supervisor = std::move(args.supervisor);
  st.persist = std::move(args.persist);
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
    [self](mode_atom, plant::working_mode mode,
           std::vector<plant::tou_slot>& slots) -> caf::result<config_snapshot> {
      auto& st = self->state;
      if (!st.current.config || !st.supervisor)
        return caf::make_error(errc::unavailable, "no configuration is loaded");
      auto next = std::make_shared<plant::config>(*st.current.config);
      next->policies.mode = mode;
      if (!slots.empty())
        next->policies.tou = slots;
      if (auto found = plant::validate(*next); !found.empty())
        return caf::make_error(errc::invalid_argument, to_text(found));
      // Stored first: a change that is answered OK survives a restart.
      auto version = st.current.version + 1;
      if (st.persist)
        if (auto r = st.persist(*next, version); !r)
          return caf::make_error(errc::unavailable, "the change cannot be stored: " + r.error());
      auto rp = self->make_response_promise<config_snapshot>();
      self->request(st.supervisor, caf::infinite, mode_atom_v, mode, std::move(slots))
        .then(
          [self, rp, next, version](bool) mutable {
            auto& s = self->state;
            auto before = s.current;
            s.current.config = std::move(next);
            s.current.version = version;
            s.current.applied_at = s.clk->now();
            rp.deliver(std::move(before));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace

config_actor spawn_config_actor(caf::actor_system& sys, config_actor_args args) {
  return sys.spawn(config_impl, std::move(args));
}

} // namespace plantd::actors
