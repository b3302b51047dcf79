#include "actors/energy_actor.hpp"

#include <algorithm>
#include <charconv>
#include <malloc.h>
#include <set>
#include <tuple>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "drivers/store/energy_records.hpp"

namespace plantd::actors {
namespace {

using energy::failure;

failure fail(errc code, std::string msg) {
  return failure{code, {problem{"", std::move(msg)}}};
}

namespace records = store::energy_records;
using records::hex16;

// The model document: a header naming the last journal entry it holds,
// then the model as the codec encodes it. (A document from before the
// journal has no header: every entry comes after it.)
constexpr std::string_view document_header = "plantd energy model; journal to ";

std::string with_header(uint64_t journal_seq, std::string body) {
  return fmt::format("{}{}\n", document_header, hex16(journal_seq)) + std::move(body);
}

// The journal entry a document holds up to (none: a document without the
// header, from a plantd before the journal), and the encoded model.
std::pair<std::optional<uint64_t>, std::string_view> split_document(std::string_view doc) {
  if (!doc.starts_with(document_header))
    return {std::nullopt, doc};
  auto nl = doc.find('\n');
  auto hex = doc.substr(document_header.size(), nl - document_header.size());
  uint64_t seq = 0;
  std::from_chars(hex.data(), hex.data() + hex.size(), seq, 16);
  return {seq, nl == std::string_view::npos ? std::string_view{} : doc.substr(nl + 1)};
}

// A journal entry: a line "put|del <kind> <id>" per record changed, an
// empty line, and the records put as a model of just them (encoded by the
// codec).
std::string journal_entry(const energy::model& m, const std::vector<energy::model::change>& changes,
                          const energy_codec& codec) {
  energy::model part;
  part.ent = m.ent;
  std::string head;
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const auto& c : changes) {
    if (!seen.emplace(c.kind, c.id).second)
      continue;
    bool put = false;
    if (c.kind == "enterprise") {
      put = true;
    } else if (c.kind == "energy_type") {
      if (auto it = m.energy_types.find(c.id); (put = it != m.energy_types.end()))
        part.energy_types[c.id] = it->second;
    } else if (c.kind == "node") {
      if (auto it = m.nodes.find(c.id); (put = it != m.nodes.end()))
        part.nodes[c.id] = it->second;
    } else if (c.kind == "meter") {
      if (auto it = m.meters.find(c.id); (put = it != m.meters.end()))
        part.meters[c.id] = it->second;
    } else if (c.kind == "product") {
      if (auto it = m.products.find(c.id); (put = it != m.products.end()))
        part.products[c.id] = it->second;
    } else if (c.kind == "template") {
      if (auto it = m.templates.find(c.id); (put = it != m.templates.end()))
        part.templates[c.id] = it->second;
    } else if (c.kind == "indicator") {
      if (auto it = m.indicators.find(c.id); (put = it != m.indicators.end()))
        part.indicators[c.id] = it->second;
    }
    head += fmt::format("{} {} {}\n", put ? "put" : "del", c.kind, c.id);
  }
  return head + "\n" + codec.encode(part);
}

// Applies a journal entry to `m` (its indexes are rebuilt by the caller):
// every line is checked first, so an entry that cannot be read changes
// nothing.
expected<void, std::string> apply_entry(energy::model& m, std::string_view entry,
                                        const energy_codec& codec) {
  auto end = entry.find("\n\n");
  if (end == std::string_view::npos)
    return unexpected{std::string("no record list")};
  auto part = codec.decode(entry.substr(end + 2));
  if (!part)
    return unexpected{part.error()};
  static const std::set<std::string_view> kinds{"enterprise", "energy_type", "node",     "meter",
                                                "product",    "template",    "indicator"};
  struct op {
    bool put;
    std::string kind, id;
  };
  std::vector<op> ops;
  auto head = entry.substr(0, end + 1);
  while (!head.empty()) {
    auto nl = head.find('\n');
    auto line = head.substr(0, nl);
    head.remove_prefix(nl + 1);
    auto a = line.find(' ');
    auto b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos || (line.substr(0, a) != "put" && line.substr(0, a) != "del")
        || !kinds.count(line.substr(a + 1, b - a - 1)))
      return unexpected{fmt::format("a bad record line \"{}\"", line)};
    op o{line.substr(0, a) == "put", std::string(line.substr(a + 1, b - a - 1)),
         std::string(line.substr(b + 1))};
    auto has = [&](const auto& from) { return from.find(o.id) != from.end(); };
    bool found =
      o.kind == "enterprise" || !o.put || (o.kind == "energy_type" && has(part->energy_types))
      || (o.kind == "node" && has(part->nodes)) || (o.kind == "meter" && has(part->meters))
      || (o.kind == "product" && has(part->products))
      || (o.kind == "template" && has(part->templates))
      || (o.kind == "indicator" && has(part->indicators));
    if (!found)
      return unexpected{fmt::format("the record {} {} is not in the entry", o.kind, o.id)};
    ops.push_back(std::move(o));
  }
  for (const auto& o : ops) {
    auto apply = [&](auto& into, const auto& from) {
      if (o.put)
        into[o.id] = from.find(o.id)->second;
      else
        into.erase(o.id);
    };
    if (o.kind == "enterprise")
      m.ent = part->ent;
    else if (o.kind == "energy_type")
      apply(m.energy_types, part->energy_types);
    else if (o.kind == "node")
      apply(m.nodes, part->nodes);
    else if (o.kind == "meter")
      apply(m.meters, part->meters);
    else if (o.kind == "product")
      apply(m.products, part->products);
    else if (o.kind == "template")
      apply(m.templates, part->templates);
    else
      apply(m.indicators, part->indicators);
  }
  return {};
}

}  // namespace

energy_book::energy_book(std::shared_ptr<store::store> db, energy_codec codec, const clock* clk,
                         uint32_t hourly_days)
  : db_(std::move(db)),
    codec_(std::move(codec)),
    clk_(clk),
    hourly_days_(std::max<uint32_t>(hourly_days, 1)) {}

void energy_book::roll_hours() {
  absl::CivilDay today(absl::ToCivilSecond(now(), tz_));
  engine_->keep_hours_from(today - (hourly_days_ - 1));
}

absl::Time energy_book::now() const {
  system_clock wall;
  return absl::FromUnixMillis((clk_ ? clk_->now() : wall.now()).time_since_epoch().count());
}

void energy_book::load() {
  view_.reset();  // the model is read anew (held views stay as they were)
  live_.reset();
  model_ = energy::seeded_model();
  if (db_ && codec_.decode) {
    // The model document; a store from before documents has it as a key.
    // A model that exists but cannot be read is never overwritten: plantd
    // serves the seeded model and refuses changes until it is fixed.
    unreadable_.clear();
    auto doc = db_->get_document("energy-model");
    std::optional<std::string> stored;
    bool from_document = doc && doc->has_value();
    if (!doc)
      unreadable_ = doc.error().message;
    else
      stored = *doc ? std::move(*doc) : db_->get_energy("model");
    // A change's audit record is written before its file: a stop in
    // between leaves a record of a change the file does not have. The file
    // is the model; the trail says so.
    std::optional<uint64_t> base;
    std::string_view body;
    if (stored)
      std::tie(base, body) = split_document(*stored);
    if (from_document && stored && !db_->document_current("energy-model", *stored)) {
      auto t = absl::ToUnixMillis(now());
      auto r = db_->adopt_document(
        // Its own sequence number: the counter is not restored yet.
        "energy-model", *stored, records::audit_key(t, UINT64_MAX),
        records::audit_record("plantd",
                              "recovery: the change recorded before this one did not reach the "
                              "model file (plantd stopped while writing it); the model is as it "
                              "was before that change"));
      spdlog::warn(
        "energy: the last recorded model change did not reach the model file; kept the file{}",
        r ? "" : " (the recovery record failed: " + r.error().message + ")");
    }
    have_document_ = false;
    journal_seq_ = 0;
    journal_bytes_ = journal_entries_ = 0;
    if (stored) {
      auto m = codec_.decode(body);
      if (m) {
        model_ = std::move(*m);
        // A document without the header (a plantd before the journal, or
        // one run after a downgrade) holds every change: journal entries
        // found beside it are older and are not applied. The next change
        // writes the document, with the header, and drops them.
        have_document_ = from_document && base.has_value();
        journal_seq_ = base.value_or(0);
        if (have_document_)
          if (auto why = replay_journal(*base); !why.empty())
            unreadable_ = why;
      } else {
        unreadable_ = "cannot decode the stored energy model: " + m.error();
      }
    }
    if (!unreadable_.empty())
      spdlog::error("{}; serving the model as far as it could be read (the seeded one when none "
                    "could) and refusing model changes until it is fixed",
                    unreadable_);
  }
  model_.reindex();
  model_.take_changes();  // (the seeded model's puts are not changes)
  if (!absl::LoadTimeZone(model_.ent.time_zone, &tz_))
    tz_ = absl::UTCTimeZone();
  engine_ = std::make_unique<energy::engine>(tz_);
  engine_->load(model_);
  roll_hours();  // older stored hours go straight into their days' sums
  ::malloc_trim(0);
  if (!db_)
    return;
  // Latest entry per (id, day): keys sort by seq within a day.
  // Streamed: years of hourly inputs are never all copied at once.
  db_->each_energy(records::all_entries, [&](std::string_view k, std::string_view v) {
    if (auto e = records::decode_entry(k, v)) {
      engine_->set_day(e->id, e->day, {e->value, quality::manual});
      *seq_ = std::max<uint64_t>(*seq_, records::entry_seq(k));
    }
    return true;
  });
  std::string id;
  db_->each_energy(records::all_hours, [&](std::string_view k, std::string_view v) {
    auto h = records::decode_hour(k, v);
    if (!h) {
      spdlog::warn("energy: skipping the unreadable stored hour {}", k);
      return true;
    }
    id.assign(h->id);
    engine_->set_hour(id, h->hour(), h->r);
    return true;
  });
  ++version_;
}

expected<std::vector<energy::query_series>, energy::failure>
energy_book::query(const energy::query_spec& q) {
  auto plan = energy::plan_query(model_, q);
  if (!plan)
    return unexpected{plan.error()};
  roll_hours();
  energy::engine* eng = engine_.get();
  std::unique_ptr<energy::engine> past;
  auto first = absl::CivilDay(energy::start_of({q.res, q.first}));
  if (auto held = engine_->hours_kept_from(); held && first < *held) {
    bool hours = q.res == energy::resolution::hour;
    if (hours || engine_->inputs_of(plan->known).time_varying_coefficients) {
      auto today = absl::CivilDay(absl::ToCivilSecond(now(), tz_));
      auto last =
        std::max(first, std::min(today, absl::CivilDay(energy::end_of({q.res, q.last}) - 1)));
      auto e = graph_from_store(plan->known, first, last);
      if (e) {
        past = std::move(*e);
        eng = past.get();
      } else if (hours) {
        return unexpected{e.error()};
      }
    }
  }
  return energy::evaluate(model_, *eng, *plan, q, now());
}

expected<std::unique_ptr<energy::engine>, energy::failure>
energy_book::graph_from_store(const std::vector<std::string>& ids, absl::CivilDay from,
                              absl::CivilDay to) const {
  auto fail = [](errc c, std::string m) {
    return unexpected<energy::failure>{energy::failure{c, {problem{"from", std::move(m)}}}};
  };
  if (!db_)
    return fail(errc::failed_precondition,
                "hours before the held window are read from the store; there is none");
  auto in = engine_->inputs_of(ids);
  auto days = static_cast<std::size_t>(to - from + 1);
  if (in.hourly.size() * days > past_hours_budget_)
    return fail(
      errc::failed_precondition,
      fmt::format(
        "hours before {} are read back from the store: this query needs {} meters x {} days, "
        "at most {} meter-days at once; ask for fewer days or indicators, or for days",
        absl::FormatCivilTime(engine_->hours_kept_from().value_or(from)), in.hourly.size(), days,
        past_hours_budget_));
  auto e = std::make_unique<energy::engine>(tz_);
  e->load(model_);
  auto idx = [](absl::CivilDay d) { return absl::CivilHour(d) - absl::CivilHour(1970, 1, 1, 0); };
  for (const auto& id : in.hourly) {
    auto prefix = records::hours_of(id);
    auto end = records::hour_key(id, idx(to + 1));
    db_->each_energy(
      prefix,
      [&](std::string_view k, std::string_view v) {
        if (k >= end)
          return false;
        if (auto h = records::decode_hour(k, v))
          e->set_hour(id, h->hour(), h->r);
        return true;
      },
      records::hour_key(id, idx(from)));
  }
  // Entries: the latest of each day (keys sort by sequence within a day).
  for (auto id : in.daily) {
    if (id.rfind("product:", 0) == 0)
      id.erase(0, 8);
    auto prefix = records::entries_of(id);
    auto end = records::entries_of(id, to + 1);
    db_->each_energy(
      prefix,
      [&](std::string_view k, std::string_view v) {
        if (k >= end)
          return false;
        if (auto x = records::decode_entry(k, v))
          e->set_day(id, x->day, {x->value, quality::manual});
        return true;
      },
      records::entries_of(id, from));
  }
  return e;
}

std::vector<audit_entry> read_energy_audit(const store::store* db, int64_t from_ms, int64_t to_ms) {
  std::vector<audit_entry> out;
  if (!db)
    return out;
  for (const auto& [k, v] : db->audit(records::all_audit)) {
    auto r = records::decode_audit(k, v);
    if (!r || r->time_ms < from_ms || r->time_ms >= to_ms)
      continue;
    audit_entry a;
    a.time_ms = r->time_ms;
    a.who = std::move(r->who);
    a.what = std::move(r->what);
    a.before = std::move(r->before);
    a.after = std::move(r->after);
    out.push_back(std::move(a));
  }
  return out;
}

std::pair<std::string, std::string> energy_book::audit_record(const std::string& who,
                                                              const std::string& what,
                                                              const std::string& before,
                                                              const std::string& after) {
  auto t = absl::ToUnixMillis(now());
  return {records::audit_key(t, ++*seq_), records::audit_record(who, what, before, after)};
}

energy::result energy_book::persist_model(const std::string& who, const std::string& what,
                                          const std::string& before, const std::string& after) {
  if (!db_ || !codec_.encode)
    return {};
  if (!unreadable_.empty())
    return unexpected{
      fail(errc::unavailable,
           unreadable_ + "; the model is not changed so that the stored one is kept")};
  // Journal entries beside a document without the header are older than
  // it and were never applied: gone for good before the new document (with
  // the header) could count them as its own.
  if (!have_document_) {
    std::vector<std::pair<std::string, std::string>> stale;
    db_->each_energy(records::all_journal, [&](std::string_view k, std::string_view) {
      stale.emplace_back(std::string(k), std::string());
      return true;
    });
    if (!stale.empty())
      if (auto d = db_->put_energy(stale, {}, {}, true); !d)
        return unexpected{
          fail(d.error().code, "the store refused the change: " + d.error().message)};
    journal_seq_ = 0;
  }
  auto [akey, arec] = audit_record(who, what, before, after);
  auto r =
    db_->put_document("energy-model", with_header(journal_seq_, codec_.encode(model_)), akey, arec);
  if (!r)
    return unexpected{fail(r.error().code, "the store refused the change: " + r.error().message)};
  if (!legacy_model_removed_) {  // the document replaces a model kept as a key
    if (db_->put_energy({{"model", ""}}))
      legacy_model_removed_ = true;
  }
  // The journal's entries are in the document now. (Left behind by a stop,
  // they are passed over at the next load: the document names the last.)
  have_document_ = true;
  journal_bytes_ = journal_entries_ = 0;
  std::vector<std::pair<std::string, std::string>> gone;
  db_->each_energy(records::all_journal, [&](std::string_view k, std::string_view) {
    gone.emplace_back(std::string(k), std::string());
    return true;
  });
  if (!gone.empty())
    if (auto d = db_->put_energy(gone); !d)
      spdlog::warn("energy: the model journal is in the document, but its entries stay: {}",
                   d.error().message);
  return {};
}

energy::result energy_book::persist_changes(const std::vector<energy::model::change>& changes,
                                            const std::string& who, const std::string& what,
                                            const std::string& before, const std::string& after) {
  auto entry = journal_entry(model_, changes, codec_);
  auto [akey, arec] = audit_record(who, what, before, after);
  auto key = records::journal_key(journal_seq_ + 1);
  // Synced, as the model file is: an answered change survives a power cut.
  if (auto r = db_->put_energy({{key, entry}}, akey, arec, true); !r)
    return unexpected{fail(r.error().code, "the store refused the change: " + r.error().message)};
  ++journal_seq_;
  journal_bytes_ += entry.size();
  ++journal_entries_;
  if (journal_bytes_ > journal_max_bytes || journal_entries_ > journal_max_entries)
    // Recorded like a change (a stop while it is written is then told as
    // one), though the model does not change.
    if (auto c = persist_model("plantd",
                               "the model file written again from its journal of changes (the "
                               "model is the same)");
        !c)  // the journal stays: nothing is lost
      spdlog::warn("energy: writing the model document failed: {}", c.error().message());
  return {};
}

std::string energy_book::replay_journal(uint64_t base) {
  std::string why;
  db_->each_energy(records::all_journal, [&](std::string_view k, std::string_view v) {
    auto seq = records::journal_seq(k).value_or(0);
    if (seq <= base)
      return true;  // in the document already
    if (auto r = apply_entry(model_, v, codec_); !r) {
      why = fmt::format("cannot apply the model journal's entry {}: {}", k, r.error());
      return false;
    }
    journal_seq_ = std::max(journal_seq_, seq);
    journal_bytes_ += v.size();
    ++journal_entries_;
    return true;
  });
  return why;
}

energy::result
energy_book::change(const std::function<energy::result(energy::model&)>& f, const std::string& who,
                    const std::string& what,
                    const std::function<std::string(const energy::model&)>& snapshot) {
  std::string before = snapshot ? snapshot(model_) : std::string();
  auto r = f(model_);
  if (!r)
    return r;
  auto changes = model_.take_changes();
  std::string after = snapshot ? snapshot(model_) : std::string();
  // A change of some records goes to the journal; one that names none (made
  // some other way) or very many writes the whole document.
  bool journal = db_ && codec_.encode && codec_.decode && have_document_ && unreadable_.empty()
                 && !changes.empty() && changes.size() <= 1000;
  auto p = journal ? persist_changes(changes, who, what, before, after)
                   : persist_model(who, what, before, after);
  if (!p) {
    load();  // the change is not kept: back to the stored model
    return p;
  }
  // Only a change that can alter the graph recompiles it (a rename, a new
  // meter cannot); new prices or coefficients are read again, the graph
  // kept.
  bool structural =
    changes.empty()
    || std::any_of(changes.begin(), changes.end(), [](const auto& c) { return c.structural; });
  if (!structural
      && std::any_of(changes.begin(), changes.end(), [](const auto& c) { return c.coefficients; }))
    structural = !engine_->reload_coefficients(model_);
  if (structural) {
    engine_->load(model_);
    ::malloc_trim(0);  // compiling freed the parse trees and the old graph
  }
  ++version_;
  view_.reset();  // held by the calls reading it, if any
  live_.reset();
  return {};
}

energy::result energy_book::replace(energy::model m, const std::string& who) {
  m.reindex();
  auto p = m.check();
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(m.ent.time_zone, &tz))
    return unexpected{fail(errc::invalid_argument, "unknown time zone " + m.ent.time_zone)};
  // The audit keeps what the import replaced and brought in by count (the
  // whole model is megabytes; the model file holds it).
  auto counts = [](const energy::model& x) {
    return fmt::format(
      R"({{"energy_types":{},"templates":{},"nodes":{},"meters":{},"indicators":{},"products":{}}})",
      x.energy_types.size(), x.templates.size(), x.nodes.size(), x.meters.size(),
      x.indicators.size(), x.products.size());
  };
  auto r = change(
    [&](energy::model& cur) -> energy::result {
      cur = std::move(m);
      cur.reindex();
      return {};
    },
    who, "import of the whole model", counts);
  // Entries and hourly consumption are kept by id (counters by the units):
  // reload them into a graph of the new model (in its time zone).
  if (r && db_)
    load();
  else if (r) {
    tz_ = tz;
    engine_ = std::make_unique<energy::engine>(tz_);
    engine_->load(model_);
    roll_hours();
  }
  return r;
}

void energy_book::apply(const std::vector<leaf_update>& updates) {
  roll_hours();
  for (const auto& u : updates) {
    reading r{u.value, u.q};
    if (u.hourly)
      engine_->set_hour(u.id, absl::CivilHour(1970, 1, 1, 0) + u.index, r, u.before);
    else
      engine_->set_day(u.id, absl::CivilDay(1970, 1, 1) + u.index, r);
  }
}

std::vector<std::pair<std::string, double>> energy_book::live_readings(const std::string& source,
                                                                       double wh) const {
  if (!live_) {
    live_.emplace();
    for (const auto& [id, m] : model_.meters) {
      if (m.live_source.empty())
        continue;
      auto u = energy::parse_unit(model_.energy_types.at(m.energy_type).unit);
      (*live_)[std::string(m.live_source)].emplace_back(id, u && u->scale > 0 ? u->scale : 0.0);
    }
  }
  std::vector<std::pair<std::string, double>> out;
  if (auto it = live_->find(source); it != live_->end())
    for (const auto& [id, scale] : it->second)
      out.emplace_back(id, scale > 0 ? wh * 0.0036 / scale : wh);
  return out;
}

namespace {

struct unit_ref {
  energy_unit_api actor;
  uint64_t delegated = 0;  // requests sent to it
};

struct energy_state {
  std::unique_ptr<energy_book> book;
  int64_t last_live_ms = 0;
  bool trim_pending = false;
  std::unordered_map<std::string, unit_ref> units;  // by node id
  uint64_t version = 0;                             // of the model the units' slices come from
  static inline const char* name = "energy";
};

using self_ptr = energy_api::stateful_pointer<energy_state>;

unit_ref& unit_for(self_ptr self, const std::string& node, std::chrono::milliseconds idle) {
  auto& st = self->state;
  auto it = st.units.find(node);
  if (it != st.units.end())
    return it->second;
  energy_unit_args a;
  a.db = st.book->db();
  a.clk = st.book->clk();
  a.seq = st.book->seq();
  a.supervisor = caf::actor_cast<energy_unit_sink>(self);
  a.slice = std::make_shared<const unit_slice>(slice_of(st.book->model(), node, st.book->tz()));
  a.idle = st.book->db()
             ? idle
             : std::chrono::milliseconds{0};  // without a store a unit's state is its memory
  auto u = spawn_energy_unit(self->system(), std::move(a));
  self->monitor(u);
  return st.units.emplace(node, unit_ref{u, 0}).first->second;
}

// After a model change: every unit alive gets its new slice, or retires
// when its node is gone.
void refresh_units(self_ptr self) {
  auto& st = self->state;
  if (st.book->version() == st.version)
    return;
  st.version = st.book->version();
  for (auto it = st.units.begin(); it != st.units.end();) {
    if (!st.book->model().nodes.count(it->first)) {
      self->send(it->second.actor, retire_atom_v);
      it = st.units.erase(it);
      continue;
    }
    self->send(
      it->second.actor, slice_atom_v,
      std::make_shared<const unit_slice>(slice_of(st.book->model(), it->first, st.book->tz())));
    ++it;
  }
}

caf::result<unit_reply> delegate_to_unit(self_ptr self, const unit_request& req,
                                         std::chrono::milliseconds idle) {
  auto node = node_of(self->state.book->model(), req.target);
  if (node.empty())
    return caf::make_error(errc::not_found,
                           fmt::format("no indicator, product or meter {}", req.target));
  auto& u = unit_for(self, node, idle);
  ++u.delegated;
  auto rp = self->make_response_promise<unit_reply>();
  return rp.delegate(u.actor, energy_atom_v, req);
}

// After a model request: units get the new model's slices; a change (an
// import above all) leaves its request's decoded records freed only after
// the reply: the heap goes back a little later (a 100,000-node import: 238
// -> 122 MB RSS).
void model_changed(self_ptr self, uint64_t before) {
  refresh_units(self);
  if (self->state.book->version() != before && !self->state.trim_pending) {
    self->state.trim_pending = true;
    self->delayed_send(self, std::chrono::seconds{2}, tick_atom_v);
  }
}

energy_api::behavior_type energy_behavior(self_ptr self, energy_actor_args args) {
  self->state.book = std::make_unique<energy_book>(args.db, args.codec, args.clk, args.hourly_days);
  self->state.book->load();
  self->state.version = self->state.book->version();
  if (args.on_book)
    args.on_book(self->state.book.get());
  // Hours leave the window held in memory with the day, also on a day
  // without inputs or queries.
  self->delayed_send(self, std::chrono::hours{1}, roll_atom_v);
  auto idle = args.unit_idle;
  self->set_down_handler([self](caf::down_msg& m) {
    auto& units = self->state.units;
    for (auto it = units.begin(); it != units.end(); ++it)
      if (it->second.actor.address() == m.source) {
        if (m.reason)
          spdlog::warn("energy unit {} stopped: {}", it->first, caf::to_string(m.reason));
        units.erase(it);
        return;
      }
  });
  return {
    [=](energy_atom, model_atom) { return self->state.book->view(); },
    [=](energy_atom, const record_request& q) { return self->state.book->record(q.kind, q.id); },
    [=](energy_atom, const uses_request& q) {
      return uses_answer{self->state.book->model().uses_of(q.kind, q.id)};
    },
    [=](energy_atom, const model_edit& e) -> caf::result<model_edited> {
      auto before = self->state.book->version();
      auto done = self->state.book->edit(e);
      model_changed(self, before);
      if (!done)
        return caf::make_error(done.error().code, done.error().message());
      return *done;
    },
    [=](energy_atom, const model_replace& r) -> caf::result<model_edited> {
      auto& book = *self->state.book;
      auto before = book.version();
      auto done = book.replace(*r.model, r.who);
      model_changed(self, before);
      if (!done)
        return caf::make_error(done.error().code, done.error().message());
      model_edited out;
      out.version = book.version();
      out.indicators = static_cast<uint32_t>(book.model().indicators.size());
      return out;
    },
    [=](energy_atom, const audit_request& q) {
      audit_answer a;
      a.records = read_energy_audit(self->state.book->db().get(), q.from_ms, q.to_ms);
      if (a.records.size() > q.limit)
        a.records.erase(a.records.begin(), a.records.end() - static_cast<std::ptrdiff_t>(q.limit));
      return a;
    },
    [=](energy_atom, const unit_request& req) -> caf::result<unit_reply> {
      return delegate_to_unit(self, req, idle);
    },
    [=](energy_atom, const entries_request& r) -> entries_answer {
      auto& book = *self->state.book;
      entries_answer a;
      a.time_zone = book.model().ent.time_zone;
      const absl::CivilDay epoch(1970, 1, 1);
      auto day = [&](int64_t d, int64_t none) {
        return d == none ? std::nullopt : std::optional<absl::CivilDay>(epoch + d);
      };
      for (auto& e :
           read_entries(book.db().get(), r.id, day(r.from, INT64_MIN), day(r.to, INT64_MAX)))
        a.entries.push_back({std::move(e.id), e.day - epoch, e.value, std::move(e.who),
                             e.entered_ms, std::move(e.note), e.superseded});
      return a;
    },
    [=](energy_atom, const energy_query& q) -> caf::result<energy_answer> {
      auto& book = *self->state.book;
      auto series = book.query(q.spec);
      if (!series)
        return caf::make_error(series.error().code, series.error().message());
      return energy_answer{std::move(*series), book.model().ent.language,
                           book.model().ent.time_zone};
    },
    [=](leaf_atom, const std::vector<leaf_update>& updates) {
      self->state.book->apply(updates);
      return true;
    },
    [=](idle_atom, const std::string& node, uint64_t handled) {
      // Retire only a unit with nothing in flight: every request sent to it
      // was handled, so the retire message is the last it gets.
      auto it = self->state.units.find(node);
      if (it == self->state.units.end() || it->second.actor.address() != self->current_sender())
        return;
      if (it->second.delegated != handled)
        return;
      self->send(it->second.actor, retire_atom_v);
      self->state.units.erase(it);
    },
    [=](units_atom) { return static_cast<uint64_t>(self->state.units.size()); },
    [=](roll_atom) {
      self->state.book->roll_hours();
      self->delayed_send(self, std::chrono::hours{1}, roll_atom_v);
    },
    [=](tick_atom) {
      self->state.trim_pending = false;
      ::malloc_trim(0);
    },
    [=](const plant_state& s) {
      // Counters once every 10 s are plenty for hourly consumption.
      int64_t t = s.time.time_since_epoch().count();
      if (t - self->state.last_live_ms < 10'000)
        return;
      self->state.last_live_ms = t;
      auto send_live = [&](const char* source, double wh) {
        for (const auto& [meter, counter] : self->state.book->live_readings(source, wh)) {
          unit_request req;
          req.what = unit_request::op::reading;
          req.target = meter;
          req.readings = {{t, counter}};
          req.logged = false;
          auto node = node_of(self->state.book->model(), meter);
          auto& unit = unit_for(self, node, idle);
          ++unit.delegated;
          self->request(unit.actor, caf::infinite, energy_atom_v, std::move(req))
            .then(
              [meter = meter](const unit_reply& r) {
                for (const auto& o : r.outcomes)
                  if (o.code != errc::ok)
                    spdlog::warn("energy: live reading of meter {}: {}", meter, o.message);
              },
              [meter = meter](caf::error& e) {
                spdlog::warn("energy: live reading of meter {}: {}", meter, caf::to_string(e));
              });
        }
      };
      if (s.grid_import_wh.usable())
        send_live("grid.import", s.grid_import_wh.value);
      if (s.grid_export_wh.usable())
        send_live("grid.export", s.grid_export_wh.value);
      // Sub-meters: only while they answer (a silent one leaves its hours
      // missing; its next reading spreads the gap over them, estimated).
      for (const auto& sm : s.sub_meters) {
        if (!sm.available)
          continue;
        if (sm.import_wh.usable())
          send_live(("meter." + sm.id).c_str(), sm.import_wh.value);
        if (sm.export_wh.usable())
          send_live(("meter." + sm.id + ".export").c_str(), sm.export_wh.value);
      }
    },
  };
}

}  // namespace

energy_api spawn_energy_actor(caf::actor_system& sys, energy_actor_args args) {
  return sys.spawn(energy_behavior, std::move(args));
}

}  // namespace plantd::actors
