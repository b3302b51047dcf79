#include "actors/energy_unit.hpp"

#include <algorithm>
#include <cmath>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "model/energy/units.hpp"

namespace plantd::actors {
namespace {

using energy::failure;

failure fail(errc code, std::string msg) { return failure{code, {problem{"", std::move(msg)}}}; }

std::string day_text(absl::CivilDay d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}
std::string hex16(uint64_t v) { return fmt::format("{:016x}", v); }

const absl::CivilHour epoch_hour(1970, 1, 1, 0);
const absl::CivilDay epoch_day(1970, 1, 1);

// Entries: value \n entered_ms \n who \n note (who has no newline).
std::string encode_entry(const daily_entry& e) {
  std::string who = e.who;
  std::replace(who.begin(), who.end(), '\n', ' ');
  return fmt::format("{}\n{}\n{}\n{}", e.value, e.entered_ms, who, e.note);
}

} // namespace

std::optional<daily_entry> decode_entry(std::string_view key, std::string_view v) {
  // key: entry/<id>/<YYYY-MM-DD>/<seq>
  daily_entry e;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    auto slash = key.find('/', start);
    if (slash == std::string_view::npos) return std::nullopt;
    parts.push_back(key.substr(start, slash - start));
    start = slash + 1;
  }
  e.id = std::string(parts[1]);
  if (!absl::ParseCivilTime(std::string(parts[2]), &e.day)) return std::nullopt;
  auto nl1 = v.find('\n'), nl2 = v.find('\n', nl1 + 1), nl3 = v.find('\n', nl2 + 1);
  if (nl1 == std::string_view::npos || nl2 == std::string_view::npos || nl3 == std::string_view::npos)
    return std::nullopt;
  e.value = std::strtod(std::string(v.substr(0, nl1)).c_str(), nullptr);
  e.entered_ms = std::strtoll(std::string(v.substr(nl1 + 1, nl2 - nl1 - 1)).c_str(), nullptr, 10);
  e.who = std::string(v.substr(nl2 + 1, nl3 - nl2 - 1));
  e.note = std::string(v.substr(nl3 + 1));
  return e;
}

std::vector<daily_entry> read_entries(const store::store* db, const std::string& id,
                                      std::optional<absl::CivilDay> from,
                                      std::optional<absl::CivilDay> to) {
  std::vector<daily_entry> out;
  if (!db) return out;
  for (const auto& [k, v] : db->scan_energy(id.empty() ? "entry/" : "entry/" + id + "/")) {
    auto e = decode_entry(k, v);
    if (!e || (from && e->day < *from) || (to && e->day > *to)) continue;
    if (!out.empty() && out.back().id == e->id && out.back().day == e->day) out.back().superseded = true;
    out.push_back(std::move(*e));
  }
  return out;
}

std::string node_of(const energy::model& m, const std::string& id) {
  if (m.nodes.count(id)) return id;
  if (auto mt = m.meters.find(id); mt != m.meters.end()) return mt->second.node;
  if (auto p = m.products.find(id); p != m.products.end()) return p->second.node;
  if (auto i = m.indicators.find(id); i != m.indicators.end()) return node_of(m, i->second.owner);
  return "";
}

unit_slice slice_of(const energy::model& m, const std::string& node, absl::TimeZone tz) {
  unit_slice s;
  s.node = node;
  s.tz = tz;
  auto add_leaves = [&](const std::string& owner) {
    for (const auto& iid : m.indicators_of(owner))
      s.leaves[iid] = std::string(energy::to_string(m.indicators.at(iid).source));
  };
  add_leaves(node);
  for (const auto& [id, p] : m.products)
    if (p.node == node) s.leaves[id] = "production";
  for (const auto& mid : m.meters_of(node)) {
    add_leaves(mid);
    const auto& mt = m.meters.at(mid);
    auto& info = s.meters[mid];
    info.rollover = mt.details->counter_rollover;
    info.multiplier = mt.details->ct_ratio * mt.details->pt_ratio;
    auto mu = energy::parse_unit(m.energy_types.at(mt.energy_type).unit);
    for (const auto& iid : m.indicators_of(mid)) {
      const auto& ind = m.indicators.at(iid);
      if (ind.source != energy::source_kind::meter) continue;
      auto u = energy::parse_unit(m.templates.at(ind.template_id).unit);
      info.indicators.emplace_back(iid, u && mu ? mu->scale / u->scale : 1.0);
    }
  }
  return s;
}

energy_unit::energy_unit(std::shared_ptr<store::store> db, const clock* clk,
                         std::shared_ptr<std::atomic<uint64_t>> seq)
    : db_(std::move(db)), clk_(clk), seq_(seq ? std::move(seq) : std::make_shared<std::atomic<uint64_t>>(0)) {}

int64_t energy_unit::now_ms() const {
  system_clock wall;
  return (clk_ ? clk_->now() : wall.now()).time_since_epoch().count();
}

void energy_unit::set_slice(unit_slice s) {
  slice_ = std::move(s);
  trackers_.clear();
}

expected<std::pair<daily_entry, bool>, failure> energy_unit::enter_daily(
  const std::string& id, absl::CivilDay day, double value, const std::string& who,
  const std::string& note, std::vector<leaf_update>& out) {
  auto it = slice_.leaves.find(id);
  if (it == slice_.leaves.end())
    return unexpected{fail(errc::not_found, fmt::format("no indicator or product {}", id))};
  const auto& kind = it->second;
  if (kind != "manual" && kind != "production")
    return unexpected{fail(errc::invalid_argument,
                           fmt::format("{} is a {} indicator: daily values are entered for manual "
                                       "indicators and products",
                                       id, kind))};
  if (!std::isfinite(value))
    return unexpected{fail(errc::invalid_argument, "the value must be a number")};
  if (who.empty()) return unexpected{fail(errc::invalid_argument, "who entered it is required")};
  daily_entry e{id, day, value, who, now_ms(), note, false};
  std::string prefix = fmt::format("entry/{}/{}/", id, day_text(day));
  bool correction = db_ && !db_->scan_energy(prefix, 1).empty();
  if (db_) {
    uint64_t seq = ++*seq_;
    auto r = db_->put_energy({{prefix + hex16(seq), encode_entry(e)}},
                             fmt::format("energy/{}/{}", hex16(static_cast<uint64_t>(e.entered_ms)), hex16(seq)),
                             fmt::format("{}\n{} {} {} = {}", who, correction ? "correction" : "entry", id,
                                         day_text(day), value));
    if (!r) return unexpected{fail(errc::unavailable, "the store refused the entry: " + r.error())};
  }
  out.push_back({id, false, day - epoch_day, value, quality::manual, {}});
  return std::pair{e, correction};
}

std::vector<daily_entry> energy_unit::entries(const std::string& id, std::optional<absl::CivilDay> from,
                                              std::optional<absl::CivilDay> to) const {
  return read_entries(db_.get(), id, from, to);
}

energy::counter_tracker* energy_unit::tracker(const std::string& meter) {
  auto info = slice_.meters.find(meter);
  if (info == slice_.meters.end()) return nullptr;
  auto it = trackers_.find(meter);
  if (it != trackers_.end()) return &it->second;
  auto& t = trackers_.emplace(meter, energy::counter_tracker(info->second.rollover, info->second.multiplier))
              .first->second;
  // The last counter is in the store (written with the consumption it gave).
  if (db_)
    if (auto v = db_->get_energy("counter/" + meter)) {
      auto nl = v->find('\n');
      if (nl != std::string::npos)
        t.restore(std::strtoll(v->substr(0, nl).c_str(), nullptr, 10),
                  std::strtod(v->substr(nl + 1).c_str(), nullptr));
    }
  return &t;
}

expected<std::vector<energy::counter_event>, failure> energy_unit::apply_shares(
  const std::string& meter, const std::vector<energy::hour_share>& shares,
  std::vector<energy::counter_event> events, int64_t t_ms, double counter,
  std::vector<leaf_update>& out) {
  // The counter and the hours' new totals go in one batch: a crash keeps
  // both or neither, so consumption is never lost or counted twice.
  std::vector<std::pair<std::string, std::string>> kvs;
  kvs.emplace_back("counter/" + meter, fmt::format("{}\n{}", t_ms, counter));
  std::vector<leaf_update> ups;
  for (const auto& [ind, factor] : slice_.meters.at(meter).indicators) {
    for (const auto& s : shares) {
      int64_t idx = s.hour - epoch_hour;
      auto key = fmt::format("hour/{}/{}", ind, hex16(static_cast<uint64_t>(idx)));
      plantd::reading total{s.amount * factor, s.q};
      // A batch may hold the same hour twice (a gap and the new reading).
      auto prev = std::find_if(ups.rbegin(), ups.rend(), [&](const leaf_update& u) {
        return u.id == ind && u.index == idx;
      });
      std::optional<plantd::reading> before;
      if (prev != ups.rend()) before = plantd::reading{prev->value, prev->q};
      else if (db_) {
        if (auto v = db_->get_energy(key)) {
          auto nl = v->find('\n');
          if (nl != std::string::npos)
            before = plantd::reading{std::strtod(v->substr(0, nl).c_str(), nullptr),
                             static_cast<quality>(std::atoi(v->substr(nl + 1).c_str()))};
        }
      } else if (auto h = hours_.find(key); h != hours_.end()) {
        before = h->second;
      }
      if (before) total = {before->value + total.value, worse(before->quality, total.quality)};
      kvs.emplace_back(key, fmt::format("{}\n{}", total.value, static_cast<int>(total.quality)));
      ups.push_back({ind, true, idx, total.value, total.quality, before.value_or(plantd::reading{})});
      if (!db_) hours_[key] = total;
    }
  }
  if (db_) {
    auto r = db_->put_energy(kvs);
    if (!r) {
      trackers_.erase(meter);  // re-read the last stored counter next time
      return unexpected{fail(errc::unavailable, "the store refused the reading: " + r.error())};
    }
  }
  out.insert(out.end(), ups.begin(), ups.end());
  return events;
}

expected<std::vector<energy::counter_event>, failure> energy_unit::reading(
  const std::string& meter, int64_t t_ms, double counter, std::vector<leaf_update>& out) {
  auto* t = tracker(meter);
  if (!t) return unexpected{fail(errc::not_found, "no meter " + meter)};
  if (!std::isfinite(counter) || counter < 0)
    return unexpected{fail(errc::invalid_argument, "a counter reading is a number >= 0")};
  std::vector<energy::counter_event> events;
  auto shares = t->reading(t_ms, counter, slice_.tz, &events);
  return apply_shares(meter, shares, std::move(events), t_ms, counter, out);
}

expected<std::vector<energy::counter_event>, failure> energy_unit::swap(
  const std::string& meter, int64_t t_ms, double old_final, double new_initial,
  std::vector<leaf_update>& out) {
  auto* t = tracker(meter);
  if (!t) return unexpected{fail(errc::not_found, "no meter " + meter)};
  if (!std::isfinite(old_final) || !std::isfinite(new_initial) || old_final < 0 || new_initial < 0)
    return unexpected{fail(errc::invalid_argument, "counter readings are numbers >= 0")};
  std::vector<energy::counter_event> events;
  auto shares = t->swap(t_ms, old_final, new_initial, slice_.tz, &events);
  return apply_shares(meter, shares, std::move(events), t_ms, new_initial, out);
}

namespace {

struct energy_unit_state {
  std::unique_ptr<energy_unit> unit;
  uint64_t handled = 0;
  caf::actor_clock::time_point last_active;
  static inline const char* name = "energy-unit";
};

caf::behavior unit_behavior(caf::stateful_actor<energy_unit_state>* self, energy_unit_args args) {
  self->state.unit = std::make_unique<energy_unit>(args.db, args.clk, args.seq);
  if (args.slice) self->state.unit->set_slice(*args.slice);
  self->state.last_active = self->clock().now();
  auto sup = args.supervisor;
  self->monitor(sup);
  self->set_down_handler([self, sup](caf::down_msg& m) {
    if (m.source == sup.address()) self->quit(m.reason);
  });
  auto idle = args.idle;
  if (idle.count() > 0) self->delayed_send(self, idle, tick_atom_v);
  return {
    [=](energy_atom, const unit_request& req) -> caf::result<std::string> {
      ++self->state.handled;
      self->state.last_active = self->clock().now();
      auto ans = req.run(*self->state.unit);
      if (ans.code != errc::ok) return caf::make_error(ans.code, ans.bytes);
      if (ans.updates.empty()) return ans.bytes;
      // Answer once the graph has the new inputs: a query after this
      // answer sees them.
      auto rp = self->make_response_promise<std::string>();
      self->request(sup, caf::infinite, leaf_atom_v, std::move(ans.updates))
        .then([rp, bytes = std::move(ans.bytes)](bool) mutable { rp.deliver(std::move(bytes)); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](slice_atom, const std::shared_ptr<const unit_slice>& s) {
      if (s) self->state.unit->set_slice(*s);
    },
    [=](tick_atom) {
      if (self->clock().now() - self->state.last_active >= idle)
        self->send(sup, idle_atom_v, self->state.unit->slice().node, self->state.handled);
      self->delayed_send(self, idle, tick_atom_v);
    },
    [=](retire_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_energy_unit(caf::actor_system& sys, energy_unit_args args) {
  return sys.spawn(unit_behavior, std::move(args));
}

} // namespace plantd::actors
