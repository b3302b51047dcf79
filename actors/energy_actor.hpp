// The energy-carbon actor: owns the enterprise model and its formula graph
// (model/energy), keeps them in the store, takes live meter counters from
// the plant states it is sent, and runs the requests of EnergyCarbonService
// one at a time.
//
//   plant_state                        grid meter counters -> bound meters
//   energy_atom, energy_request        -> std::string (the request's answer)
//
// The book is the actor's state and does the work; the actor serializes it.
// The model's persistent encoding is given by the caller (services encode it
// as the EnergyModel proto) so this layer stays free of protos.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"
#include "model/common/clock.hpp"
#include "model/energy/counter.hpp"
#include "model/energy/engine.hpp"
#include "model/energy/model.hpp"

namespace plantd::actors {

struct energy_codec {
  std::function<std::string(const energy::model&)> encode;
  std::function<expected<energy::model, std::string>(std::string_view)> decode;
};

struct daily_entry {
  std::string id;
  absl::CivilDay day;
  double value = 0;
  std::string who;
  int64_t entered_ms = 0;
  std::string note;
  bool superseded = false;
};

class energy_book {
public:
  energy_book(std::shared_ptr<store::store> db, energy_codec codec, const clock* clk);

  // Loads the model, entries, hourly consumption and counters from the store
  // (the seeded model when there is none).
  void load();

  const energy::model& model() const { return model_; }
  energy::engine& engine() { return *engine_; }
  const absl::TimeZone& tz() const { return tz_; }
  absl::Time now() const;

  // Applies a change to the model; on success persists it with an audit
  // record and recompiles the graph.
  energy::result change(const std::function<energy::result(energy::model&)>& f,
                        const std::string& who, const std::string& what);
  energy::result replace(energy::model m, const std::string& who);

  expected<std::pair<daily_entry, bool>, energy::failure> enter_daily(
    const std::string& id, absl::CivilDay day, double value, const std::string& who,
    const std::string& note);
  std::vector<daily_entry> entries(const std::string& id, std::optional<absl::CivilDay> from,
                                   std::optional<absl::CivilDay> to) const;

  // A counter reading of a meter; events found (rollover, reset, gap).
  expected<std::vector<energy::counter_event>, energy::failure> reading(const std::string& meter,
                                                                        int64_t t_ms,
                                                                        double counter);
  expected<std::vector<energy::counter_event>, energy::failure> swap(const std::string& meter,
                                                                     int64_t t_ms,
                                                                     double old_final,
                                                                     double new_initial);
  // Live counters of the plant (Wh): "grid.import", "grid.export".
  void live(const std::string& source, int64_t t_ms, double wh);

private:
  energy::result persist_model(const std::string& who, const std::string& what);
  expected<std::vector<energy::counter_event>, energy::failure> apply_shares(
    const std::string& meter, const std::vector<energy::hour_share>& shares,
    std::vector<energy::counter_event> events, int64_t t_ms, double counter);
  energy::counter_tracker& tracker(const std::string& meter);

  std::shared_ptr<store::store> db_;
  energy_codec codec_;
  const clock* clk_;
  energy::model model_;
  absl::TimeZone tz_;
  std::unique_ptr<energy::engine> engine_;
  std::map<std::string, energy::counter_tracker> trackers_;
  uint64_t seq_ = 0;
};

struct energy_actor_args {
  std::shared_ptr<store::store> db;  // may be null: nothing persisted
  energy_codec codec;
  const clock* clk = nullptr;
};

caf::actor spawn_energy_actor(caf::actor_system& sys, energy_actor_args args);

} // namespace plantd::actors
