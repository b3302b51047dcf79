#include "actors/alarm_actor.hpp"

#include <map>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"

namespace plantd::actors {

alarm_api::behavior_type alarm_actor(alarm_api::pointer self, alarm_actor_args args) {
  struct ctx {
    alarm_actor_args a;
    alarms::alarm_book book;
    // Conditions other actors hold (store, network), by source.
    std::map<std::string, std::vector<alarms::condition>> held;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  if (c->a.db) {
    std::string error;
    std::size_t undecodable = 0;
    auto records = c->a.db->alarms(&error, &undecodable);
    if (!error.empty() || undecodable)
      spdlog::warn("alarms: {} stored record(s) could not be decoded{}{}; the others are restored",
                   undecodable, error.empty() ? "" : ", and reading them failed: ", error);
    c->book.restore(std::move(records));
  }
  auto persist = [c](const alarms::alarm& a) {
    if (c->a.db)
      (void)c->a.db->put_alarm(a);
    if (c->a.hub)
      c->a.hub->publish(a);
  };
  return {
    [self, c, persist](const plant_state& s) {
      // The supervisor is the one that sends plant states.
      if (!c->a.supervisor)
        c->a.supervisor = caf::actor_cast<trip_release>(self->current_sender());
      auto all = s.conditions;
      for (const auto& [source, conds] : c->held)
        all.insert(all.end(), conds.begin(), conds.end());
      for (const auto& a : c->book.update(all, s.time.time_since_epoch().count()))
        persist(a);
    },
    [c](store_atom, const std::string& source, const std::vector<alarms::condition>& conds) {
      c->held[source] = conds;
    },
    [c](caf::get_atom, const alarms::filter& f) { return c->book.list(f); },
    [self, c, persist](ack_atom, uint64_t id, const std::string& who,
                       bool may_release) -> caf::result<alarms::alarm> {
      // A foreign master's lock is released by whoever may change the
      // configuration (the installer), not by anyone who may acknowledge.
      if (const auto* a = c->book.find(id); a && a->code == "foreign_master" && !may_release)
        return caf::make_error(
          errc::permission_denied,
          fmt::format("acknowledging foreign_master on {} hands it back to plantd's commands: "
                      "an installer does it (config.write), once the other controller is found",
                      a->device));
      auto r = c->book.acknowledge(id, who, c->a.clk->now().time_since_epoch().count());
      if (!r)
        return caf::make_error(r.error(), fmt::format("no alarm {}", id));
      persist(*r);
      // (Told without a sender: its answer is not waited for.)
      if (r->code == "export_trip" && c->a.supervisor)
        caf::anon_send(c->a.supervisor, reset_atom_v);
      if (r->code == "foreign_master" && c->a.supervisor)
        caf::anon_send(c->a.supervisor, reset_atom_v, r->device);
      return *r;
    },
  };
}

}  // namespace plantd::actors
