// The RocksDB store on a real database in a temporary directory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "drivers/store/store.hpp"
#include "test/support/temp_dir.hpp"

using namespace plantd;
using namespace plantd::store;
using telemetry::resolution;

namespace {

using test::temp_dir;

absl::TimeZone berlin() {
  absl::TimeZone tz;
  absl::LoadTimeZone("Europe/Berlin", &tz);
  return tz;
}

int64_t utc_ms(int y, int mo, int d, int h, int mi = 0) {
  return absl::ToUnixMillis(
    absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone()));
}

std::unique_ptr<store::store> open_store(const std::filesystem::path& p, bool sync = false) {
  auto s = store::store::open(p, {berlin(), sync});
  REQUIRE(s);
  return std::move(*s);
}

}  // namespace

TEST_CASE("raw points round-trip with their quality", "[store]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  auto id = db->series_id("grid_w");
  REQUIRE(id);
  std::vector<point> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back(
      {*id, 1'000'000 + i * 1000, i * 2.5, i == 50 ? quality::missing : quality::measured});
  REQUIRE(db->write(batch));
  auto got = db->raw(*id, 1'010'000, 1'020'000);
  REQUIRE(got.size() == 10);
  CHECK(got.front().t_ms == 1'010'000);
  CHECK(got.front().value == 25);
  CHECK(got.back().t_ms == 1'019'000);
  auto around = db->raw(*id, 1'050'000, 1'051'000);
  REQUIRE(around.size() == 1);
  CHECK(around[0].q == quality::missing);
  CHECK(db->raw(*id, 1'000'000, 2'000'000, 7).size() == 7);

  // The same points as columns, into columns that held something before.
  raw_columns cols;
  cols.t_ms.assign(3, 9);
  cols.value.assign(3, 9);
  cols.q.assign(3, quality::invalid);
  db->raw_into(*id, 1'010'000, 1'020'000, SIZE_MAX, cols);
  REQUIRE(cols.size() == got.size());
  REQUIRE(cols.value.size() == got.size());
  REQUIRE(cols.q.size() == got.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(cols.t_ms[i] == got[i].t_ms);
    CHECK(cols.value[i] == got[i].value);
    CHECK(cols.q[i] == got[i].q);
  }
  db->raw_into(*id, 1'000'000, 2'000'000, 7, cols);
  CHECK(cols.size() == 7);
  db->raw_into(*id, 1'050'000, 1'051'000, SIZE_MAX, cols);
  REQUIRE(cols.size() == 1);
  CHECK(cols.q[0] == quality::missing);
  db->raw_into(*id, 2'000'000, 1'000'000, SIZE_MAX, cols);
  CHECK(cols.size() == 0);
}

TEST_CASE("rollups across a DST day and a month end agree with the raw data", "[store][dst]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  auto id = *db->series_id("pv_w");
  // One point a minute from 2026-03-28 00:00 to 2026-04-01 00:00 Berlin time:
  // across the 23-hour day of 2026-03-29 and the end of March.
  int64_t from = utc_ms(2026, 3, 27, 23);  // 00:00 CET on the 28th
  int64_t to = utc_ms(2026, 3, 31, 22);    // 00:00 CEST on April 1st
  std::vector<point> batch;
  for (int64_t t = from; t < to; t += 60'000) {
    batch.push_back({id, t, 1.0, quality::measured});
    if (batch.size() == 500) {
      REQUIRE(db->write(batch));
      batch.clear();
    }
  }
  batch.push_back({id, to, 7.0, quality::measured});  // the first minute of April
  REQUIRE(db->write(batch));
  auto days = db->rollup(id, resolution::day, from, to);
  REQUIRE(days.size() == 4);
  CHECK(days[0].agg.count == 24 * 60);
  CHECK(days[1].agg.count == 23 * 60);  // 2026-03-29
  CHECK(days[1].end_ms - days[1].start_ms == 23 * 3'600'000);
  CHECK(days[2].agg.count == 24 * 60);
  auto months = db->rollup(id, resolution::month, utc_ms(2026, 2, 28, 0), utc_ms(2026, 4, 30, 0));
  REQUIRE(months.size() == 2);
  CHECK(months[0].agg.count == (to - from) / 60'000);
  CHECK(months[1].agg.count == 1);
  CHECK(months[1].agg.max == 7);
  // Raw and rollups agree.
  CHECK(db->raw(id, from, to).size() == months[0].agg.count);
  auto hours = db->rollup(id, resolution::hour, from, to);
  CHECK(static_cast<int64_t>(hours.size()) == (to - from) / 3'600'000);
}

TEST_CASE("out-of-order and repeated batches merge into the same rollups", "[store]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  auto id = *db->series_id("x");
  int64_t day = utc_ms(2026, 6, 10, 0);
  REQUIRE(db->write({{id, day + 7'200'000, 5, quality::measured}}));
  REQUIRE(db->write(
    {{id, day + 3'600'000, 1, quality::measured}, {id, day + 10'800'000, 9, quality::measured}}));
  auto d = db->rollup(id, resolution::day, day - 86'400'000, day + 86'400'000);
  REQUIRE(d.size() == 1);
  CHECK(d[0].agg.count == 3);
  CHECK(d[0].agg.min == 1);
  CHECK(d[0].agg.max == 9);
  CHECK(d[0].agg.first == 1);
  CHECK(d[0].agg.last == 9);
}

TEST_CASE("series ids and the config history survive a reopen", "[store]") {
  temp_dir dir;
  uint32_t a = 0, b = 0;
  {
    auto db = open_store(dir.path);
    a = *db->series_id("grid_w");
    b = *db->series_id("soc");
    REQUIRE(db->put_config(1, "first"));
    REQUIRE(db->put_config(2, "second"));
  }
  auto db = open_store(dir.path);
  CHECK(db->find_series("grid_w") == a);
  CHECK(db->find_series("soc") == b);
  CHECK(*db->series_id("new") > std::max(a, b));
  auto cfg = db->latest_config();
  REQUIRE(cfg);
  CHECK(cfg->first == 2);
  CHECK(cfg->second == "second");
}

TEST_CASE("retention drops old raw points and keeps the rollups", "[store]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  auto id = *db->series_id("x");
  int64_t t0 = utc_ms(2026, 1, 1, 12);
  std::vector<point> batch;
  for (int d = 0; d < 40; ++d)
    batch.push_back({id, t0 + d * 86'400'000LL, 1.0, quality::measured});
  REQUIRE(db->write(batch));
  int64_t cut = t0 + 10 * 86'400'000LL;
  REQUIRE(db->drop_raw_before(cut));
  auto raw = db->raw(id, 0, INT64_MAX);
  REQUIRE(raw.size() == 30);
  CHECK(raw.front().t_ms == cut);
  CHECK(db->rollup(id, resolution::day, 0, INT64_MAX).size() == 40);
}

TEST_CASE("retention and the disk budget read old data around the block cache", "[store]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  // 20 series, two days of a point a minute in minutes 20-59 of each hour,
  // flushed to SST files.
  int64_t t0 = utc_ms(2026, 1, 1, 0);
  std::vector<uint32_t> ids;
  for (int s = 0; s < 20; ++s) {
    ids.push_back(*db->series_id(fmt::format("s{}", s)));
    std::vector<point> batch;
    for (int h = 0; h < 48; ++h)
      for (int m = 20; m < 60; ++m)
        batch.push_back(
          {ids.back(), t0 + h * 3'600'000LL + m * 60'000LL, s + m * 0.5, quality::measured});
    REQUIRE(db->write(batch));
  }
  db->compact();
  auto cached = [&] { return db->memory().block_cache; };
  auto before = cached();
  // The budget's look for the oldest hour, and a retention pass whose cut
  // (10 past an hour) reads that hour and keeps all of it: nothing cached.
  REQUIRE(db->oldest_raw_ms() == t0);
  REQUIRE(db->drop_raw_before(t0 + 30 * 3'600'000LL + 10 * 60'000LL));
  CHECK(cached() == before);
  // A query does cache what it reads (so the check above can fail).
  CHECK(db->raw(ids.front(), t0 + 31 * 3'600'000LL, t0 + 48 * 3'600'000LL).size() == 17 * 40);
  CHECK(cached() > before);
}

TEST_CASE("acknowledged data survives kill -9 and rollups agree with it", "[store][crash]") {
  temp_dir dir;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    auto opened = store::store::open(dir.path, {berlin(), false});
    if (!opened)
      _exit(2);
    auto& db = *opened;
    auto id = *db->series_id("grid_w");
    int64_t t = utc_ms(2026, 6, 10, 0);
    for (uint32_t n = 1;; ++n) {
      std::vector<point> batch;
      for (int i = 0; i < 100; ++i, t += 1000)
        batch.push_back({id, t, 1.0, quality::measured});
      if (!db->write(batch))
        _exit(3);
      [[maybe_unused]] auto w = write(fds[1], &n, sizeof n);  // acknowledged
    }
  }
  close(fds[1]);
  uint32_t acked = 0;
  while (acked < 200) {
    uint32_t n = 0;
    REQUIRE(read(fds[0], &n, sizeof n) == sizeof n);
    acked = n;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Acknowledgements that were in the pipe when the process died count too.
  uint32_t n = 0;
  while (read(fds[0], &n, sizeof n) == sizeof n)
    acked = n;
  close(fds[0]);
  auto db = open_store(dir.path);
  auto id = db->find_series("grid_w");
  REQUIRE(id);
  auto raw = db->raw(*id, 0, INT64_MAX);
  INFO("acknowledged " << acked * 100 << " points, found " << raw.size());
  CHECK(raw.size() >= acked * 100);
  uint64_t rolled = 0;
  for (const auto& b : db->rollup(*id, resolution::hour, 0, INT64_MAX))
    rolled += b.agg.count;
  CHECK(rolled == raw.size());
}

TEST_CASE("blocks of different writes merge into one ordered hour, a later point wins", "[store]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  auto id = *db->series_id("grid_w");
  auto other = *db->series_id("pv_w");
  int64_t h = utc_ms(2026, 6, 10, 8);
  std::vector<point> a, b;
  for (int i = 0; i < 3600; i += 2)  // even seconds, then odd ones
    a.push_back({id, h + i * 1000LL, i * 0.1, quality::measured});
  for (int i = 1; i < 3600; i += 2)
    b.push_back({id, h + i * 1000LL, i * 0.1, quality::measured});
  b.push_back({id, h + 10'000, -42.5, quality::stale});     // replaces second 10
  b.push_back({other, h + 10'000, 7, quality::measured});   // another series, same batch
  b.push_back({id, h + 3'600'000, 99, quality::measured});  // the next hour
  REQUIRE(db->write(a));
  REQUIRE(db->write(b));
  auto check = [&] {
    auto got = db->raw(id, h, h + 7'200'000);
    REQUIRE(got.size() == 3601);
    for (int i = 0; i < 3600; ++i) {
      INFO("second " << i);
      REQUIRE(got[static_cast<std::size_t>(i)].t_ms == h + i * 1000LL);
      if (i != 10)
        REQUIRE(got[static_cast<std::size_t>(i)].value == i * 0.1);
    }
    CHECK(got[10].value == -42.5);
    CHECK(got[10].q == quality::stale);
    CHECK(got.back().value == 99);
    auto o = db->raw(other, 0, INT64_MAX);
    REQUIRE(o.size() == 1);
    CHECK(o[0].value == 7);
    // A range inside an hour, and a limit.
    auto mid = db->raw(id, h + 1'500'500, h + 1'503'000);
    REQUIRE(mid.size() == 2);
    CHECK(mid[0].t_ms == h + 1'501'000);
    CHECK(db->raw(id, h, h + 7'200'000, 5).size() == 5);
  };
  check();
  db->compact();  // the merge operator joins the blocks
  check();
  // And again after a reopen.
  db.reset();
  db = open_store(dir.path);
  check();
}

TEST_CASE("retention inside an hour keeps that hour's newer points", "[store]") {
  temp_dir dir;
  auto db = open_store(dir.path);
  auto id = *db->series_id("x");
  int64_t h = utc_ms(2026, 6, 10, 8);
  std::vector<point> batch;
  for (int i = 0; i < 3 * 60; ++i)  // one point a minute, 08:00 to 11:00
    batch.push_back({id, h + i * 60'000LL, static_cast<double>(i), quality::measured});
  REQUIRE(db->write(batch));
  REQUIRE(db->drop_raw_before(h + 90 * 60'000LL));  // 09:30
  auto raw = db->raw(id, 0, INT64_MAX);
  REQUIRE(raw.size() == 90);
  CHECK(raw.front().t_ms == h + 90 * 60'000LL);
  CHECK(raw.front().value == 90);
  CHECK(db->rollup(id, resolution::hour, 0, INT64_MAX).size() == 3);
  // Dropping before a time past every point leaves none.
  REQUIRE(db->drop_raw_before(h + 4 * 3'600'000LL + 1));
  CHECK(db->raw(id, 0, INT64_MAX).empty());
}

TEST_CASE("a store with raw points in the old per-point layout is refused, untouched", "[store]") {
  temp_dir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, {}},
                                                     {"series", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.path.string(), cfs, &handles, &raw).ok());
    REQUIRE(raw->Put({}, handles[1], std::string(12, '\x01'), "\x08\x02").ok());
    for (auto* h : handles)
      raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto opened = store::store::open(dir.path, {berlin(), false});
  REQUIRE_FALSE(opened);
  CHECK_THAT(opened.error(), Catch::Contains("older layout"));
  // The old point is still there.
  rocksdb::DBOptions o;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(o, dir.path.string(), &names).ok());
  for (const auto& n : names)
    cfs.push_back({n, {}});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(o, dir.path.string(), cfs, &handles, &raw).ok());
  auto series = std::find(names.begin(), names.end(), "series") - names.begin();
  std::string v;
  CHECK(raw->Get({}, handles[static_cast<std::size_t>(series)], std::string(12, '\x01'), &v).ok());
  CHECK(v == "\x08\x02");
  for (auto* h : handles)
    raw->DestroyColumnFamilyHandle(h);
  delete raw;
}

TEST_CASE("documents are replaced whole, survive a reopen and keep their audit record", "[store]") {
  temp_dir dir;
  std::string big(3u << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096)
    big[i] = static_cast<char>('a' + (i / 4096) % 26);
  {
    auto s = open_store(dir.path);
    CHECK_FALSE(s->get_document("energy-model").value());
    REQUIRE(s->put_document("energy-model", "first", "energy/1", "alice\ncreate"));
    REQUIRE(s->put_document("energy-model", big, "energy/2", "bob\nimport"));
    // Bad names are refused and write nothing.
    for (std::string_view bad : {"", "../escape", "a/b", ".hidden"}) {
      auto r = s->put_document(bad, "junk");
      REQUIRE_FALSE(r);
      CHECK(r.error().code == errc::invalid_argument);
      CHECK_THAT(r.error().message, Catch::Contains("bad document name"));
    }
  }
  auto s = open_store(dir.path);
  auto doc = s->get_document("energy-model");
  REQUIRE(doc);
  REQUIRE(*doc);
  CHECK(**doc == big);
  auto audit = s->audit("energy/");
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].second == "alice\ncreate");
  CHECK(audit[1].second == "bob\nimport");
  // No temporary file is left behind.
  for (const auto& f : std::filesystem::directory_iterator(dir.path / "documents"))
    CHECK(f.path().extension() != ".tmp");
}

TEST_CASE("a document's audit record goes first: a stop before the file is told, a failed file "
          "takes it back",
          "[store]") {
  temp_dir dir;
  auto s = open_store(dir.path);
  CHECK(s->document_current("energy-model", "anything"));  // nothing recorded yet
  REQUIRE(s->put_document("energy-model", "first", "energy/1", "alice\ncreate"));
  CHECK(s->document_current("energy-model", "first"));
  CHECK_FALSE(s->document_current("energy-model", "second"));
  // A stop between the record and the file: the record says "second", the
  // file still holds "first" (written back here as the stop would leave it).
  REQUIRE(s->put_document("energy-model", "second", "energy/2", "bob\nchange"));
  { std::ofstream(dir.path / "documents" / "energy-model", std::ios::trunc) << "first"; }
  auto doc = s->get_document("energy-model");
  REQUIRE(doc);
  REQUIRE(*doc);
  CHECK(**doc == "first");
  CHECK_FALSE(s->document_current("energy-model", **doc));
  REQUIRE(s->adopt_document("energy-model", **doc, "energy/3", "plantd\nrecovery"));
  CHECK(s->document_current("energy-model", "first"));
  CHECK(s->audit("energy/").size() == 3);
  // A file that cannot be written (a directory in its place): refused, and
  // its record and digest are taken back.
  std::filesystem::create_directories(dir.path / "documents" / "blocked" / "inside");
  REQUIRE_FALSE(s->put_document("blocked", "v1", "", ""));  // fails too: nothing recorded
  CHECK(s->document_current("blocked", "anything"));
  auto r = s->put_document("blocked", "v2", "energy/4", "carol\nchange");
  REQUIRE_FALSE(r);
  CHECK(s->audit("energy/").size() == 3);
  CHECK(s->document_current("blocked", "anything"));
}

TEST_CASE(
  "energy records are walked in key order under a prefix, one at a time, and the walk can stop",
  "[store]") {
  temp_dir dir;
  auto s = open_store(dir.path);
  std::vector<std::pair<std::string, std::string>> kvs;
  for (int i = 0; i < 1000; ++i)
    kvs.emplace_back(fmt::format("hour/m{}/{:016x}", i % 7, i), fmt::format("{}\n0", i));
  kvs.emplace_back("entry/x/1", "outside");
  kvs.emplace_back("hour", "outside too");
  REQUIRE(s->put_energy(kvs));
  std::vector<std::string> keys;
  auto seen = s->each_energy("hour/", [&](std::string_view k, std::string_view v) {
    CHECK(v.find('\n') != std::string_view::npos);
    keys.emplace_back(k);
    return true;
  });
  CHECK(seen == 1000);
  REQUIRE(keys.size() == 1000);
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  CHECK(keys.front() == "hour/m0/0000000000000000");
  // Stopping after the third record.
  int calls = 0;
  CHECK(s->each_energy("hour/m3/", [&](std::string_view, std::string_view) { return ++calls < 3; })
        == 3);
  CHECK(calls == 3);
  // The copying scan agrees and honours its limit.
  CHECK(s->scan_energy("hour/m3/").size() == 143);
  CHECK(s->scan_energy("hour/m3/", 5).size() == 5);
  CHECK(s->scan_energy("hour/m3/", 0).empty());
  CHECK(s->scan_energy("nothing/").empty());
  // Starting at a key under the prefix: m3's records from index 500 on.
  keys.clear();
  s->each_energy(
    "hour/m3/",
    [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    },
    fmt::format("hour/m3/{:016x}", 500));
  REQUIRE(!keys.empty());
  CHECK(keys.front() == fmt::format("hour/m3/{:016x}", 500 + (3 - 500 % 7 + 7) % 7));
  CHECK(keys.back() == fmt::format("hour/m3/{:016x}", 997));
  CHECK(keys.size() == 72);
  // A start outside the prefix is ignored: the walk starts at the prefix.
  CHECK(s->each_energy(
          "hour/m3/", [](std::string_view, std::string_view) { return true; }, "entry/")
        == 143);
}

TEST_CASE("the write-ahead log stays bounded while a family written once keeps its memtable",
          "[store][bounded]") {
  temp_dir dir;
  store::store_options o{berlin(), false};
  o.max_wal_bytes = 1u << 20;
  o.write_buffer_bytes = 8u << 20;
  auto s = store::store::open(dir.path, o);
  REQUIRE(s);
  auto& db = *s.value();
  // One small write to a family that is then never written again (the
  // config history): without a bound its memtable pins every log file.
  alarms::alarm raised;
  raised.id = 1;
  raised.code = "comm_lost";
  REQUIRE(db.put_alarm(raised));
  auto id = db.series_id("plant.grid_w").value();
  int64_t t = 1'700'000'000'000;
  // The log is measured once the flushes it asked for are done: they run
  // in the background, and on a slow disk the log grows past its bound
  // while one runs (that moment is no property of the store). RocksDB
  // applies the bound when a write comes: a plant writes every second, so
  // the wait writes one point a step to another series, as the plant
  // would. Unbounded, the log never comes back down: the family written
  // once holds its first file, and every file after it.
  auto other = db.series_id("plant.load_w").value();
  int64_t other_t = t;
  auto settled_wal = [&db, other, &other_t] {
    for (int i = 0; i < 200 && db.wal_bytes() >= 3u << 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      REQUIRE(
        db.write(std::vector<store::point>{{other, other_t += 1000, 1.0, quality::measured}}));
    }
    return db.wal_bytes();
  };
  for (int batch = 0; batch < 4000; ++batch) {
    std::vector<store::point> pts;
    for (int i = 0; i < 500; ++i, t += 200)
      pts.push_back({id, t, std::sin(static_cast<double>(t)) * 50'000, quality::measured});
    REQUIRE(db.write(pts));
    if (batch % 1000 == 999) {
      // 500,000 points more through the log each time (about 5 MB).
      auto wal = settled_wal();
      INFO("after batch " << batch << " the log holds " << wal << " bytes");
      CHECK(wal < 3u << 20);
    }
  }
  // 2,000,000 points went through the log (about 21 MB unbounded).
  // Everything is still there.
  CHECK(db.alarms().size() == 1);
  CHECK(db.raw(id, 0, INT64_MAX).size() == 2'000'000);
}

TEST_CASE("the energy records have a Bloom filter: a new hour's lookup reads no table block",
          "[store]") {
  temp_dir dir;
  {
    auto s = store::store::open(dir.path, {berlin(), false});
    REQUIRE(s);
  }
  // RocksDB writes the options each family runs with to OPTIONS-<n>.
  std::filesystem::path newest;
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    if (e.path().filename().string().starts_with("OPTIONS-") && e.path() > newest)
      newest = e.path();
  REQUIRE_FALSE(newest.empty());
  std::ifstream in{newest};
  std::string line, section, energy_filter;
  while (std::getline(in, line)) {
    if (line.starts_with("["))
      section = line;
    else if (section == "[TableOptions/BlockBasedTable \"energy\"]"
             && line.find("filter_policy=") != std::string::npos)
      energy_filter = line;
  }
  INFO(newest.string());
  CHECK(energy_filter.find("bloomfilter") != std::string::npos);
}
