// rules::measure: what the plant does now, and the balance taken once per
// grid sample.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("measure: the grid meter counts only while usable and recent", "[dispatch][rules]") {
  struct row {
    const char* what;
    quality q;
    std::chrono::milliseconds age;  // now - grid_time (< 0: stamped later)
    bool meter_ok;
    double grid_w;
    double balance_w;  // grid + battery (battery 3 kW discharging)
  };
  const row rows[] = {
    {"fresh", quality::measured, 0ms, true, -8'000, -5'000},
    {"at the stale time", quality::measured, 2000ms, true, -8'000, -5'000},
    {"past the stale time", quality::measured, 2001ms, false, 0, 3'000},
    {"stamped after now (clock set back)", quality::measured, -1ms, false, 0, 3'000},
    {"invalid", quality::invalid, 0ms, false, 0, 3'000},
    {"missing", quality::missing, 0ms, false, 0, 3'000},
  };
  plant::fail_safe fs;  // meter_stale_ms 2000
  for (const auto& r : rows) {
    INFO(r.what);
    auto s = plant_at(-8'000);
    s.grid_w.quality = r.q;
    s.grid_time = s.now - r.age;
    s.cabinets[0].power_w = 3'000;
    auto st = state_for();
    auto m = rules::measure(s, fs, st);
    CHECK(m.meter_ok == r.meter_ok);
    CHECK(m.grid_w == r.grid_w);
    CHECK(m.balance_w == r.balance_w);
    CHECK(st.have_balance == r.meter_ok);
  }
}

TEST_CASE("measure: stale devices count for nothing, every inverter's rating counts",
          "[dispatch][rules]") {
  auto s = plant_at(1'000, 3);
  s.cabinets[0].power_w = 10'000;
  s.cabinets[1].power_w = 20'000;
  s.cabinets[2].power_w = 40'000;
  s.cabinets[2].fresh = false;
  s.inverters = {{true, 20'000, 7'000}, {false, 30'000, 9'000}};
  auto st = state_for(3);
  auto m = rules::measure(s, {}, st);
  CHECK(m.battery_w == 30'000);
  CHECK(m.pv_w == 7'000);
  CHECK(m.pv_rated_w == 50'000);
  CHECK(m.balance_w == 31'000);
  CHECK(m.pv_at_sample_w == 7'000);
}

TEST_CASE("measure: a grid sample seen again keeps the balance taken from it",
          "[dispatch][rules]") {
  struct row {
    const char* what;
    std::chrono::milliseconds sample_later;  // the second sample's time, after the first
    double second_grid_w;
    double balance_w;  // the second call's
    double pv_w;
  };
  // First call: grid 5 kW, battery 0, PV 4 kW -> balance 5 kW. Then the
  // battery moves to 5 kW and PV to 6 kW.
  const row rows[] = {
    {"the same sample", 0ms, 5'000, 5'000, 4'000},
    {"a new sample", 100ms, 0, 5'000, 6'000},
    {"a new value at the same time", 0ms, 1'000, 6'000, 6'000},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto s = plant_at(5'000);
    s.inverters = {{true, 20'000, 4'000}};
    auto st = state_for();
    CHECK(rules::measure(s, {}, st).balance_w == 5'000);
    s.cabinets[0].power_w = 5'000;
    s.inverters[0].power_w = 6'000;
    s.now += 200ms;
    s.grid_time += r.sample_later;
    s.grid_w.value = r.second_grid_w;
    auto m = rules::measure(s, {}, st);
    CHECK(m.balance_w == r.balance_w);
    CHECK(m.pv_at_sample_w == r.pv_w);
    CHECK(m.pv_w == 6'000);
  }
}
