// The store actor and the alarm actor together: plant states are recorded,
// a failing disk raises a storage alarm without touching control, and the
// alarm clears when writes succeed again.
#include "test/support/actor_fixture.hpp"

#include <filesystem>

#include "actors/alarm_actor.hpp"
#include "actors/store_actor.hpp"

using namespace plantd;
using namespace std::chrono_literals;

namespace {

struct resources {
  manual_clock clk{time_point{std::chrono::milliseconds{1'780'000'000'000}}};
  std::filesystem::path dir = std::filesystem::temp_directory_path()
                              / ("plantd-store-actor-" + std::to_string(::getpid()));
  std::shared_ptr<store::store> db;
  bool disk_full = false;
  resources() {
    std::filesystem::remove_all(dir);
    db = std::move(*store::store::open(dir));
  }
  ~resources() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

struct fixture : resources, test::actor_fixture {
  caf::actor alarms;
  caf::actor recorder;

  fixture() {
    alarms = sys.spawn(actors::alarm_actor, actors::alarm_actor_args{db, caf::actor{}, &clk, nullptr});
    actors::store_actor_args a;
    a.db = db;
    a.clk = &clk;
    a.alarms = alarms;
    a.write = [this](const std::vector<store::point>& batch) -> expected<void, std::string> {
      if (disk_full)
        return unexpected{std::string{"IO error: No space left on device"}};
      return db->write(batch);
    };
    recorder = sys.spawn(actors::store_actor, a);
    sched.run();
  }

  ~fixture() {
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
    auto r = ask<std::vector<alarms::alarm>>(alarms, caf::get_atom_v,
                                             alarms::filter{alarms::filter::which::open, "", 0, 100});
    REQUIRE(r);
    return *r;
  }
};

} // namespace

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

TEST_CASE_METHOD(fixture, "a failing disk raises a storage alarm that clears", "[actors][store][alarms]") {
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
