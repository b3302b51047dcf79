// The store actor and the alarm actor together: plant states are recorded,
// a failing disk raises a storage alarm without touching control, and the
// alarm clears when writes succeed again.
#include "test/support/actor_fixture.hpp"

#include <algorithm>
#include <filesystem>

#include <random>

#include <fmt/format.h>

#include "actors/alarm_actor.hpp"
#include "actors/errors.hpp"
#include "actors/store_actor.hpp"
#include "actors/uplink_actor.hpp"

using namespace plantd;
using namespace std::chrono_literals;

namespace {

struct resources {
  manual_clock clk{time_point{std::chrono::milliseconds{1'780'000'000'000}}};
  std::filesystem::path dir =
    std::filesystem::temp_directory_path() / ("plantd-store-actor-" + std::to_string(::getpid()));
  std::shared_ptr<store::store> db;
  bool disk_full = false;
  uint64_t max_disk_bytes = 0;
  resources() {
    std::filesystem::remove_all(dir);
    db = std::move(*store::store::open(dir));
  }
  ~resources() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

// Three days of four series at 1 Hz, then a budget of 60 % of what they take.
struct recorded_days : resources {
  int64_t t0 = clk.now().time_since_epoch().count() - 3 * 86'400'000;
  recorded_days() {
    std::vector<store::point> batch;
    std::mt19937 noise{7};
    for (int s = 0; s < 4; ++s) {
      auto id = *db->series_id(fmt::format("cabinet.C0{}.power_w", s + 1));
      for (int64_t t = t0; t < t0 + 3 * 86'400'000; t += 1000) {
        // Values as noisy as a real power reading (raw points dominate the disk).
        batch.push_back({id, t, static_cast<double>(noise() % 100'000) / 10.0, quality::measured});
        if (batch.size() == 50'000) {
          REQUIRE(db->write(batch));
          batch.clear();
        }
      }
    }
    REQUIRE(db->write(batch));
    db->compact();
    max_disk_bytes = db->disk_bytes() * 6 / 10;
  }
};

template <class R>
struct basic_fixture : R, test::actor_fixture {
  using R::clk;
  using R::db;
  actors::alarm_api alarms;
  actors::store_api recorder;

  basic_fixture() {
    alarms = sys.spawn(actors::alarm_actor, actors::alarm_actor_args{db, {}, &clk, nullptr});
    actors::store_actor_args a;
    a.db = db;
    a.clk = &clk;
    a.alarms = alarms;
    a.max_disk_bytes = this->max_disk_bytes;
    a.write = [this](const std::vector<store::point>& batch) -> expected<void, store::error> {
      if (this->disk_full)
        return unexpected{
          store::error{errc::resource_exhausted, "IO error: No space left on device"}};
      return db->write(batch);
    };
    recorder = sys.spawn(actors::store_actor, a);
    sched.run();
  }

  ~basic_fixture() {
    caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(alarms, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void publish(double grid) {
    actors::plant_state s;
    s.time = clk.now();
    s.grid_w = {grid, quality::measured};
    s.soc_percent = {55, quality::measured};
    self->send(recorder, s);
    self->send(alarms, s);
    sched.run();
  }

  void second() {
    clk.advance(1s);
    sched.advance_time(1s);
    sched.run();
  }

  std::vector<alarms::alarm> open_alarms() {
    auto r = ask<std::vector<alarms::alarm>>(
      alarms, caf::get_atom_v, alarms::filter{alarms::filter::which::open, "", 0, 100});
    REQUIRE(r);
    return *r;
  }
};

using fixture = basic_fixture<resources>;

}  // namespace

TEST_CASE_METHOD(basic_fixture<recorded_days>,
                 "past the disk budget the oldest raw days go, with a warning, rollups stay and "
                 "what the uplink had not sent is counted as lost",
                 "[actors][store][alarms]") {
  auto id = *db->find_series("cabinet.C01.power_w");
  auto before = db->disk_bytes();
  REQUIRE(db->put_state(actors::uplink_cursor_key, std::to_string(t0 + 3'600'000)));
  REQUIRE(db->oldest_raw_ms() == t0 / 3'600'000 * 3'600'000);
  // The budget is checked once a minute, a day of raw points a time.
  for (int minute = 0; minute < 5 && db->disk_bytes() > max_disk_bytes; ++minute) {
    publish(1);
    for (int i = 0; i < 60; ++i)
      second();
  }
  publish(2);
  auto after = db->disk_bytes();
  INFO("before " << before << " after " << after << " budget " << max_disk_bytes);
  CHECK(after <= max_disk_bytes);
  // Whole days went, oldest first: the newest day is all there.
  auto oldest = db->oldest_raw_ms();
  REQUIRE(oldest);
  CHECK(*oldest >= t0 + 86'400'000 - 3'600'000);
  CHECK(db->raw(id, t0 + 2 * 86'400'000, t0 + 3 * 86'400'000).size() == 86'400);
  CHECK(db->raw(id, 0, t0 + 86'400'000 - 3'600'000).empty());
  // Day rollups of what went stay.
  CHECK_FALSE(db->rollup(id, telemetry::resolution::day, t0 - 86'400'000, t0 + 86'400'000).empty());
  auto removed_reply = ask<uint64_t>(recorder, caf::get_atom_v, actors::store_atom_v);
  REQUIRE(removed_reply);
  auto removed = *removed_reply;
  CHECK(removed >= 4 * 86'400 - 4 * 3'600);
  // The uplink had sent the first hour only.
  CHECK(actors::read_counter(*db, actors::uplink_lost_key) == removed - 4 * 3'600);
  auto open = open_alarms();
  REQUIRE(open.size() == 1);
  CHECK(open[0].code == "storage_budget");
  CHECK(open[0].level == alarms::severity::warning);
  CHECK_THAT(open[0].text, Catch::Contains("storage.max_disk_mb"));
}

TEST_CASE_METHOD(fixture, "plant states are recorded once a second", "[actors][store]") {
  for (int i = 0; i < 5; ++i) {
    publish(1000.0 * i);
    publish(-1.0);  // same second: not recorded
    second();
  }
  auto id = db->find_series("plant.grid_w");
  REQUIRE(id);
  auto pts = db->raw(*id, 0, INT64_MAX);
  REQUIRE(pts.size() == 5);
  CHECK(pts[3].value == 3000);
  CHECK(db->find_series("plant.soc_percent"));
}

TEST_CASE_METHOD(fixture, "a failing disk raises a storage alarm that clears",
                 "[actors][store][alarms]") {
  publish(1);
  second();
  CHECK(open_alarms().empty());
  disk_full = true;
  publish(2);
  second();
  publish(3);  // the alarm actor folds storage conditions in on the next state
  auto open = open_alarms();
  REQUIRE(open.size() == 1);
  CHECK(open[0].code == "storage_fault");
  CHECK_THAT(open[0].text, Catch::Contains("No space left"));
  disk_full = false;
  second();
  publish(4);
  second();
  publish(5);
  CHECK(open_alarms().empty());
}

TEST_CASE_METHOD(fixture, "bulk points are written in batches and on flush", "[actors][store]") {
  auto id = *db->series_id("bulk");
  std::vector<store::point> pts;
  for (int i = 0; i < 25'000; ++i)
    pts.push_back({id, 1'000'000 + i * 1000LL, static_cast<double>(i), quality::measured});
  self->send(recorder, std::vector<store::point>(pts.begin(), pts.begin() + 12'000));
  sched.run();
  CHECK(db->raw(id, 0, INT64_MAX).size() == 12'000);  // over 10,000 pending: written at once
  self->send(recorder, std::vector<store::point>(pts.begin() + 12'000, pts.end()));
  auto written = ask<uint64_t>(recorder, actors::flush_atom_v);
  REQUIRE(written);
  CHECK(*written == 25'000);
  CHECK(db->raw(id, 0, INT64_MAX).size() == 25'000);
}

TEST_CASE_METHOD(fixture,
                 "foreign_master is released by an installer's acknowledgement only, "
                 "and held conditions from other actors raise and clear by source",
                 "[actors][alarms]") {
  actors::plant_state s;
  s.time = clk.now();
  s.conditions.push_back(
    {"foreign_master", "C02", alarms::severity::critical, "another controller is writing to C02"});
  self->send(alarms, s);
  // A condition another actor holds (the network hook), beside the store's.
  self->send(alarms, actors::store_atom_v, std::string{"network"},
             std::vector<alarms::condition>{
               {"network_settings", "plant", alarms::severity::warning, "hook exited 3"}});
  sched.run();
  clk.advance(1s);
  s.time = clk.now();
  self->send(alarms, s);  // held conditions are folded in with the next state
  sched.run();
  auto open = open_alarms();
  REQUIRE(open.size() == 2);
  auto fm = std::find_if(open.begin(), open.end(),
                         [](const auto& a) { return a.code == "foreign_master"; });
  REQUIRE(fm != open.end());
  auto refused =
    ask<alarms::alarm>(alarms, actors::ack_atom_v, fm->id, std::string{"user:owner"}, false);
  REQUIRE_FALSE(refused);
  CHECK(actors::to_errc(refused.error()) == errc::permission_denied);
  CHECK_THAT(actors::error_text(refused.error()), Catch::Contains("installer"));
  auto done =
    ask<alarms::alarm>(alarms, actors::ack_atom_v, fm->id, std::string{"user:installer"}, true);
  REQUIRE(done);
  CHECK(done->acked_by == "user:installer");
  // Another alarm needs no such right.
  auto net = std::find_if(open.begin(), open.end(),
                          [](const auto& a) { return a.code == "network_settings"; });
  REQUIRE(net != open.end());
  CHECK(ask<alarms::alarm>(alarms, actors::ack_atom_v, net->id, std::string{"user:owner"}, false));
  // The network source clears its condition; the store's (none) is untouched.
  self->send(alarms, actors::store_atom_v, std::string{"network"},
             std::vector<alarms::condition>{});
  sched.run();
  clk.advance(1s);
  s.time = clk.now();
  self->send(alarms, s);
  sched.run();
  open = open_alarms();
  REQUIRE(open.size() == 1);
  CHECK(open[0].code == "foreign_master");
}
