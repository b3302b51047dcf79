#include "actors/config_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/errors.hpp"
#include "actors/version.hpp"
#include "model/plant/changes.hpp"
#include "model/plant/validate.hpp"

namespace plantd::actors {

namespace {

struct config_state {
  config_actor_args args;
  config_snapshot current;
  time_point started_at{};
  static inline const char* name = "plantd.config";
};

using self_ptr = config_actor::stateful_pointer<config_state>;

caf::result<apply_result> apply(self_ptr self, std::shared_ptr<const plant::config> next,
                                const change_info& info) {
  auto& st = self->state;
  if (!st.current.config)
    return caf::make_error(errc::unavailable, "no configuration is loaded");
  if (!next)
    return caf::make_error(errc::invalid_argument, "no configuration given");
  if (info.based_on != 0 && info.based_on != st.current.version)
    return caf::make_error(
      errc::aborted,
      fmt::format("the change was made on config version {}, but version {} is in force now: "
                  "read it again and make the change on top of it",
                  info.based_on, st.current.version));
  auto found = plant::validate(*next);
  if (found.empty() && st.args.check)
    found = st.args.check(*next);
  if (!found.empty())
    return caf::make_error(errc::invalid_argument, to_text(found));
  apply_result res;
  res.before = st.current;
  if (*next == *st.current.config) {  // nothing to do: no new version
    res.after = st.current;
    return res;
  }
  // Stored first: a change that is answered OK survives a restart, and a
  // stop between here and the supervisor runs the new version at the start.
  auto version = st.current.version + 1;
  if (st.args.persist)
    if (auto r = st.args.persist(*next, version, info); !r)
      return caf::make_error(r.error().code, "the change cannot be stored: " + r.error().message);
  res.at_restart = plant::restart_only_changes(*st.current.config, *next);
  st.current = {next, version, st.args.clk->now()};
  res.after = st.current;
  if (st.args.view)
    st.args.view->set(st.current);
  if (!st.args.supervisor)
    return res;
  // The supervisor handles its mailbox in order: changes apply in the
  // order they were stored.
  auto rp = self->make_response_promise<apply_result>();
  self->request(st.args.supervisor, caf::infinite, apply_atom_v, next)
    .then(
      [rp, res](device_changes& devices) mutable {
        res.devices = std::move(devices);
        rp.deliver(std::move(res));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

config_actor::behavior_type config_impl(self_ptr self, config_actor_args args) {
  auto& st = self->state;
  st.current = args.initial;
  st.args = std::move(args);
  st.started_at = st.args.clk->now();
  if (st.args.view)
    st.args.view->set(st.current);
  return {
    [self](caf::get_atom) { return self->state.current; },
    [self](caf::get_atom, info_atom) {
      const auto& st = self->state;
      plant_info info;
      info.version = plantd_version;
      info.role = st.args.role;
      if (st.current.config) {
        info.site_name = st.current.config->site.name;
        info.cabinet_count = static_cast<uint32_t>(st.current.config->cabinets.size());
      }
      info.config_version = st.current.version;
      info.started_at_ms = st.started_at.time_since_epoch().count();
      info.uptime_ms = (st.args.clk->now() - st.started_at).count();
      return info;
    },
    [self](apply_atom, std::shared_ptr<const plant::config>& next, change_info& info)
      -> caf::result<apply_result> { return apply(self, std::move(next), info); },
    [self](mode_atom, plant::working_mode mode, std::vector<plant::tou_slot>& slots,
           change_info& info) -> caf::result<apply_result> {
      auto& st = self->state;
      if (!st.current.config)
        return caf::make_error(errc::unavailable, "no configuration is loaded");
      auto next = std::make_shared<plant::config>(*st.current.config);
      next->policies.mode = mode;
      if (!slots.empty())
        next->policies.tou = std::move(slots);
      return apply(self, std::move(next), info);
    },
  };
}

}  // namespace

config_actor spawn_config_actor(caf::actor_system& sys, config_actor_args args) {
  return sys.spawn(config_impl, std::move(args));
}

}  // namespace plantd::actors
