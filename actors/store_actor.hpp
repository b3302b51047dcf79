// store actor: owns the write path of the RocksDB store. It turns the plant
// states the supervisor publishes into telemetry points (at most one set per
// record period), batches them and writes one batch per flush interval.
// Spawned detached: a slow or failing disk never stalls the control path;
// a failed write is logged, counted and reported, and the plant runs on.
//
// Its protocol is the typed interface store_api below.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/alarm_actor.hpp"
#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"

namespace plantd::actors {

struct store_actor_args {
  std::shared_ptr<store::store> db;
  std::chrono::milliseconds record_period{1000};
  std::chrono::milliseconds flush_interval{1000};
  uint32_t raw_retention_days = 30;
  // The disk budget (storage.max_disk_mb; 0: none). Checked every minute:
  // past it the oldest day of raw points goes (rollups and the rest stay),
  // and a storage_budget warning holds while raw points are kept for less
  // than raw_retention_days because of it.
  uint64_t max_disk_bytes = 0;
  // The data directory: its free space is checked every tick. Under
  // min_free_bytes the disk counts as full (storage_fault) before a write
  // fails: RocksDB writes into log space it set aside until that runs out.
  std::filesystem::path data_dir;
  uint64_t min_free_bytes = 8u << 20;
  // Set after every flush: each point recorded before it is in the store
  // (or was dropped). The uplink sends nothing past it.
  std::shared_ptr<std::atomic<int64_t>> stored_through;
  const clock* clk = nullptr;
  // Told (store_atom, "store", conditions) when writes start or stop failing.
  alarm_api alarms;
  // For tests: replaces db->write (a disk that fails on demand).
  std::function<expected<void, store::error>(const std::vector<store::point>&)> write;
};

using store_api = caf::typed_actor<
  // The plant states the supervisor publishes (recorded once a period).
  caf::reacts_to<plant_state>,
  // Points to store as they are (bulk ingest); written at once from 10,000
  // pending points.
  caf::reacts_to<std::vector<store::point>>,
  // Writes what is pending; answers the points written so far.
  caf::replies_to<flush_atom>::with<uint64_t>,
  // Its own tick: flushes, retention, the disk budget and free space.
  caf::reacts_to<tick_atom>,
  // Points written, points that failed, and the last error ("" = none).
  caf::replies_to<caf::get_atom, state_atom>::with<uint64_t, uint64_t, std::string>,
  // Raw points removed for the disk budget.
  caf::replies_to<caf::get_atom, store_atom>::with<uint64_t>>;

store_api::behavior_type store_actor(store_api::pointer self, store_actor_args args);

// The names of the series a plant state is recorded into.
std::vector<std::pair<std::string, double>> telemetry_points(const plant_state& s,
                                                             std::vector<quality>* qualities);

}  // namespace plantd::actors
