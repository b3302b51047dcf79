// The store, measured (JSON on stdout and in --out):
//  - ingest with the WAL on: store::write (raw + rollups) against a raw
//    RocksDB WriteBatch of the same keys and values, same run (target
//    >= 500,000 points/s and a ratio >= 0.6). The store writes a block per
//    series and hour of each batch, so "the same keys and values" are those
//    blocks and the rollup aggregates, encoded before the clock starts and
//    written as plain puts; the per-point layout (one key
//    per point, as before hourly blocks) is measured as a second reference,
//    and so is the worst case for blocks, one point per series a batch;
//  - QueryHistory of one year of 1-minute data at day resolution (target
//    < 5 ms) and one day of 1-s raw data, 86,400 points (target < 50 ms);
//  - an energy curve for a year by month (target < 5 ms);
//  - disk per stored raw point after compaction (target <= 4 bytes).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>
#include <random>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/store_actor.hpp"
#include "actors/system.hpp"
#include "drivers/store/store.hpp"
#include "model/telemetry/chunk.hpp"

using namespace plantd;
using steady = std::chrono::steady_clock;

namespace {

double ms_since(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

std::filesystem::path fresh(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("plantd-bench-" + name);
  std::filesystem::remove_all(p);
  return p;
}

// A realistic series: a slowly varying power with sensor noise, in W,
// rounded to 0.1 W as meters report it.
double sample(std::mt19937& rng, int64_t i) {
  std::normal_distribution<double> noise{0, 15};
  double v = 40'000 + 20'000 * std::sin(static_cast<double>(i) / 3600.0) + noise(rng);
  return std::round(v * 10) / 10;
}

// A store key: series (u32 BE), the resolution byte for rollups (r >= 0),
// then a time (i64 BE, sign bit flipped).
std::string key_of(uint32_t series, int r, int64_t t) {
  std::string k;
  for (int b = 3; b >= 0; --b)
    k.push_back(static_cast<char>(series >> (8 * b)));
  if (r >= 0)
    k.push_back(static_cast<char>(r));
  auto tt = static_cast<uint64_t>(t) ^ (uint64_t{1} << 63);
  for (int b = 7; b >= 0; --b)
    k.push_back(static_cast<char>(tt >> (8 * b)));
  return k;
}

// A plain RocksDB (defaults, WAL on) in a fresh directory; null on failure.
std::unique_ptr<rocksdb::DB> open_raw(const std::string& name) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, fresh(name).string(), &raw).ok())
    return nullptr;
  return std::unique_ptr<rocksdb::DB>{raw};
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = argc > 2 && std::string{argv[1]} == "--out" ? argv[2] : "";
  absl::TimeZone tz;
  absl::LoadTimeZone("Europe/Berlin", &tz);
  const int64_t t0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  const int series = 20;
  const int per_series = 50'000;  // 1-s points
  const std::size_t batch_size = 2'000;

  // 1. Ingest, side by side.
  std::mt19937 rng{7};
  std::vector<store::point> points;
  points.reserve(static_cast<std::size_t>(series) * per_series);
  for (int i = 0; i < per_series; ++i)
    for (int s = 1; s <= series; ++s)
      points.push_back(
        {static_cast<uint32_t>(s), t0 + i * 1000LL, sample(rng, i), quality::measured});
  double store_ms = 0, raw_ms = 0;
  uint64_t disk_bytes = 0;
  {
    auto dir = fresh("store");
    auto db = std::move(*store::store::open(dir, {tz, false}));
    for (int s = 1; s <= series; ++s)
      (void)db->series_id("s" + std::to_string(s));
    auto t = steady::now();
    for (std::size_t i = 0; i < points.size(); i += batch_size) {
      std::vector<store::point> batch(
        points.begin() + static_cast<long>(i),
        points.begin() + static_cast<long>(std::min(points.size(), i + batch_size)));
      if (!db->write(batch))
        return 1;
    }
    store_ms = ms_since(t);
    db->compact();
    disk_bytes = db->series_disk_bytes();
  }
  {
    auto db = open_raw("raw");
    if (!db)
      return 1;
    auto t = steady::now();
    char value[9];
    for (std::size_t i = 0; i < points.size(); i += batch_size) {
      rocksdb::WriteBatch wb;
      for (std::size_t j = i; j < std::min(points.size(), i + batch_size); ++j) {
        const auto& p = points[j];
        std::memcpy(value, &p.value, 8);
        value[8] = 0;
        wb.Put(key_of(p.series, -1, p.t_ms), rocksdb::Slice{value, 9});
      }
      if (!db->Write({}, &wb).ok())
        return 1;
    }
    raw_ms = ms_since(t);
  }
  // The store's own keys and values, prepared before the clock starts.
  double same_ms = 0;
  {
    std::vector<std::vector<std::pair<std::string, std::string>>> batches;
    for (std::size_t i = 0; i < points.size(); i += batch_size) {
      std::map<std::pair<uint32_t, int64_t>, std::vector<telemetry::sample>> groups;
      for (std::size_t j = i; j < std::min(points.size(), i + batch_size); ++j) {
        const auto& p = points[j];
        groups[{p.series, p.t_ms - p.t_ms % 3'600'000}].push_back({p.t_ms, p.value, p.q});
      }
      auto& kvs = batches.emplace_back();
      std::map<std::tuple<uint32_t, uint8_t, int64_t>, telemetry::aggregate> rolls;
      for (const auto& [k, pts] : groups) {
        std::string value;
        telemetry::encode_block(pts, value);
        kvs.emplace_back(key_of(k.first, -1, k.second), std::move(value));
        for (const auto& p : pts)
          for (auto r : telemetry::rollup_resolutions) {
            auto start =
              telemetry::bucket_start(time_point{std::chrono::milliseconds{p.t_ms}}, r, tz);
            rolls[{k.first, static_cast<uint8_t>(r), start.time_since_epoch().count()}].add(
              p.t_ms, p.value);
          }
      }
      for (const auto& [k, a] : rolls) {
        std::string value(telemetry::aggregate::encoded_size, '\0');
        a.encode(value.data());
        kvs.emplace_back(key_of(std::get<0>(k), std::get<1>(k), std::get<2>(k)), std::move(value));
      }
    }
    auto db = open_raw("same");
    if (!db)
      return 1;
    auto t = steady::now();
    for (const auto& kvs : batches) {
      rocksdb::WriteBatch wb;
      for (const auto& [k, v] : kvs)
        wb.Put(k, v);
      if (!db->Write({}, &wb).ok())
        return 1;
    }
    same_ms = ms_since(t);
  }
  // The same points through the store actor (detached, as in plantd), in
  // messages of 2,000 points.
  double actor_ms = 0;
  {
    auto dir = fresh("actor");
    std::shared_ptr<store::store> db = std::move(*store::store::open(dir, {tz, false}));
    for (int s = 1; s <= series; ++s)
      (void)db->series_id("s" + std::to_string(s));
    caf::actor_system_config cfg;
    actors::configure(cfg);
    caf::actor_system sys{cfg};
    static const system_clock wall;
    actors::store_actor_args a;
    a.db = db;
    a.clk = &wall;
    auto recorder = sys.spawn<caf::detached>(actors::store_actor, a);
    caf::scoped_actor self{sys};
    auto t = steady::now();
    for (std::size_t i = 0; i < points.size(); i += batch_size)
      self->send(recorder,
                 std::vector<store::point>(
                   points.begin() + static_cast<long>(i),
                   points.begin() + static_cast<long>(std::min(points.size(), i + batch_size))));
    uint64_t written = 0;
    self->request(recorder, caf::infinite, actors::flush_atom_v)
      .receive([&](uint64_t n) { written = n; }, [](caf::error&) {});
    actor_ms = ms_since(t);
    if (written != points.size())
      return 1;
    self->send_exit(recorder, caf::exit_reason::user_shutdown);
  }
  double n = static_cast<double>(points.size());

  // The worst case for blocks: every batch holds one point per series (a
  // plant snapshot of 2,000 series each flush), so each block is one point.
  double sparse_ms = 0;
  {
    auto dir = fresh("sparse");
    auto db = std::move(*store::store::open(dir, {tz, false}));
    const int wide = 2'000;
    for (int s = 1; s <= wide; ++s)
      (void)db->series_id("s" + std::to_string(s));
    std::vector<store::point> batch(wide);
    auto t = steady::now();
    for (int i = 0; i < 500; ++i) {
      for (int s = 0; s < wide; ++s)
        batch[static_cast<std::size_t>(s)] = points[static_cast<std::size_t>(i * wide + s)];
      for (int s = 0; s < wide; ++s) {
        batch[static_cast<std::size_t>(s)].series = static_cast<uint32_t>(s + 1);
        batch[static_cast<std::size_t>(s)].t_ms = t0 + i * 1000LL;
      }
      if (!db->write(batch))
        return 1;
    }
    sparse_ms = ms_since(t);
  }

  // 2. Queries: one year of 1-minute data (one series), one day of 1 s.
  double year_day_ms = 0, day_raw_ms = 0, curve_ms = 0;
  std::size_t day_points = 0;
  {
    auto dir = fresh("query");
    auto db = std::move(*store::store::open(dir, {tz, false}));
    auto minute = *db->series_id("minute");
    auto second = *db->series_id("second");
    std::vector<store::point> batch;
    for (int64_t i = 0; i < 365LL * 24 * 60; ++i) {
      batch.push_back({minute, t0 + i * 60'000, sample(rng, i), quality::measured});
      if (batch.size() == 10'000) {
        (void)db->write(batch);
        batch.clear();
      }
    }
    for (int64_t i = 0; i < 86'400; ++i) {
      batch.push_back({second, t0 + i * 1000, sample(rng, i), quality::measured});
      if (batch.size() == 10'000) {
        (void)db->write(batch);
        batch.clear();
      }
    }
    (void)db->write(batch);
    const int reps = 20;
    auto t = steady::now();
    std::size_t days = 0;
    for (int r = 0; r < reps; ++r)
      days = db->rollup(minute, telemetry::resolution::day, t0, t0 + 366LL * 86'400'000).size();
    year_day_ms = ms_since(t) / reps;
    t = steady::now();
    for (int r = 0; r < reps; ++r)
      day_points = db->raw(second, t0, t0 + 86'400'000).size();
    day_raw_ms = ms_since(t) / reps;
    t = steady::now();
    for (int r = 0; r < reps; ++r)
      days += db->rollup(minute, telemetry::resolution::month, t0, t0 + 366LL * 86'400'000).size();
    curve_ms = ms_since(t) / reps;
  }

  char json[1536];
  std::snprintf(json, sizeof json,
                "{\n  \"ingest\": {\"points\": %.0f, \"store_points_per_s\": %.0f, "
                "\"store_actor_points_per_s\": %.0f, "
                "\"raw_writebatch_same_keys_points_per_s\": %.0f, "
                "\"ratio_actor_to_raw\": %.2f, "
                "\"raw_writebatch_point_keys_points_per_s\": %.0f, "
                "\"ratio_actor_to_point_keys\": %.2f, "
                "\"store_one_point_per_series_points_per_s\": %.0f, "
                "\"target_points_per_s\": 500000, \"target_ratio\": 0.6},\n"
                "  \"query\": {\"year_of_minutes_at_day_ms\": %.3f, \"target_ms\": 5, "
                "\"day_of_seconds_raw_ms\": %.2f, \"points\": %zu, \"target_raw_ms\": 50, "
                "\"year_by_month_curve_ms\": %.3f, \"target_curve_ms\": 5},\n"
                "  \"disk\": {\"bytes_per_raw_point\": %.2f, \"target\": 4}\n}\n",
                n, n / store_ms * 1000, n / actor_ms * 1000, n / same_ms * 1000, same_ms / actor_ms,
                n / raw_ms * 1000, raw_ms / actor_ms, n / sparse_ms * 1000, year_day_ms, day_raw_ms,
                day_points, curve_ms, static_cast<double>(disk_bytes) / n);
  std::fputs(json, stdout);
  if (!out.empty())
    std::ofstream{out} << json;
  return 0;
}
