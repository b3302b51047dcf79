// rules::trip: export beyond the limit and tolerance, measured, for longer
// than the protection time opens the trip output; latched.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("trip: a sequence of grid readings", "[dispatch][rules]") {
  struct row {
    std::chrono::milliseconds at;  // since t0
    double grid_w;
    bool meter_ok;
    bool tripped;
  };
  // Limit 5 kW, tolerance 1 kW (1 % of 200 kW rated is 2 kW: set explicitly
  // to 1 kW), protection time 3 s.
  const row rows[] = {
    {0ms, -5'500, true, false},      // within the tolerance
    {1000ms, -6'500, true, false},   // beyond: counting from here
    {3000ms, -7'000, true, false},   // 2 s
    {3500ms, -5'900, true, false},   // back within: the count restarts
    {4000ms, -6'100, true, false},   // counting from 4 s
    {6000ms, -6'100, false, false},  // meter lost: not counted, not reset
    {6999ms, -6'100, true, false},   // 2.999 s
    {7000ms, -6'100, true, true},    // 3 s: trip
    {8000ms, 2'000, true, true},     // latched
  };
  plant::policies p;
  p.export_limit.enabled = true;
  p.export_limit.limit_w = 5'000;
  p.export_limit.trip_tolerance_w = 1'000;
  p.export_limit.max_protection_time_ms = 3000;
  auto st = state_for();
  for (const auto& r : rows) {
    INFO(r.at.count() << " ms");
    auto s = plant_at(r.grid_w);
    s.now = t0 + r.at;
    rules::measured m;
    m.meter_ok = r.meter_ok;
    m.grid_w = r.meter_ok ? r.grid_w : 0;
    CHECK(rules::trip(s, p, m, 200'000, 1, st) == r.tripped);
    CHECK(st.export_trip == r.tripped);
  }
  st.reset_trip();
  CHECK_FALSE(st.export_trip);
}

TEST_CASE("trip: the default tolerance, no output, the clock set back", "[dispatch][rules]") {
  struct row {
    const char* what;
    double rated_w;
    double grid_w;
    uint32_t output;
    bool counting;  // export counted as beyond the limit
    bool opens;
  };
  // Limit 0 W; tolerance the larger of 500 W and 1 % of the rated power.
  const row rows[] = {
    {"small plant: 500 W", 20'000, -501, 1, true, true},
    {"small plant, within", 20'000, -499, 1, false, false},
    {"large plant: 1 %", 400'000, -3'999, 1, false, false},
    {"large plant, beyond", 400'000, -4'001, 1, true, true},
    {"no trip output configured", 20'000, -10'000, 0, true, false},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    plant::policies p;
    p.export_limit.enabled = true;
    p.export_limit.max_protection_time_ms = 0;
    auto st = state_for();
    auto s = plant_at(r.grid_w);
    rules::measured m;
    m.meter_ok = true;
    m.grid_w = r.grid_w;
    rules::trip(s, p, m, r.rated_w, r.output, st);  // starts counting
    CHECK(st.export_exceeded_since.has_value() == r.counting);
    s.now += 1ms;
    CHECK(rules::trip(s, p, m, r.rated_w, r.output, st) == r.opens);
    CHECK(st.export_trip == r.counting);
  }
  // A count started "in the future" (the clock was set back) starts again now.
  plant::policies p;
  p.export_limit.enabled = true;
  auto st = state_for();
  auto s = plant_at(-10'000);
  st.export_exceeded_since = s.now + 1h;
  rules::measured m;
  m.meter_ok = true;
  m.grid_w = -10'000;
  CHECK_FALSE(rules::trip(s, p, m, 20'000, 1, st));
  CHECK(st.export_exceeded_since == s.now);
}
