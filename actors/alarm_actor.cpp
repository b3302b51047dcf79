#include "actors/alarm_actor.hpp"

#include <map>

#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/errors.hpp"

namespace plantd::actors {

namespace {

constexpr char sep = '\x1f';

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

}  // namespace

std::string encode_alarm(const alarms::alarm& a) {
  return fmt::format("1{0}{1}{0}{2}{0}{3}{0}{4}{0}{5}{0}{6}{0}{7}{0}{8}", sep, a.code, a.device,
                     static_cast<int>(a.level), a.text, a.raised_ms,
                     a.cleared_ms ? std::to_string(*a.cleared_ms) : "",
                     a.acked_ms ? std::to_string(*a.acked_ms) : "", a.acked_by);
}

std::optional<alarms::alarm> decode_alarm(uint64_t id, std::string_view bytes) {
  auto f = split(bytes);
  if (f.size() != 9 || f[0] != "1")
    return std::nullopt;
  try {
    alarms::alarm a;
    a.id = id;
    a.code = f[1];
    a.device = f[2];
    a.level = static_cast<alarms::severity>(std::stoi(std::string{f[3]}));
    a.text = f[4];
    a.raised_ms = std::stoll(std::string{f[5]});
    if (!f[6].empty())
      a.cleared_ms = std::stoll(std::string{f[6]});
    if (!f[7].empty())
      a.acked_ms = std::stoll(std::string{f[7]});
    a.acked_by = f[8];
    return a;
  } catch (...) {
    return std::nullopt;
  }
}

caf::behavior alarm_actor(caf::event_based_actor* self, alarm_actor_args args) {
  struct ctx {
    alarm_actor_args a;
    alarms::alarm_book book;
    // Conditions other actors hold (store, network), by source.
    std::map<std::string, std::vector<alarms::condition>> held;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  if (c->a.db) {
    std::vector<alarms::alarm> records;
    for (const auto& [id, bytes] : c->a.db->alarms())
      if (auto a = decode_alarm(id, bytes))
        records.push_back(*a);
    c->book.restore(std::move(records));
  }
  auto persist = [c](const alarms::alarm& a) {
    if (c->a.db)
      (void)c->a.db->put_alarm(a.id, encode_alarm(a));
    if (c->a.hub)
      c->a.hub->publish(a);
  };
  return {
    [self, c, persist](const plant_state& s) {
      // The supervisor is the one that sends plant states.
      if (!c->a.supervisor)
        c->a.supervisor = caf::actor_cast<caf::actor>(self->current_sender());
      auto all = s.conditions;
      for (const auto& [source, conds] : c->held)
        all.insert(all.end(), conds.begin(), conds.end());
      for (const auto& a : c->book.update(all, s.time.time_since_epoch().count()))
        persist(a);
    },
    [c](store_atom, const std::string& source, std::vector<alarms::condition> conds) {
      c->held[source] = std::move(conds);
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
      if (r->code == "export_trip" && c->a.supervisor)
        self->send(c->a.supervisor, reset_atom_v);
      if (r->code == "foreign_master" && c->a.supervisor)
        self->send(c->a.supervisor, reset_atom_v, r->device);
      return *r;
    },
  };
}

}  // namespace plantd::actors
