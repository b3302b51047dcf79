// The energy supervisor: owns the enterprise model and its formula graph
// (model/energy), keeps them in the store, and makes the model's changes
// and the queries of EnergyCarbonService one at a time; reads of the whole
// model (an export, a check) run off the actor on a shared snapshot of it
// (model_view). Requests for one node
// (daily entries, meter readings) go to that node's energy unit
// (energy_unit.hpp), spawned on demand; units write their inputs and send
// them back here, where the graph re-computes what depends on them.
//
// Its interface: energy_api below.
//
// The book is the actor's state and does the work; the actor serializes it.
// The model's persistent encoding is given by the caller (services encode it
// as the EnergyModel proto) so this layer stays free of protos.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/energy_unit.hpp"
#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"
#include "model/common/clock.hpp"
#include "model/energy/engine.hpp"
#include "model/energy/model.hpp"
#include "model/energy/query.hpp"

namespace plantd::actors {

struct energy_codec {
  std::function<std::string(const energy::model&)> encode;
  std::function<expected<energy::model, std::string>(std::string_view)> decode;
  // The text of one record (kind as model_record names it; "" = there is
  // none), for the audit's before and after. Unset: no texts.
  std::function<std::string(const energy::model&, const std::string& kind, const std::string& id)>
    record;
};

// The audit records from `from_ms` to `to_ms` (inclusive), oldest first.
std::vector<audit_entry> read_energy_audit(const store::store* db, int64_t from_ms, int64_t to_ms);

class energy_book {
public:
  energy_book(std::shared_ptr<store::store> db, energy_codec codec, const clock* clk,
              uint32_t hourly_days = 35);

  // Loads the model, entries and hourly consumption from the store
  // (the seeded model when there is none).
  void load();

  const energy::model& model() const { return model_; }
  energy::engine& engine() { return *engine_; }
  const absl::TimeZone& tz() const { return tz_; }
  absl::Time now() const;

  // Applies a change to the model; on success persists it with an audit
  // record and recompiles the graph.
  // `snapshot` (optional) gives the changed record's text in a model ("" =
  // none): taken before and after, both go to the audit record.
  energy::result change(const std::function<energy::result(energy::model&)>& f,
                        const std::string& who, const std::string& what,
                        const std::function<std::string(const energy::model&)>& snapshot = {});
  energy::result replace(energy::model m, const std::string& who);

  // The model as it stands, shared and never modified: one copy, made at
  // the first view after a change and dropped at the next change.
  model_view view();
  // One record as it stands (no copy of the model).
  record_answer record(const std::string& kind, const std::string& id) const;
  // A change of records: refused when based on an older version, checked
  // against the model, persisted with its audit record.
  expected<model_edited, energy::failure> edit(const model_edit& e);

  // New inputs of the graph, written to the store by an energy unit.
  void apply(const std::vector<leaf_update>& updates);
  // Moves the window of hours held hour by hour to end today (a new day
  // turns the oldest held day into its sum). Called with every input and
  // query, and hourly by the energy actor.
  void roll_hours();
  // A query's series: from the graph for the hours it holds, from a graph of
  // the stored inputs before them (hours, and sums over hours such as a TOU
  // cost; within the past-hours budget, else hours are refused and such
  // sums stay at the day's average price, estimated).
  expected<std::vector<energy::query_series>, energy::failure> query(const energy::query_spec& q);
  // A graph of the current model holding the stored inputs of days
  // [from, to] that the given indicators read: meters' hours and entries
  // (for queries of hours before the window, and of TOU costs there).
  // Refused (failed_precondition) beyond `past_hours_budget` meter-days,
  // or without a store.
  expected<std::unique_ptr<energy::engine>, energy::failure>
  graph_from_store(const std::vector<std::string>& ids, absl::CivilDay from,
                   absl::CivilDay to) const;
  // 50,000 meter-days: about 11 MB of hours held while the query runs.
  void set_past_hours_budget(std::size_t meter_days) { past_hours_budget_ = meter_days; }

  // Counter readings of the meters bound to a live source of the plant
  // ("grid.import", "grid.export"; Wh), in each meter's unit.
  std::vector<std::pair<std::string, double>> live_readings(const std::string& source,
                                                            double wh) const;

  // Changes with every change of the model (units then get new slices).
  uint64_t version() const noexcept { return version_; }
  const std::shared_ptr<std::atomic<uint64_t>>& seq() const { return seq_; }
  const std::shared_ptr<store::store>& db() const { return db_; }
  const clock* clk() const { return clk_; }

  // The model is kept as a document (the whole model) and a journal of the
  // records changed since (store: drivers/store/energy_records.hpp), so
  // that a small change writes only its records. The document is written
  // again, and the journal emptied, once the journal holds this much.
  static constexpr std::size_t journal_max_bytes = 4u << 20;
  static constexpr std::size_t journal_max_entries = 2000;
  std::size_t journal_entries() const noexcept { return journal_entries_; }

private:
  // The whole model as the document (the journal's entries up to now are
  // in it), with its audit record.
  energy::result persist_model(const std::string& who, const std::string& what,
                               const std::string& before = {}, const std::string& after = {});
  // The records `changes` names, as a journal entry with its audit record.
  energy::result persist_changes(const std::vector<energy::model::change>& changes,
                                 const std::string& who, const std::string& what,
                                 const std::string& before, const std::string& after);
  // The audit record of a change: its key and text.
  std::pair<std::string, std::string> audit_record(const std::string& who, const std::string& what,
                                                   const std::string& before,
                                                   const std::string& after);
  // Applies the journal's entries after `base` to model_; why not ("" = done).
  std::string replay_journal(uint64_t base);

  std::shared_ptr<store::store> db_;
  energy_codec codec_;
  const clock* clk_;
  uint32_t hourly_days_;
  std::size_t past_hours_budget_ = 50'000;
  energy::model model_;
  // The view of the current model, once asked for (reset by every change
  // and every load, the only places the model is replaced).
  std::shared_ptr<const energy::model> view_;
  // The meters bound to each live source, with the scale of the meter's
  // unit (MJ; 0: none): found once a model (reset with view_), not by
  // walking every meter for each reading.
  mutable std::optional<
    std::map<std::string, std::vector<std::pair<std::string, double>>, std::less<>>>
    live_;
  absl::TimeZone tz_;
  std::unique_ptr<energy::engine> engine_;
  std::shared_ptr<std::atomic<uint64_t>> seq_ = std::make_shared<std::atomic<uint64_t>>(0);
  uint64_t version_ = 0;
  bool legacy_model_removed_ = false;
  bool have_document_ = false;  // the model is in the document: journal on top of it
  uint64_t journal_seq_ = 0;    // the last journal entry written or read
  std::size_t journal_bytes_ = 0, journal_entries_ = 0;  // since the document
  std::string unreadable_;  // why the stored model could not be read ("" = it could)
};

struct energy_actor_args {
  std::shared_ptr<store::store> db;  // may be null: nothing persisted
  energy_codec codec;
  const clock* clk = nullptr;
  // A unit idle this long is retired (0: units stay).
  std::chrono::milliseconds unit_idle{std::chrono::minutes(10)};
  // Hourly inputs held hour by hour for this many days (today included);
  // earlier days as their sums (engine::keep_hours_from).
  uint32_t hourly_days = 35;
  // Tests: called with the book once it is loaded. The book is to be read
  // only between the actor's messages (under a deterministic scheduler).
  std::function<void(energy_book*)> on_book;
};

using energy_api = energy_unit_sink::extend<
  // A shared snapshot of the whole model, read off the actor (an export, a
  // check); made once per model version.
  caf::replies_to<energy_atom, model_atom>::with<model_view>,
  // One record, and where a record is used.
  caf::replies_to<energy_atom, record_request>::with<record_answer>,
  caf::replies_to<energy_atom, uses_request>::with<uses_answer>,
  // A change (put, put_many, remove), audited; aborted when made from a
  // model version that is no longer the current one.
  caf::replies_to<energy_atom, model_edit>::with<model_edited>,
  // The whole model replaced (an import).
  caf::replies_to<energy_atom, model_replace>::with<model_edited>,
  // The audit's records in a time range, the last `limit`.
  caf::replies_to<energy_atom, audit_request>::with<audit_answer>,
  // Entries and readings: delegated to the unit of the target's node.
  caf::replies_to<energy_atom, unit_request>::with<unit_reply>,
  // The daily entries of an indicator or product (with superseded ones).
  caf::replies_to<energy_atom, entries_request>::with<entries_answer>,
  // Values of indicators over periods.
  caf::replies_to<energy_atom, energy_query>::with<energy_answer>,
  // Energy units alive.
  caf::replies_to<units_atom>::with<uint64_t>,
  // Each plant state: the grid meter's and sub-meters' counters go to the
  // units of the meters bound to them (every 10 s).
  caf::reacts_to<plant_state>,
  // Its own: the hourly roll of the hours held, the heap given back after
  // a change.
  caf::reacts_to<roll_atom>, caf::reacts_to<tick_atom>>;

energy_api spawn_energy_actor(caf::actor_system& sys, energy_actor_args args);

}  // namespace plantd::actors
