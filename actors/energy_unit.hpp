// Energy-unit actors (DESIGN.md §4): one per node of the energy-carbon tree
// (plant, branch, workshop, equipment). A unit holds its slice of the model
// (its node, the leaves it owns, its meters), writes its node's manual daily
// entries, production entries and meter counters to the store, and forwards
// the changed inputs to the supervisor's formula graph.
//
// Units are activated on demand: the energy supervisor spawns a node's unit
// when a request for it arrives and retires it after it was idle for a while
// (its state is in the store), so a 100,000-node tree costs actors only for
// the nodes at work. At any time a node has at most one unit.
//
// Its interface: energy_unit_api below; what it tells the energy actor:
// energy_unit_sink.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"
#include "model/common/clock.hpp"
#include "drivers/store/energy_records.hpp"
#include "model/energy/counter.hpp"
#include "model/energy/model.hpp"

namespace plantd::actors {

// What a unit knows of the model: unit_slice (actors/model_messages.hpp).
// The node an indicator, product or meter belongs to ("" when unknown).
std::string node_of(const energy::model& m, const std::string& id);
unit_slice slice_of(const energy::model& m, const std::string& node, absl::TimeZone tz);

using store::energy_records::daily_entry;

// Every entry of an id ("" = all), oldest first, corrections after what
// they supersede.
std::vector<daily_entry> read_entries(const store::store* db, const std::string& id,
                                      std::optional<absl::CivilDay> from,
                                      std::optional<absl::CivilDay> to);

class energy_unit {
public:
  energy_unit(std::shared_ptr<store::store> db, const clock* clk,
              std::shared_ptr<std::atomic<uint64_t>> seq);

  // A new slice (after a model change): counters are re-read from the store.
  void set_slice(unit_slice s);
  const unit_slice& slice() const { return slice_; }

  expected<std::pair<daily_entry, bool>, energy::failure>
  enter_daily(const std::string& id, absl::CivilDay day, double value, const std::string& who,
              const std::string& note, std::vector<leaf_update>& out);
  std::vector<daily_entry> entries(const std::string& id, std::optional<absl::CivilDay> from,
                                   std::optional<absl::CivilDay> to) const;

  // What became of a counter reading.
  enum class fate : uint8_t {
    recorded,    // after the meter's last reading: the consumption since it
    backfilled,  // before it: the interval it falls in split, its hours recomputed
    duplicate,   // the same time and counter as one recorded: nothing to do
    ignored,     // a live reading (not logged) from before the last one
  };
  struct reading_result {
    enum fate fate = fate::recorded;
    std::vector<energy::counter_event> events;
  };

  // A counter reading of one of the node's meters; events found (rollover,
  // reset, gap). The hours' new totals go to `out`. Readings given through
  // the API (`logged`) are kept in the meter's reading log, so one that
  // comes late (a gateway sending what it buffered) finds its place: the
  // interval between the readings around it is split in two and the hours
  // it covered recomputed. Refused, saying why: a reading at a time already
  // recorded with another counter (ALREADY_EXISTS); one older than the
  // meter's kept readings, or between readings the log does not join (live
  // readings of a plant meter are not logged), or whose counter does not
  // fit between its neighbours (FAILED_PRECONDITION).
  expected<reading_result, energy::failure> reading(const std::string& meter, int64_t t_ms,
                                                    double counter, std::vector<leaf_update>& out,
                                                    bool logged = true);
  // Many readings of one meter (given through the API), in the order
  // given; each as reading() would take it, but the run of readings after
  // the last one is written to the store in one batch (a backlog of
  // thousands is one write, not thousands).
  std::vector<expected<reading_result, energy::failure>>
  readings(const std::string& meter, const std::vector<std::pair<int64_t, double>>& rs,
           std::vector<leaf_update>& out);
  expected<std::vector<energy::counter_event>, energy::failure> swap(const std::string& meter,
                                                                     int64_t t_ms, double old_final,
                                                                     double new_initial,
                                                                     std::vector<leaf_update>& out);

  // A unit request's work: each entry or reading as the calls above take
  // it, its outcome in the reply, the graph's new inputs beside it.
  unit_answer handle(const unit_request& r);

  // An entry of a meter's reading log: the counter at t as the interval
  // ending there sees it (`in`; a swap's old final) and as the one starting
  // there (`out`; a swap's new initial); prev: the time of the reading the
  // interval ending here starts from (0: the meter's first reading; -1:
  // not known, a seed: the last counter from before the log was kept).
  using logged_reading = store::energy_records::logged_reading;

private:
  int64_t now_ms() const;
  energy::counter_tracker* tracker(const std::string& meter);
  expected<reading_result, energy::failure> backfill(const std::string& meter,
                                                     const energy::counter_tracker& t, int64_t t_ms,
                                                     double counter, std::vector<leaf_update>& out);
  std::optional<logged_reading> log_at(const std::string& meter, int64_t t) const;
  std::optional<logged_reading> log_before(const std::string& meter, int64_t t) const;
  std::optional<logged_reading> log_after(const std::string& meter, int64_t t) const;
  std::vector<logged_reading> log_span(const std::string& meter, int64_t from, int64_t to) const;
  std::optional<plantd::reading> stored_hour(const std::string& key) const;
  // Drops the meter's logged readings more than log_keep before `newest`
  // (at most once a day of readings per meter); the oldest one kept
  // becomes the log's start (a seed: what came before it is not known).
  void prune_log(const std::string& meter, int64_t newest);
  expected<std::vector<energy::counter_event>, energy::failure>
  apply_shares(const std::string& meter, const std::vector<energy::hour_share>& shares,
               std::vector<energy::counter_event> events, int64_t t_ms, double counter,
               std::vector<leaf_update>& out, std::optional<logged_reading> log = std::nullopt);

  std::shared_ptr<store::store> db_;
  const clock* clk_;
  std::shared_ptr<std::atomic<uint64_t>> seq_;
  unit_slice slice_;
  std::map<std::string, energy::counter_tracker> trackers_;
  std::map<std::string, plantd::reading> hours_;  // hour totals when there is no store
  std::map<std::string, std::map<int64_t, logged_reading>>
    log_;                                     // reading logs when there is no store
  std::map<std::string, int64_t> pruned_at_;  // by meter: the newest reading at its last pruning

public:
  // How long a meter's readings are kept for late readings to find their
  // place: 400 days (a year of backlog and then some), ~1.5 MB a meter at
  // a reading every 15 minutes.
  static constexpr int64_t log_keep_ms = 400LL * 24 * 3600 * 1000;
};

// What a unit tells the energy actor (energy_api).
using energy_unit_sink = caf::typed_actor<
  // The graph's inputs a request changed: answered once the graph has them.
  caf::replies_to<leaf_atom, std::vector<leaf_update>>::with<bool>,
  // Idle since its last request: it may retire (its node, the requests it
  // handled: retired only when none is in flight).
  caf::reacts_to<idle_atom, std::string, uint64_t>>;

using energy_unit_api = caf::typed_actor<
  // A request for its node (daily entries, meter readings, a meter swap):
  // answered once the graph has the inputs it changed.
  caf::replies_to<energy_atom, unit_request>::with<unit_reply>,
  // The node's slice after a model change.
  caf::reacts_to<slice_atom, std::shared_ptr<const unit_slice>>,
  // Quit (sent by the energy actor).
  caf::reacts_to<retire_atom>,
  // Its own: the idle check.
  caf::reacts_to<tick_atom>>;

struct energy_unit_args {
  std::shared_ptr<store::store> db;
  const clock* clk = nullptr;
  std::shared_ptr<std::atomic<uint64_t>> seq;
  energy_unit_sink supervisor;
  std::shared_ptr<const unit_slice> slice;
  std::chrono::milliseconds idle{std::chrono::minutes(10)};  // 0: never idle
};

// Spawned by the energy supervisor, which monitors it; quits when the
// supervisor goes down.
energy_unit_api spawn_energy_unit(caf::actor_system& sys, energy_unit_args args);

}  // namespace plantd::actors
