// rules::mode: the working mode's target before the limits, smoothed by ramp
// and deadband.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

namespace {

plant::tou_slot slot_of(plant::slot_action a, double power_w = 0, bool grid_charge = false) {
  plant::tou_slot s;
  s.action = a;
  s.power_w = power_w;
  s.grid_charge = grid_charge;
  return s;
}

}  // namespace

TEST_CASE("mode: the target of each working mode", "[dispatch][rules]") {
  using act = plant::slot_action;
  using wm = plant::working_mode;
  struct row {
    const char* what;
    wm mode;
    std::optional<plant::tou_slot> slot;
    double balance_w;
    double expect_w;
    rule binding;
  };
  const row rows[] = {
    {"self-consumption importing", wm::self_consumption, {}, 7'000, 7'000, rule::self_consumption},
    {"self-consumption exporting",
     wm::self_consumption,
     {},
     -4'000,
     -4'000,
     rule::self_consumption},
    {"TOU outside every slot", wm::time_of_use, {}, 7'000, 0, rule::time_of_use},
    {"TOU discharge", wm::time_of_use, slot_of(act::discharge, 30'000), 7'000, 30'000,
     rule::time_of_use},
    {"TOU charge from the grid", wm::time_of_use, slot_of(act::charge, 30'000, true), 7'000,
     -30'000, rule::time_of_use},
    {"TOU charge from surplus only, importing", wm::time_of_use, slot_of(act::charge, 30'000),
     7'000, 0, rule::time_of_use},
    {"TOU charge from surplus only, exporting 12 kW", wm::time_of_use, slot_of(act::charge, 30'000),
     -12'000, -12'000, rule::time_of_use},
    {"TOU charge from surplus only, exporting more than the slot's power", wm::time_of_use,
     slot_of(act::charge, 30'000), -50'000, -30'000, rule::time_of_use},
    {"TOU self-consume", wm::time_of_use, slot_of(act::self_consume), 7'000, 7'000,
     rule::time_of_use},
    {"TOU idle", wm::time_of_use, slot_of(act::idle), 7'000, 0, rule::time_of_use},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    plant::policies p;
    p.mode = r.mode;
    auto st = state_for();
    auto t = rules::mode(plant_at(0), p, r.slot ? &*r.slot : nullptr, r.balance_w, 0, st);
    CHECK(t.w == r.expect_w);
    CHECK(t.binding == r.binding);
  }
}

TEST_CASE("mode: a manual setpoint wins until it expires", "[dispatch][rules]") {
  struct row {
    const char* what;
    std::chrono::milliseconds expires_in;
    double expect_w;
    rule binding;
    bool kept;
  };
  const row rows[] = {
    {"in force", 1ms, -20'000, rule::manual, true},
    {"expired now", 0ms, 5'000, rule::self_consumption, false},
    {"expired before", -1s, 5'000, rule::self_consumption, false},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto st = state_for();
    st.manual = manual_setpoint{-20'000, t0 + r.expires_in};
    auto t = rules::mode(plant_at(0), {}, nullptr, 5'000, 0, st);
    CHECK(t.w == r.expect_w);
    CHECK(t.binding == r.binding);
    CHECK(st.manual.has_value() == r.kept);
  }
}

TEST_CASE("mode: self-consumption does not discharge while PV is curtailed", "[dispatch][rules]") {
  struct row {
    double last_pv_fraction;
    double balance_w;
    bool manual;
    double expect_w;
  };
  const row rows[] = {
    {1.0, 5'000, false, 5'000},    // PV free: discharge
    {0.6, 5'000, false, 0},        // PV curtailed: PV covers the load first
    {0.6, -5'000, false, -5'000},  // charging is fine
    {0.6, 5'000, true, 9'000},     // a manual setpoint is obeyed
  };
  for (const auto& r : rows) {
    auto st = state_for();
    st.last_pv_fraction = r.last_pv_fraction;
    if (r.manual)
      st.manual = manual_setpoint{9'000, t0 + 1h};
    CHECK(rules::mode(plant_at(0), {}, nullptr, r.balance_w, 0, st).w == r.expect_w);
  }
}

TEST_CASE("mode: ramp and deadband against the last decision", "[dispatch][rules]") {
  struct row {
    const char* what;
    double ramp_w_per_s;
    double deadband_w;
    double dt_s;
    bool initialized;
    double balance_w;
    double expect_w;
  };
  // The last decision was 10 kW.
  const row rows[] = {
    {"no ramp", 0, 0, 1, true, 50'000, 50'000},
    {"ramp up", 5'000, 0, 2, true, 50'000, 20'000},
    {"ramp down", 5'000, 0, 1, true, -50'000, 5'000},
    {"within the ramp", 5'000, 0, 1, true, 12'000, 12'000},
    {"first decision: no ramp", 5'000, 0, 0, false, 50'000, 50'000},
    {"within the deadband", 0, 1'000, 1, true, 10'900, 10'000},
    {"at the deadband", 0, 1'000, 1, true, 11'000, 11'000},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    plant::policies p;
    p.distribution = {r.ramp_w_per_s, r.deadband_w};
    auto st = state_for();
    st.initialized = r.initialized;
    st.last_battery_w = 10'000;
    CHECK(rules::mode(plant_at(0), p, nullptr, r.balance_w, r.dt_s, st).w == r.expect_w);
  }
}
