#include "actors/energy_unit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

namespace records = store::energy_records;
using records::day_text;
using records::decode_entry;

using energy::failure;

failure fail(errc code, std::string msg) {
  return failure{code, {problem{"", std::move(msg)}}};
}

const absl::CivilHour epoch_hour(1970, 1, 1, 0);
const absl::CivilDay epoch_day(1970, 1, 1);

using logged_reading = energy_unit::logged_reading;

std::string time_text(int64_t ms, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), tz);
}

}  // namespace

std::vector<daily_entry> read_entries(const store::store* db, const std::string& id,
                                      std::optional<absl::CivilDay> from,
                                      std::optional<absl::CivilDay> to) {
  std::vector<daily_entry> out;
  if (!db)
    return out;
  for (const auto& [k, v] :
       db->scan_energy(id.empty() ? std::string(records::all_entries) : records::entries_of(id))) {
    auto e = decode_entry(k, v);
    if (!e || (from && e->day < *from) || (to && e->day > *to))
      continue;
    if (!out.empty() && out.back().id == e->id && out.back().day == e->day)
      out.back().superseded = true;
    out.push_back(std::move(*e));
  }
  return out;
}

std::string node_of(const energy::model& m, const std::string& id) {
  if (m.nodes.count(id))
    return id;
  if (auto mt = m.meters.find(id); mt != m.meters.end())
    return mt->second.node;
  if (auto p = m.products.find(id); p != m.products.end())
    return p->second.node;
  if (auto i = m.indicators.find(id); i != m.indicators.end())
    return node_of(m, i->second.owner);
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
    if (p.node == node)
      s.leaves[id] = "production";
  for (const auto& mid : m.meters_of(node)) {
    add_leaves(mid);
    const auto& mt = m.meters.at(mid);
    auto& info = s.meters[mid];
    info.rollover = mt.details->counter_rollover;
    info.multiplier = mt.details->ct_ratio * mt.details->pt_ratio;
    auto mu = energy::parse_unit(m.energy_types.at(mt.energy_type).unit);
    for (const auto& iid : m.indicators_of(mid)) {
      const auto& ind = m.indicators.at(iid);
      if (ind.source != energy::source_kind::meter)
        continue;
      auto u = energy::parse_unit(m.templates.at(ind.template_id).unit);
      info.indicators.emplace_back(iid, u && mu ? mu->scale / u->scale : 1.0);
    }
  }
  return s;
}

energy_unit::energy_unit(std::shared_ptr<store::store> db, const clock* clk,
                         std::shared_ptr<std::atomic<uint64_t>> seq)
  : db_(std::move(db)),
    clk_(clk),
    seq_(seq ? std::move(seq) : std::make_shared<std::atomic<uint64_t>>(0)) {}

int64_t energy_unit::now_ms() const {
  system_clock wall;
  return (clk_ ? clk_->now() : wall.now()).time_since_epoch().count();
}

void energy_unit::set_slice(unit_slice s) {
  slice_ = std::move(s);
  trackers_.clear();
}

expected<std::pair<daily_entry, bool>, failure>
energy_unit::enter_daily(const std::string& id, absl::CivilDay day, double value,
                         const std::string& who, const std::string& note,
                         std::vector<leaf_update>& out) {
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
  if (who.empty())
    return unexpected{fail(errc::invalid_argument, "who entered it is required")};
  daily_entry e{id, day, value, who, now_ms(), note, false};
  bool correction = db_ && !db_->scan_energy(records::entries_of(id, day), 1).empty();
  if (db_) {
    uint64_t seq = ++*seq_;
    auto r = db_->put_energy(
      {{records::entry_key(id, day, seq), records::encode_entry(e)}},
      records::audit_key(e.entered_ms, seq),
      records::audit_record(who, fmt::format("{} {} {} = {}", correction ? "correction" : "entry",
                                             id, day_text(day), value)));
    if (!r)
      return unexpected{fail(r.error().code, "the store refused the entry: " + r.error().message)};
  }
  out.push_back({id, false, day - epoch_day, value, quality::manual, {}});
  return std::pair{e, correction};
}

std::vector<daily_entry> energy_unit::entries(const std::string& id,
                                              std::optional<absl::CivilDay> from,
                                              std::optional<absl::CivilDay> to) const {
  return read_entries(db_.get(), id, from, to);
}

energy::counter_tracker* energy_unit::tracker(const std::string& meter) {
  auto info = slice_.meters.find(meter);
  if (info == slice_.meters.end())
    return nullptr;
  auto it = trackers_.find(meter);
  if (it != trackers_.end())
    return &it->second;
  auto& t =
    trackers_
      .emplace(meter, energy::counter_tracker(info->second.rollover, info->second.multiplier))
      .first->second;
  // The last counter is in the store (written with the consumption it gave).
  if (db_)
    if (auto v = db_->get_energy(records::counter_key(meter))) {
      if (auto c = records::decode_counter(*v))
        t.restore(c->first, c->second);
      // A store from before the reading log: the last counter starts it,
      // as a seed (what came before it is not known). Only for a meter
      // with no log at all (a meter read live keeps none: one seed).
      // Best effort: without it a late reading is refused, never misplaced.
      if (auto last = t.last(); last && !log_before(meter, INT64_MAX))
        if (auto r = db_->put_energy(
              {{records::reading_key(meter, last->first),
                records::encode_reading({last->first, last->second, last->second, -1, false})}});
            !r)
          spdlog::warn("energy: the reading log of meter {} could not be started: {}", meter,
                       r.error().message);
    }
  return &t;
}

std::optional<energy_unit::logged_reading> energy_unit::log_at(const std::string& meter,
                                                               int64_t t) const {
  if (!db_) {
    auto m = log_.find(meter);
    if (m == log_.end())
      return std::nullopt;
    auto it = m->second.find(t);
    return it == m->second.end() ? std::nullopt : std::optional(it->second);
  }
  auto v = db_->get_energy(records::reading_key(meter, t));
  return v ? records::decode_reading(t, *v) : std::nullopt;
}

std::optional<energy_unit::logged_reading> energy_unit::log_before(const std::string& meter,
                                                                   int64_t t) const {
  if (!db_) {
    auto m = log_.find(meter);
    if (m == log_.end())
      return std::nullopt;
    auto it = m->second.lower_bound(t);
    if (it == m->second.begin())
      return std::nullopt;
    return std::prev(it)->second;
  }
  auto kv = db_->energy_before(records::readings_of(meter), records::reading_key(meter, t));
  if (!kv)
    return std::nullopt;
  return records::decode_reading(records::reading_time(kv->first), kv->second);
}

std::optional<energy_unit::logged_reading> energy_unit::log_after(const std::string& meter,
                                                                  int64_t t) const {
  auto span = log_span(meter, t + 1, t);  // the first entry after t alone
  if (span.empty())
    return std::nullopt;
  return span.front();
}

// The log entries from `from` to `to` (inclusive), and the first after `to`.
std::vector<energy_unit::logged_reading> energy_unit::log_span(const std::string& meter,
                                                               int64_t from, int64_t to) const {
  std::vector<logged_reading> out;
  if (!db_) {
    auto m = log_.find(meter);
    if (m == log_.end())
      return out;
    for (auto it = m->second.lower_bound(from); it != m->second.end(); ++it) {
      out.push_back(it->second);
      if (it->first > to)
        break;
    }
    return out;
  }
  db_->each_energy(
    records::readings_of(meter),
    [&](std::string_view k, std::string_view v) {
      auto t = records::reading_time(k);
      if (auto e = records::decode_reading(t, v))
        out.push_back(*e);
      return t <= to;
    },
    records::reading_key(meter, from));
  return out;
}

std::optional<plantd::reading> energy_unit::stored_hour(const std::string& key) const {
  if (!db_) {
    auto h = hours_.find(key);
    return h == hours_.end() ? std::nullopt : std::optional(h->second);
  }
  auto v = db_->get_energy(key);
  if (!v)
    return std::nullopt;
  return records::decode_hour_value(*v);
}

expected<std::vector<energy::counter_event>, failure>
energy_unit::apply_shares(const std::string& meter, const std::vector<energy::hour_share>& shares,
                          std::vector<energy::counter_event> events, int64_t t_ms, double counter,
                          std::vector<leaf_update>& out, std::optional<logged_reading> log) {
  // The counter, its log entry and the hours' new totals go in one batch: a
  // crash keeps all or none, so consumption is never lost or counted twice.
  std::vector<std::pair<std::string, std::string>> kvs;
  kvs.emplace_back(records::counter_key(meter), records::encode_counter(t_ms, counter));
  if (log)
    kvs.emplace_back(records::reading_key(meter, log->t), records::encode_reading(*log));
  std::vector<leaf_update> ups;
  for (const auto& [ind, factor] : slice_.meters.at(meter).indicators) {
    for (const auto& s : shares) {
      int64_t idx = s.hour - epoch_hour;
      auto key = records::hour_key(ind, idx);
      plantd::reading total{s.amount * factor, s.q};
      // A batch may hold the same hour twice (a gap and the new reading).
      auto prev = std::find_if(ups.rbegin(), ups.rend(),
                               [&](const leaf_update& u) { return u.id == ind && u.index == idx; });
      std::optional<plantd::reading> before;
      if (prev != ups.rend())
        before = plantd::reading{prev->value, prev->q};
      else
        before = stored_hour(key);
      if (before)
        total = {before->value + total.value, worse(before->quality, total.quality)};
      kvs.emplace_back(key, records::encode_hour(total));
      ups.push_back(
        {ind, true, idx, total.value, total.quality, before.value_or(plantd::reading{})});
      if (!db_)
        hours_[key] = total;
    }
  }
  if (db_) {
    auto r = db_->put_energy(kvs);
    if (!r) {
      trackers_.erase(meter);  // re-read the last stored counter next time
      return unexpected{
        fail(r.error().code, "the store refused the reading: " + r.error().message)};
    }
  } else if (log) {
    log_[meter][log->t] = *log;
  }
  out.insert(out.end(), ups.begin(), ups.end());
  return events;
}

expected<energy_unit::reading_result, failure> energy_unit::reading(const std::string& meter,
                                                                    int64_t t_ms, double counter,
                                                                    std::vector<leaf_update>& out,
                                                                    bool logged) {
  auto* t = tracker(meter);
  if (!t)
    return unexpected{fail(errc::not_found, "no meter " + meter)};
  if (!std::isfinite(counter) || counter < 0)
    return unexpected{fail(errc::invalid_argument, "a counter reading is a number >= 0")};
  auto last = t->last();
  if (!last || t_ms > last->first) {
    // Logged: a run of one (readings() writes it with its log entry).
    if (logged)
      return std::move(readings(meter, {{t_ms, counter}}, out).front());
    std::vector<energy::counter_event> events;
    auto shares = t->reading(t_ms, counter, slice_.tz, &events);
    auto ev = apply_shares(meter, shares, std::move(events), t_ms, counter, out);
    if (!ev)
      return unexpected{ev.error()};
    return reading_result{fate::recorded, std::move(*ev)};
  }
  // The same time as a reading recorded: the same counter is nothing new.
  auto same = [&](double recorded) {
    return std::abs(recorded - counter) <= 1e-9 * std::max(1.0, std::abs(counter));
  };
  auto conflict = [&](std::string what) {
    return unexpected{
      fail(errc::already_exists, fmt::format("meter {}: {} at {}; this reading says {}", meter,
                                             what, time_text(t_ms, slice_.tz), counter))};
  };
  if (auto at = log_at(meter, t_ms)) {
    if (at->swap)
      return conflict(fmt::format("a meter swap ({} -> {}) is recorded", at->in, at->out));
    if (!same(at->in))
      return conflict(fmt::format("a reading of {} is recorded", at->in));
    return reading_result{fate::duplicate, {}};
  }
  if (t_ms == last->first) {
    if (!same(last->second))
      return conflict(fmt::format("a reading of {} is recorded", last->second));
    return reading_result{fate::duplicate, {}};
  }
  if (!logged)
    return reading_result{fate::ignored, {}};  // a live counter from before the last one
  return backfill(meter, *t, t_ms, counter, out);
}

std::vector<expected<energy_unit::reading_result, failure>>
energy_unit::readings(const std::string& meter, const std::vector<std::pair<int64_t, double>>& rs,
                      std::vector<leaf_update>& out) {
  std::vector<expected<reading_result, failure>> results;
  results.reserve(rs.size());
  // The run of readings after the last one, not yet written: their log
  // entries, the last counter, and each hour's stored total and new one.
  std::vector<std::pair<std::string, std::string>> logs;
  std::map<std::pair<std::string, int64_t>,
           std::pair<std::optional<plantd::reading>, plantd::reading>>
    hours;
  std::optional<std::pair<int64_t, double>> counter;
  std::vector<std::size_t> pending;
  auto flush = [&] {
    if (pending.empty())
      return;
    std::vector<std::pair<std::string, std::string>> kvs = std::move(logs);
    kvs.emplace_back(records::counter_key(meter),
                     records::encode_counter(counter->first, counter->second));
    for (const auto& [k, v] : hours)
      kvs.emplace_back(records::hour_key(k.first, k.second), records::encode_hour(v.second));
    bool written = true;
    if (db_) {
      if (auto r = db_->put_energy(kvs); !r) {
        written = false;
        trackers_.erase(meter);  // re-read the last stored counter next time
        for (auto i : pending)
          results[i] =
            unexpected{fail(r.error().code, "the store refused the reading: " + r.error().message)};
      }
    } else {
      for (const auto& [k, v] : kvs) {
        if (k.starts_with(records::all_readings)) {
          auto e = records::decode_reading(records::reading_time(k), v);
          if (e)
            log_[meter][e->t] = *e;
        } else if (k.starts_with(records::all_hours)) {
          if (auto r = records::decode_hour_value(v))
            hours_[k] = *r;
        }
      }
    }
    if (written)
      for (const auto& [k, v] : hours)
        out.push_back({k.first, true, k.second, v.second.value, v.second.quality,
                       v.first.value_or(plantd::reading{})});
    logs.clear();
    hours.clear();
    counter.reset();
    pending.clear();
  };
  for (const auto& [t_ms, c] : rs) {
    auto* t = tracker(meter);
    if (!t) {
      results.push_back(unexpected{fail(errc::not_found, "no meter " + meter)});
      continue;
    }
    auto last = t->last();
    if (!std::isfinite(c) || c < 0 || (last && t_ms <= last->first)) {
      // Refused at once, or not after the last reading: on its own, after
      // what came before it is written.
      flush();
      results.push_back(reading(meter, t_ms, c, out));
      continue;
    }
    std::vector<energy::counter_event> events;
    auto shares = t->reading(t_ms, c, slice_.tz, &events);
    logs.emplace_back(records::reading_key(meter, t_ms),
                      records::encode_reading({t_ms, c, c, last ? last->first : 0, false}));
    counter = {t_ms, c};
    for (const auto& [ind, factor] : slice_.meters.at(meter).indicators)
      for (const auto& s : shares) {
        auto key = std::pair{ind, s.hour - epoch_hour};
        auto it = hours.find(key);
        if (it == hours.end()) {
          auto before = stored_hour(records::hour_key(ind, key.second));
          it =
            hours.emplace(key, std::pair{before, before.value_or(plantd::reading{0, s.q})}).first;
        }
        auto& now = it->second.second;
        now.value += s.amount * factor;
        now.quality = worse(now.quality, s.q);
      }
    pending.push_back(results.size());
    results.push_back(reading_result{fate::recorded, std::move(events)});
  }
  flush();
  if (auto* t = tracker(meter); t && t->last())
    prune_log(meter, t->last()->first);
  return results;
}

void energy_unit::prune_log(const std::string& meter, int64_t newest) {
  constexpr int64_t day_ms = 24LL * 3600 * 1000;
  auto& at = pruned_at_[meter];
  if (at && newest - at < day_ms)
    return;
  at = newest;
  int64_t cut = newest - log_keep_ms;
  if (cut <= 0)
    return;
  // The entries before the cut go; the first one kept starts the log.
  auto first = log_span(meter, cut, cut);  // the first entry at or after the cut
  if (first.empty() || first.front().prev == -1)
    return;
  auto start = first.front();
  std::vector<std::pair<std::string, std::string>> kvs;
  if (!db_) {
    auto& m = log_[meter];
    bool older = m.begin() != m.lower_bound(cut);
    if (!older && start.prev == 0)
      return;  // the meter's first reading is in the window
    m.erase(m.begin(), m.lower_bound(cut));
    m[start.t].prev = -1;
    return;
  }
  db_->each_energy(records::readings_of(meter), [&](std::string_view k, std::string_view) {
    if (records::reading_time(k) >= cut)
      return false;
    kvs.emplace_back(std::string(k), std::string());  // an empty value deletes the key
    return true;
  });
  if (kvs.empty() && start.prev == 0)
    return;  // nothing older: the meter's first reading is in the window
  start.prev = -1;
  kvs.emplace_back(records::reading_key(meter, start.t), records::encode_reading(start));
  if (auto r = db_->put_energy(kvs); !r)
    spdlog::warn("energy: the reading log of meter {} was not pruned: {}", meter,
                 r.error().message);
}

expected<energy_unit::reading_result, failure>
energy_unit::backfill(const std::string& meter, const energy::counter_tracker& t, int64_t t_ms,
                      double counter, std::vector<leaf_update>& out) {
  const auto& tz = slice_.tz;
  auto refuse = [&](std::string why) {
    return unexpected{
      fail(errc::failed_precondition,
           fmt::format("meter {}: a reading at {}: {}", meter, time_text(t_ms, tz), why))};
  };
  auto a = log_before(meter, t_ms);
  auto b = log_after(meter, t_ms);
  if (!b)
    return refuse(fmt::format("the readings since {} were not kept (read live by plantd); "
                              "a reading cannot be placed among them",
                              a ? time_text(a->t, tz) : std::string("the first")));
  if (!a && b->prev == -1)
    return refuse(
      fmt::format("older than the readings kept for the meter (from {})", time_text(b->t, tz)));
  // Before the meter's first reading: its use up to it, within a month (a
  // wrong date would spread it over years).
  constexpr int64_t month_ms = 31LL * 24 * 3600 * 1000;
  if (!a && b->t - t_ms > month_ms)
    return refuse(
      fmt::format("more than 31 days before the meter's first reading ({})", time_text(b->t, tz)));
  if (a ? b->prev != a->t : b->prev != 0)
    return refuse(
      fmt::format("the readings between {} and {} were not all kept (read live by plantd)",
                  a ? time_text(a->t, tz) : std::string("the first"), time_text(b->t, tz)));
  std::optional<energy::counter_interval> was, first;
  if (a) {
    was = t.interval(a->t, a->out, b->t, b->in, tz);
    first = t.interval(a->t, a->out, t_ms, counter, tz);
  }
  auto second = t.interval(t_ms, counter, b->t, b->in, tz);
  // The two halves must tell the same story as the interval: no wrap or
  // reset where it had none, and the one it had on exactly one side.
  auto fits = [&] {
    if (!was)
      return !second.reset;  // before the first reading (a wrap may lie between)
    int resets = (first->reset ? 1 : 0) + (second.reset ? 1 : 0);
    int wraps = (first->rollover ? 1 : 0) + (second.rollover ? 1 : 0);
    return resets == (was->reset ? 1 : 0) && wraps == (was->rollover ? 1 : 0);
  };
  if (!fits())
    return refuse(
      a ? fmt::format("the counter {} is not between the readings around it ({} at {}, {} at {})",
                      counter, a->out, time_text(a->t, tz), b->in, time_text(b->t, tz))
        : fmt::format("the counter {} is above the meter's first reading ({} at {})", counter,
                      b->in, time_text(b->t, tz)));
  // Each hour's change: the interval's shares out, the two new ones in.
  std::map<int64_t, double> delta;
  auto add = [&](const energy::counter_interval& iv, double sign) {
    for (const auto& sh : iv.shares)
      delta[sh.hour - epoch_hour] += sign * sh.amount;
  };
  if (was)
    add(*was, -1);
  if (first)
    add(*first, +1);
  add(second, +1);
  // Each hour's quality, from the log's intervals that cover it: the
  // entries around the hours changed, with the new one in its place.
  auto hour_ms = [&](int64_t idx) {
    return absl::ToUnixMillis(tz.At(absl::CivilSecond(epoch_hour + idx)).pre);
  };
  int64_t from = hour_ms(delta.begin()->first), to = hour_ms(delta.rbegin()->first + 1);
  logged_reading entry{t_ms, counter, counter, a ? a->t : 0, false};
  logged_reading next = *b;
  next.prev = t_ms;
  std::vector<logged_reading> span;
  if (auto p = log_before(meter, from))
    span.push_back(*p);
  for (auto& e : log_span(meter, from, to))
    span.push_back(e);
  for (auto& e : span)
    if (e.t == next.t)
      e = next;
  span.insert(std::upper_bound(span.begin(), span.end(), t_ms,
                               [](int64_t x, const logged_reading& e) { return x < e.t; }),
              entry);
  auto linked = [&](std::size_t i) { return i > 0 && span[i].prev == span[i - 1].t; };
  std::map<int64_t, quality> q;
  for (std::size_t i = 1; i < span.size(); ++i) {
    if (!linked(i))
      continue;
    for (const auto& sh :
         t.interval(span[i - 1].t, span[i - 1].out, span[i].t, span[i].in, tz).shares) {
      auto& x = q.try_emplace(sh.hour - epoch_hour, quality::measured).first->second;
      x = worse(x, sh.q);
    }
  }
  // The hours the joined readings around the new one cover in full.
  std::size_t k = static_cast<std::size_t>(
    std::find_if(span.begin(), span.end(), [&](const logged_reading& e) { return e.t == t_ms; })
    - span.begin());
  std::size_t lo = k, hi = k;
  while (linked(lo))
    --lo;
  while (hi + 1 < span.size() && linked(hi + 1))
    ++hi;
  int64_t covered_from = span[lo].prev == 0 ? INT64_MIN : span[lo].t;
  auto last = t.last();
  int64_t covered_to = last && span[hi].t == last->first ? INT64_MAX : span[hi].t;

  std::vector<std::pair<std::string, std::string>> kvs;
  kvs.emplace_back(records::reading_key(meter, entry.t), records::encode_reading(entry));
  kvs.emplace_back(records::reading_key(meter, next.t), records::encode_reading(next));
  std::vector<leaf_update> ups;
  for (const auto& [ind, factor] : slice_.meters.at(meter).indicators) {
    for (const auto& [idx, d] : delta) {
      auto key = records::hour_key(ind, idx);
      auto before = stored_hour(key);
      double v = (before ? before->value : 0) + d * factor;
      if (v < 0 && v > -1e-9 * std::max(1.0, std::abs(d * factor)))
        v = 0;  // rounding of the split
      quality qh = q.count(idx) ? q[idx] : quality::measured;
      bool known = covered_from <= hour_ms(idx) && hour_ms(idx + 1) <= covered_to;
      if (!known && before)
        qh = worse(qh, before->quality);
      kvs.emplace_back(key, records::encode_hour({v, qh}));
      ups.push_back({ind, true, idx, v, qh, before.value_or(plantd::reading{})});
    }
  }
  if (db_) {
    auto r = db_->put_energy(kvs);
    if (!r)
      return unexpected{
        fail(r.error().code, "the store refused the reading: " + r.error().message)};
  } else {
    for (const auto& u : ups)
      hours_[records::hour_key(u.id, u.index)] = {u.value, u.q};
    log_[meter][entry.t] = entry;
    log_[meter][next.t] = next;
  }
  out.insert(out.end(), ups.begin(), ups.end());
  reading_result r{fate::backfilled, {}};
  for (const auto* iv : {first ? &*first : nullptr, &second}) {
    if (!iv)
      continue;
    if (iv->rollover)
      r.events.push_back({energy::counter_event::rollover, t_ms, 0, counter});
    if (iv->reset)
      r.events.push_back({energy::counter_event::reset, t_ms, 0, counter});
    if (iv->interpolated)
      r.events.push_back({energy::counter_event::gap, t_ms, 0, counter});
  }
  return r;
}

expected<std::vector<energy::counter_event>, failure>
energy_unit::swap(const std::string& meter, int64_t t_ms, double old_final, double new_initial,
                  std::vector<leaf_update>& out) {
  auto* t = tracker(meter);
  if (!t)
    return unexpected{fail(errc::not_found, "no meter " + meter)};
  if (!std::isfinite(old_final) || !std::isfinite(new_initial) || old_final < 0 || new_initial < 0)
    return unexpected{fail(errc::invalid_argument, "counter readings are numbers >= 0")};
  auto last = t->last();
  if (last && t_ms <= last->first)
    return unexpected{
      fail(errc::failed_precondition,
           fmt::format("meter {}: a meter swap at {} must come after the meter's last reading ({})",
                       meter, time_text(t_ms, slice_.tz), time_text(last->first, slice_.tz)))};
  if (last && old_final < last->second)
    return unexpected{
      fail(errc::invalid_argument,
           fmt::format("meter {}: the old meter's final reading {} is below its last reading {}",
                       meter, old_final, last->second))};
  std::vector<energy::counter_event> events;
  auto shares = t->swap(t_ms, old_final, new_initial, slice_.tz, &events);
  return apply_shares(meter, shares, std::move(events), t_ms, new_initial, out,
                      logged_reading{t_ms, old_final, new_initial, last ? last->first : 0, true});
}

namespace {

struct energy_unit_state {
  std::unique_ptr<energy_unit> unit;
  uint64_t handled = 0;
  caf::actor_clock::time_point last_active;
  static inline const char* name = "energy-unit";
};

energy_unit_api::behavior_type
unit_behavior(energy_unit_api::stateful_pointer<energy_unit_state> self, energy_unit_args args) {
  self->state.unit = std::make_unique<energy_unit>(args.db, args.clk, args.seq);
  if (args.slice)
    self->state.unit->set_slice(*args.slice);
  self->state.last_active = self->clock().now();
  auto sup = args.supervisor;
  self->monitor(sup);
  self->set_down_handler([self, sup](caf::down_msg& m) {
    if (m.source == sup.address())
      self->quit(m.reason);
  });
  auto idle = args.idle;
  if (idle.count() > 0)
    self->delayed_send(self, idle, tick_atom_v);
  return {
    [=](energy_atom, const unit_request& req) -> caf::result<unit_reply> {
      ++self->state.handled;
      self->state.last_active = self->clock().now();
      auto ans = self->state.unit->handle(req);
      if (ans.updates.empty())
        return std::move(ans.reply);
      // Answer once the graph has the new inputs: a query after this
      // answer sees them.
      auto rp = self->make_response_promise<unit_reply>();
      self->request(sup, caf::infinite, leaf_atom_v, std::move(ans.updates))
        .then([rp, reply = std::move(ans.reply)](bool) mutable { rp.deliver(std::move(reply)); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](slice_atom, const std::shared_ptr<const unit_slice>& s) {
      if (s)
        self->state.unit->set_slice(*s);
    },
    [=](tick_atom) {
      if (self->clock().now() - self->state.last_active >= idle)
        self->send(sup, idle_atom_v, self->state.unit->slice().node, self->state.handled);
      self->delayed_send(self, idle, tick_atom_v);
    },
    [=](retire_atom) { self->quit(); },
  };
}

}  // namespace

energy_unit_api spawn_energy_unit(caf::actor_system& sys, energy_unit_args args) {
  return sys.spawn(unit_behavior, std::move(args));
}

namespace {

unit_outcome refused(const failure& f) {
  unit_outcome o;
  o.code = f.code;
  o.message = f.message();
  return o;
}

std::vector<uint8_t> kinds_of(const std::vector<energy::counter_event>& events) {
  std::vector<uint8_t> out;
  out.reserve(events.size());
  for (const auto& e : events)
    out.push_back(static_cast<uint8_t>(e.kind));
  return out;
}

unit_outcome outcome_of(const expected<energy_unit::reading_result, failure>& r) {
  if (!r)
    return refused(r.error());
  unit_outcome o;
  o.fate = static_cast<uint8_t>(r->fate);
  o.events = kinds_of(r->events);
  return o;
}

}  // namespace

unit_answer energy_unit::handle(const unit_request& r) {
  unit_answer a;
  auto& out = a.reply.outcomes;
  switch (r.what) {
    case unit_request::op::enter_daily:
      for (const auto& e : r.entries) {
        auto res = enter_daily(e.id, epoch_day + e.day, e.value, r.who, e.note, a.updates);
        if (!res) {
          out.push_back(refused(res.error()));
          continue;
        }
        unit_outcome o;
        o.correction = res->second;
        o.entered_ms = res->first.entered_ms;
        out.push_back(std::move(o));
      }
      break;
    case unit_request::op::reading:
      if (r.readings.size() != 1) {
        out.push_back(refused(fail(errc::invalid_argument, "a reading request holds one reading")));
        break;
      }
      out.push_back(outcome_of(
        reading(r.target, r.readings[0].t_ms, r.readings[0].counter, a.updates, r.logged)));
      break;
    case unit_request::op::readings: {
      std::vector<std::pair<int64_t, double>> list;
      list.reserve(r.readings.size());
      for (const auto& x : r.readings)
        list.emplace_back(x.t_ms, x.counter);
      for (const auto& res : readings(r.target, list, a.updates))
        out.push_back(outcome_of(res));
      break;
    }
    case unit_request::op::swap: {
      auto ev = swap(r.target, r.t_ms, r.old_final, r.new_initial, a.updates);
      if (!ev) {
        out.push_back(refused(ev.error()));
        break;
      }
      unit_outcome o;
      o.events = kinds_of(*ev);
      out.push_back(std::move(o));
      break;
    }
  }
  return a;
}

}  // namespace plantd::actors
