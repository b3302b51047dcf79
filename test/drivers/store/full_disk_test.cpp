// A full disk degrades the store; it never stops plantd. Deterministic: a
// file system that fails every write with ENOSPC on command
// (test/support/full_disk.hpp) under a real RocksDB.
#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

#include "drivers/store/store.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/full_disk.hpp"

using namespace plantd;
using namespace plantd::store;

namespace {

using test::temp_dir;

struct full_disk_store {
  temp_dir dir;
  std::shared_ptr<test::disk> disk = std::make_shared<test::disk>();
  std::unique_ptr<rocksdb::Env> env = test::env_on(disk);

  store_options options() {
    store_options o;
    o.env = env.get();
    o.resume_free_bytes = 1;  // the test disk reports 0 while full
    return o;
  }
  std::unique_ptr<store::store> open() {
    auto s = store::store::open(dir.path / "store", options());
    INFO((s ? std::string{} : s.error()));
    REQUIRE(s);
    return std::move(*s);
  }
};

std::vector<point> second_of(uint32_t id, int64_t t) {
  return {{id, t, static_cast<double>(t % 1000), quality::measured}};
}

}  // namespace

TEST_CASE("a full disk: writes are refused and counted, reads go on, and writes resume "
          "by themselves when there is room",
          "[store][full-disk]") {
  full_disk_store f;
  auto db = f.open();
  auto id = db->series_id("plant.grid_w");
  REQUIRE(id);
  int64_t t = 1'780'000'000'000;
  for (int i = 0; i < 10; ++i, t += 1000)
    REQUIRE(db->write(second_of(*id, t)));
  REQUIRE_FALSE(db->health().degraded);

  f.disk->full = true;
  int refused = 0;
  for (int i = 0; i < 50; ++i, t += 1000)
    if (auto r = db->write(second_of(*id, t)); !r) {
      ++refused;
      // A full disk, as the callers' one error enum says it (a client is
      // told RESOURCE_EXHAUSTED, not that plantd is away).
      INFO(r.error().message);
      CHECK(r.error().code == errc::resource_exhausted);
    }
  CHECK(refused == 50);  // none acknowledged and lost
  auto h = db->health();
  CHECK(h.degraded);
  CHECK(h.refused_writes >= 50);
  CHECK_THAT(h.error, Catch::Contains("No space left on device"));
  // Recovery while still full does nothing (and does not abort).
  CHECK(db->recover().degraded);
  // What was stored stays readable.
  CHECK(db->raw(*id, 0, INT64_MAX).size() == 10);

  f.disk->full = false;
  auto after = db->recover();
  INFO(after.error);
  CHECK_FALSE(after.degraded);
  REQUIRE(db->write(second_of(*id, t)));
  CHECK(db->raw(*id, 0, INT64_MAX).size() == 11);
}

TEST_CASE("a store opened on a full disk starts read-only and takes writes once there is room",
          "[store][full-disk]") {
  full_disk_store f;
  int64_t t = 1'780'000'000'000;
  uint32_t id = 0;
  {
    auto db = f.open();
    auto sid = db->series_id("plant.grid_w");
    REQUIRE(sid);
    id = *sid;
    for (int i = 0; i < 5; ++i, t += 1000)
      REQUIRE(db->write(second_of(id, t)));
  }
  f.disk->full = true;
  auto db = f.open();  // does not fail, and does not abort
  auto h = db->health();
  CHECK(h.degraded);
  CHECK(h.read_only);
  CHECK(db->find_series("plant.grid_w") == id);
  CHECK(db->raw(id, 0, INT64_MAX).size() == 5);
  auto refused = db->write(second_of(id, t));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::resource_exhausted);
  CHECK(db->recover().read_only);  // still full

  f.disk->full = false;
  h = db->recover();
  INFO(h.error);
  CHECK_FALSE(h.degraded);
  CHECK_FALSE(h.read_only);
  REQUIRE(db->write(second_of(id, t)));
  CHECK(db->raw(id, 0, INT64_MAX).size() == 6);
}

TEST_CASE("a store opened read-only on a failing disk refuses writes as unavailable, not as a "
          "full disk",
          "[store][full-disk]") {
  full_disk_store f;
  int64_t t = 1'780'000'000'000;
  uint32_t id = 0;
  {
    auto db = f.open();
    id = *db->series_id("plant.grid_w");
    REQUIRE(db->write(second_of(id, t)));
  }
  f.disk->failing = true;
  auto db = f.open();
  REQUIRE(db->health().read_only);
  auto refused = db->write(second_of(id, t + 1000));
  REQUIRE_FALSE(refused);
  INFO(refused.error().message);
  CHECK(refused.error().code == errc::unavailable);
  CHECK(db->raw(id, 0, INT64_MAX).size() == 1);
}

TEST_CASE("a full disk for many flush intervals: RocksDB's background retries never abort",
          "[store][full-disk]") {
  full_disk_store f;
  auto db = f.open();
  auto id = db->series_id("plant.grid_w");
  REQUIRE(id);
  int64_t t = 1'780'000'000'000;
  f.disk->full = true;
  // A flush of a memtable on a full disk is a background error; the store
  // goes on answering (this used to abort in RocksDB's LOG writer).
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 100; ++i, t += 1000)
      db->write(second_of(*id, t));
    db->recover();
    CHECK(db->health().degraded);
  }
  f.disk->full = false;
  CHECK_FALSE(db->recover().degraded);
  CHECK(db->write(second_of(*id, t)));
}
