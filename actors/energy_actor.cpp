#include "actors/energy_actor.hpp"

#include <algorithm>
#include <charconv>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"

namespace plantd::actors {
namespace {

using energy::failure;

failure fail(errc code, std::string msg) { return failure{code, {problem{"", std::move(msg)}}}; }

std::string day_text(absl::CivilDay d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

std::string hex16(uint64_t v) { return fmt::format("{:016x}", v); }

// Entries: value \n entered_ms \n who \n note (who has no newline).
std::string encode_entry(const daily_entry& e) {
  std::string who = e.who;
  std::replace(who.begin(), who.end(), '\n', ' ');
  return fmt::format("{}\n{}\n{}\n{}", e.value, e.entered_ms, who, e.note);
}

std::optional<daily_entry> decode_entry(std::string_view key, std::string_view v) {
  // key: entry/<id>/<YYYY-MM-DD>/<seq>
  daily_entry e;
  auto parts = std::vector<std::string_view>{};
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
  if (nl3 == std::string_view::npos) return std::nullopt;
  e.value = std::stod(std::string(v.substr(0, nl1)));
  e.entered_ms = std::stoll(std::string(v.substr(nl1 + 1, nl2 - nl1 - 1)));
  e.who = std::string(v.substr(nl2 + 1, nl3 - nl2 - 1));
  e.note = std::string(v.substr(nl3 + 1));
  return e;
}

} // namespace

energy_book::energy_book(std::shared_ptr<store::store> db, energy_codec codec, const clock* clk)
    : db_(std::move(db)), codec_(std::move(codec)), clk_(clk) {}

absl::Time energy_book::now() const {
  system_clock wall;
  return absl::FromUnixMillis((clk_ ? clk_->now() : wall.now()).time_since_epoch().count());
}

void energy_book::load() {
  model_ = energy::seeded_model();
  if (db_ && codec_.decode) {
    auto stored = db_->scan_energy("model");
    if (!stored.empty()) {
      auto m = codec_.decode(stored.front().second);
      if (m) model_ = std::move(*m);
      else spdlog::error("energy model in the store cannot be read ({}); starting from the seeded model", m.error());
    }
  }
  model_.reindex();
  if (!absl::LoadTimeZone(model_.ent.time_zone, &tz_)) tz_ = absl::UTCTimeZone();
  engine_ = std::make_unique<energy::engine>(tz_);
  engine_->load(model_);
  if (!db_) return;
  // Latest entry per (id, day): keys sort by seq within a day.
  for (const auto& [k, v] : db_->scan_energy("entry/"))
    if (auto e = decode_entry(k, v)) {
      engine_->set_day(e->id, e->day, {e->value, quality::manual});
      seq_ = std::max<uint64_t>(seq_, std::strtoull(k.substr(k.rfind('/') + 1).c_str(), nullptr, 16));
    }
  for (const auto& [k, v] : db_->scan_energy("hour/")) {
    // hour/<id>/<hour index hex> -> value \n quality
    auto slash = k.rfind('/');
    std::string id = k.substr(5, slash - 5);
    int64_t idx = static_cast<int64_t>(std::strtoull(k.substr(slash + 1).c_str(), nullptr, 16));
    auto nl = v.find('\n');
    if (nl == std::string::npos) continue;
    auto h = absl::CivilHour(1970, 1, 1, 0) + idx;
    engine_->set_hour(id, h, {std::stod(v.substr(0, nl)), static_cast<quality>(std::stoi(v.substr(nl + 1)))});
  }
  for (const auto& [k, v] : db_->scan_energy("counter/")) {
    auto nl = v.find('\n');
    if (nl == std::string::npos) continue;
    tracker(k.substr(8)).restore(std::stoll(v.substr(0, nl)), std::stod(v.substr(nl + 1)));
  }
}

energy::result energy_book::persist_model(const std::string& who, const std::string& what) {
  if (!db_ || !codec_.encode) return {};
  auto t = absl::ToUnixMillis(now());
  auto r = db_->put_energy({{"model", codec_.encode(model_)}},
                           fmt::format("energy/{}/{}", hex16(static_cast<uint64_t>(t)), hex16(++seq_)),
                           fmt::format("{}\n{}", who, what));
  if (!r) return unexpected{fail(errc::unavailable, "the store refused the change: " + r.error())};
  return {};
}

energy::result energy_book::change(const std::function<energy::result(energy::model&)>& f,
                                   const std::string& who, const std::string& what) {
  auto r = f(model_);
  if (!r) return r;
  if (auto p = persist_model(who, what); !p) return p;
  engine_->load(model_);
  trackers_.clear();
  if (db_)
    for (const auto& [k, v] : db_->scan_energy("counter/")) {
      auto nl = v.find('\n');
      if (nl != std::string::npos)
        tracker(k.substr(8)).restore(std::stoll(v.substr(0, nl)), std::stod(v.substr(nl + 1)));
    }
  return {};
}

energy::result energy_book::replace(energy::model m, const std::string& who) {
  m.reindex();
  auto p = m.check();
  if (!p.empty()) return unexpected{failure{errc::invalid_argument, p}};
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(m.ent.time_zone, &tz))
    return unexpected{fail(errc::invalid_argument, "unknown time zone " + m.ent.time_zone)};
  auto r = change([&](energy::model& cur) -> energy::result {
    cur = std::move(m);
    cur.reindex();
    return {};
  }, who, "import of the whole model");
  // Entries, hourly consumption and counters are kept by id: reload them
  // into a graph of the new model (in its time zone).
  if (r && db_) load();
  else if (r) {
    tz_ = tz;
    engine_ = std::make_unique<energy::engine>(tz_);
    engine_->load(model_);
  }
  return r;
}

expected<std::pair<daily_entry, bool>, failure> energy_book::enter_daily(
  const std::string& id, absl::CivilDay day, double value, const std::string& who,
  const std::string& note) {
  auto kind = engine_->leaf_kind(id);
  if (kind.empty()) return unexpected{fail(errc::not_found, fmt::format("no indicator or product {}", id))};
  if (kind != "manual" && kind != "production")
    return unexpected{fail(errc::invalid_argument,
                           fmt::format("{} is a {} indicator: daily values are entered for manual "
                                       "indicators and products",
                                       id, kind))};
  if (!std::isfinite(value))
    return unexpected{fail(errc::invalid_argument, "the value must be a number")};
  if (who.empty()) return unexpected{fail(errc::invalid_argument, "who entered it is required")};
  daily_entry e{id, day, value, who, absl::ToUnixMillis(now()), note, false};
  std::string prefix = fmt::format("entry/{}/{}/", id, day_text(day));
  bool correction = db_ && !db_->scan_energy(prefix).empty();
  if (db_) {
    auto r = db_->put_energy({{prefix + hex16(++seq_), encode_entry(e)}},
                             fmt::format("energy/{}/{}", hex16(static_cast<uint64_t>(e.entered_ms)), hex16(seq_)),
                             fmt::format("{}\n{} {} {} = {}", who, correction ? "correction" : "entry", id,
                                         day_text(day), value));
    if (!r) return unexpected{fail(errc::unavailable, "the store refused the entry: " + r.error())};
  }
  engine_->set_day(id, day, {value, quality::manual});
  return std::pair{e, correction};
}

std::vector<daily_entry> energy_book::entries(const std::string& id,
                                              std::optional<absl::CivilDay> from,
                                              std::optional<absl::CivilDay> to) const {
  std::vector<daily_entry> out;
  if (!db_) return out;
  for (const auto& [k, v] : db_->scan_energy(id.empty() ? "entry/" : "entry/" + id + "/")) {
    auto e = decode_entry(k, v);
    if (!e || (from && e->day < *from) || (to && e->day > *to)) continue;
    if (!out.empty() && out.back().id == e->id && out.back().day == e->day) out.back().superseded = true;
    out.push_back(std::move(*e));
  }
  return out;
}

energy::counter_tracker& energy_book::tracker(const std::string& meter) {
  auto it = trackers_.find(meter);
  if (it != trackers_.end()) return it->second;
  double rollover = 0, mult = 1;
  if (auto m = model_.meters.find(meter); m != model_.meters.end()) {
    rollover = m->second.counter_rollover;
    mult = m->second.ct_ratio * m->second.pt_ratio;
  }
  return trackers_.emplace(meter, energy::counter_tracker(rollover, mult)).first->second;
}

expected<std::vector<energy::counter_event>, failure> energy_book::apply_shares(
  const std::string& meter, const std::vector<energy::hour_share>& shares,
  std::vector<energy::counter_event> events, int64_t t_ms, double counter) {
  std::vector<std::pair<std::string, std::string>> kvs;
  kvs.emplace_back("counter/" + meter, fmt::format("{}\n{}", t_ms, counter));
  auto unit_scale = [&](const std::string& ind) {
    auto u = energy::parse_unit(model_.templates.at(model_.indicators.at(ind).template_id).unit);
    auto mu = energy::parse_unit(model_.energy_types.at(model_.meters.at(meter).energy_type).unit);
    return u && mu ? mu->scale / u->scale : 1.0;
  };
  for (const auto& ind : model_.indicators_of(meter)) {
    if (model_.indicators.at(ind).source != energy::source_kind::meter) continue;
    double f = unit_scale(ind);
    for (const auto& s : shares) {
      engine_->add_hour(ind, s.hour, s.amount * f, s.q);
      auto idx = s.hour - absl::CivilHour(1970, 1, 1, 0);
      auto r = engine_->hour_input(ind, s.hour);
      kvs.emplace_back(fmt::format("hour/{}/{}", ind, hex16(static_cast<uint64_t>(idx))),
                       fmt::format("{}\n{}", r.value, static_cast<int>(r.quality)));
    }
  }
  if (db_) {
    auto r = db_->put_energy(kvs);
    if (!r) return unexpected{fail(errc::unavailable, "the store refused the reading: " + r.error())};
  }
  return events;
}

expected<std::vector<energy::counter_event>, failure> energy_book::reading(const std::string& meter,
                                                                           int64_t t_ms,
                                                                           double counter) {
  if (!model_.meters.count(meter)) return unexpected{fail(errc::not_found, "no meter " + meter)};
  if (!std::isfinite(counter) || counter < 0)
    return unexpected{fail(errc::invalid_argument, "a counter reading is a number >= 0")};
  std::vector<energy::counter_event> events;
  auto shares = tracker(meter).reading(t_ms, counter, tz_, &events);
  return apply_shares(meter, shares, std::move(events), t_ms, counter);
}

expected<std::vector<energy::counter_event>, failure> energy_book::swap(const std::string& meter,
                                                                        int64_t t_ms,
                                                                        double old_final,
                                                                        double new_initial) {
  if (!model_.meters.count(meter)) return unexpected{fail(errc::not_found, "no meter " + meter)};
  std::vector<energy::counter_event> events;
  auto shares = tracker(meter).swap(t_ms, old_final, new_initial, tz_, &events);
  return apply_shares(meter, shares, std::move(events), t_ms, new_initial);
}

void energy_book::live(const std::string& source, int64_t t_ms, double wh) {
  for (const auto& [id, m] : model_.meters) {
    if (m.live_source != source) continue;
    auto u = energy::parse_unit(model_.energy_types.at(m.energy_type).unit);
    double counter = u && u->scale > 0 ? wh * 0.0036 / u->scale : wh;
    auto r = reading(id, t_ms, counter);
    if (!r) spdlog::warn("energy: live reading of meter {}: {}", id, r.error().message());
  }
}

namespace {

struct energy_state {
  std::unique_ptr<energy_book> book;
  int64_t last_live_ms = 0;
  static inline const char* name = "energy";
};

caf::behavior energy_behavior(caf::stateful_actor<energy_state>* self, energy_actor_args args) {
  self->state.book = std::make_unique<energy_book>(args.db, args.codec, args.clk);
  self->state.book->load();
  return {
    [=](energy_atom, const energy_request& req) -> caf::result<std::string> {
      auto [code, bytes] = req.run(*self->state.book);
      if (code != errc::ok) return caf::make_error(code, bytes);
      return bytes;
    },
    [=](const plant_state& s) {
      // Counters once every 10 s are plenty for hourly consumption.
      int64_t t = s.time.time_since_epoch().count();
      if (t - self->state.last_live_ms < 10'000) return;
      self->state.last_live_ms = t;
      if (s.grid_import_wh.usable()) self->state.book->live("grid.import", t, s.grid_import_wh.value);
      if (s.grid_export_wh.usable()) self->state.book->live("grid.export", t, s.grid_export_wh.value);
    },
  };
}

} // namespace

caf::actor spawn_energy_actor(caf::actor_system& sys, energy_actor_args args) {
  return sys.spawn(energy_behavior, std::move(args));
}

} // namespace plantd::actors
