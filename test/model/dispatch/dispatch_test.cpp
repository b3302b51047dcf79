// The dispatch rule stack as tables of cycles: inputs, a time leap, expected
// setpoints and the rule that bound them.
#include <catch2/catch.hpp>

#include "model/dispatch/dispatch.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace std::chrono_literals;

namespace {

// 2026-06-03 (Wednesday) 12:00 UTC = 22:00 in Sydney (AEST, no DST in June).
const time_point t0{std::chrono::milliseconds{1'780'488'000'000}};

struct bench {
  plant::config cfg;
  state st;
  snapshot snap;

  explicit bench(std::size_t cabinets = 1)
    : cfg(test::valid_config(cabinets)) {
    cfg.policies.export_limit.enabled = false;
    cfg.policies.distribution = {};
    snap.now = t0;
    snap.cabinets.resize(cabinets);
    for (auto& c : snap.cabinets) {
      c.fresh = true;
      c.soc = 50;
      c.allowed_charge_w = 100'000;
      c.allowed_discharge_w = 100'000;
      c.rated_power_w = 100'000;
    }
    snap.inverters = {{true, 20'000, 0}, {true, 20'000, 0}};
    grid(0);
  }

  void grid(double w) {
    snap.grid_w = {w, quality::measured};
    snap.grid_time = snap.now;
  }

  // Battery measured = what the last decision asked for (an ideal plant).
  void follow(const decision& d) {
    for (std::size_t i = 0; i < snap.cabinets.size(); ++i)
      snap.cabinets[i].power_w = d.cabinet_w[i];
  }

  decision step(std::chrono::milliseconds leap = 1000ms) {
    snap.now += leap;
    snap.grid_time += leap;
    return dispatcher{cfg}.decide(snap, st);
  }
};

}  // namespace

TEST_CASE("self-consumption drives the grid to 0 W", "[dispatch]") {
  bench b;
  struct row {
    double grid_w;
    double battery_now_w;
    double expect_w;
  };
  auto r = GENERATE(values<row>({
    {10'000, 0, 10'000},     // importing: discharge
    {-5'000, 0, -5'000},     // exporting: charge
    {2'000, 8'000, 10'000},  // already discharging 8 kW, 2 kW still imported
    {-1'000, -3'000, -4'000},
  }));
  b.snap.cabinets[0].power_w = r.battery_now_w;
  b.grid(r.grid_w);
  auto d = b.step();
  CHECK(d.battery_w == Approx(r.expect_w));
  CHECK(d.binding == rule::self_consumption);
  CHECK(d.pv_limit_fraction == 1.0);
}

TEST_CASE("zero export: the battery absorbs first, PV is curtailed once it is full",
          "[dispatch][export]") {
  bench b;
  b.cfg.policies.export_limit.enabled = true;
  b.cfg.policies.export_limit.limit_w = 0;
  b.snap.inverters = {{true, 20'000, 15'000}, {true, 20'000, 15'000}};  // 30 kW PV
  SECTION("battery has room: it charges the surplus, PV stays free") {
    b.grid(-20'000);
    auto d = b.step();
    CHECK(d.battery_w == Approx(-20'000));
    CHECK(d.pv_limit_fraction == 1.0);
  }
  SECTION("battery full: PV limited to what the site uses") {
    b.snap.cabinets[0].soc = 96;  // above max 95
    b.grid(-20'000);
    auto d = b.step();
    CHECK(d.battery_w == 0);
    CHECK(d.binding == rule::battery_protection);
    CHECK(d.pv_binding == rule::export_limit);
    CHECK(d.pv_limit_fraction == Approx(10'000.0 / 40'000));
    CHECK(d.inverter_limit_percent[0] == Approx(25));
  }
  SECTION("battery limited by the BMS: PV takes the rest of the cut") {
    b.snap.cabinets[0].allowed_charge_w = 5'000;
    b.grid(-20'000);
    auto d = b.step();
    CHECK(d.battery_w == Approx(-5'000));
    CHECK(d.pv_limit_fraction == Approx((30'000.0 - 15'000) / 40'000));
  }
  SECTION("a TOU discharge slot is cut back to what the site uses") {
    b.cfg.policies.mode = plant::working_mode::time_of_use;
    b.cfg.policies.tou = {
      {{}, "00:00", "24:00", plant::slot_action::discharge, 80'000, 0, 0, false}};
    b.snap.inverters = {{true, 20'000, 0}, {true, 20'000, 0}};
    b.grid(30'000);
    auto d = b.step();
    CHECK(d.battery_w == Approx(30'000));
    CHECK(d.binding == rule::export_limit);
  }
}

TEST_CASE("a curtailed PV is released as soon as the battery can take more", "[dispatch][export]") {
  bench b;
  b.cfg.policies.export_limit.enabled = true;
  b.snap.cabinets[0].soc = 96;
  b.snap.inverters = {{true, 20'000, 5'000}, {true, 20'000, 5'000}};  // curtailed to 10 kW
  b.grid(0);
  auto full = b.step();
  CHECK(full.pv_limit_fraction == Approx(10'000.0 / 40'000));
  b.snap.cabinets[0].soc = 80;  // room again (below max - hysteresis)
  auto room = b.step();
  CHECK(room.pv_limit_fraction == 1.0);
}

TEST_CASE("the export trip output opens after the maximum protection time", "[dispatch][export]") {
  bench b;
  b.cfg.policies.export_limit.enabled = true;
  b.cfg.policies.export_limit.max_protection_time_ms = 5000;
  b.cfg.io.gpio_chip = "/dev/gpiochip0";
  b.cfg.io.outputs = {{1, plant::output_function::export_limit_trip, "breaker"}};
  b.cfg.policies.export_limit.trip_output = 1;
  b.snap.cabinets[0].soc = 96;                                  // cannot absorb
  b.snap.inverters = {{false, 20'000, 0}, {false, 20'000, 0}};  // inverters not answering
  b.grid(-10'000);
  for (int s = 1; s <= 5; ++s) {
    CAPTURE(s);
    CHECK_FALSE(b.step().trip_output);
  }
  CHECK(b.step().trip_output);
  b.grid(0);
  CHECK(b.step().trip_output);  // latched
  b.st.reset_trip();
  CHECK_FALSE(b.step().trip_output);
}

TEST_CASE("demand limit: shave peaks above the limit, recharge below the threshold",
          "[dispatch][demand]") {
  bench b;
  b.cfg.policies.mode = plant::working_mode::time_of_use;
  b.cfg.policies.tou = {{{}, "00:00", "24:00", plant::slot_action::idle, 0, 0, 0, false}};
  b.cfg.policies.demand_limit = {true, 120'000, 40'000};
  b.grid(150'000);
  auto peak = b.step();
  CHECK(peak.battery_w == Approx(30'000));
  CHECK(peak.binding == rule::demand_limit);
  b.follow(peak);
  b.grid(120'000);  // the load stays, the battery now covers the excess
  CHECK(b.step().battery_w == Approx(30'000));
  b.snap.cabinets[0].power_w = 0;
  b.grid(20'000);
  auto low = b.step();
  CHECK(low.battery_w == Approx(-20'000));
  CHECK(low.binding == rule::demand_limit);
  b.grid(60'000);  // between the thresholds: idle
  auto mid = b.step();
  CHECK(mid.battery_w == 0);
  CHECK(mid.binding == rule::time_of_use);
}

TEST_CASE("SOC floor with hysteresis", "[dispatch][protection]") {
  bench b;  // min 10 %, hysteresis 2 %
  b.grid(30'000);
  struct row {
    double soc;
    double expect_w;
  };
  // Falling to the floor locks discharge; it unlocks only at 12 %.
  for (auto r : {row{15, 30'000}, row{10, 0}, row{11, 0}, row{11.9, 0}, row{12, 30'000}}) {
    CAPTURE(r.soc);
    b.snap.cabinets[0].soc = r.soc;
    auto d = b.step();
    CHECK(d.battery_w == Approx(r.expect_w));
    if (r.expect_w == 0)
      CHECK(d.binding == rule::battery_protection);
  }
}

TEST_CASE("temperature and cooling faults derate the cabinet", "[dispatch][protection]") {
  bench b;
  b.grid(100'000);
  b.snap.cabinets[0].cell_temp_max_c = 50;
  CHECK(b.step().battery_w == Approx(50'000));
  b.snap.cabinets[0].cooling_fault = true;
  CHECK(b.step().battery_w == Approx(25'000));
}

TEST_CASE("the derating thresholds and the trip tolerance are the policy's",
          "[dispatch][protection]") {
  bench b;
  b.grid(100'000);
  b.cfg.policies.thermal = {35, 45, 0.8};  // a cabinet whose maker derates earlier
  struct row {
    double temp_c;
    bool cooling_fault;
    double expect_w;
  };
  for (auto r : {row{30, false, 100'000}, row{35, false, 100'000}, row{40, false, 50'000},
                 row{45, false, 0}, row{30, true, 80'000}, row{40, true, 40'000}}) {
    CAPTURE(r.temp_c, r.cooling_fault);
    b.snap.cabinets[0].cell_temp_max_c = r.temp_c;
    b.snap.cabinets[0].cooling_fault = r.cooling_fault;
    CHECK(b.step().battery_w == Approx(r.expect_w));
  }

  // The trip: 10 kW export against a zero limit trips with the default
  // tolerance (500 W here) but not with a tolerance of 15 kW.
  bench t;
  t.cfg.policies.export_limit.enabled = true;
  t.cfg.policies.export_limit.max_protection_time_ms = 2000;
  t.cfg.policies.export_limit.trip_tolerance_w = 15'000;
  t.cfg.io.gpio_chip = "/dev/gpiochip0";
  t.cfg.io.outputs = {{1, plant::output_function::export_limit_trip, "breaker"}};
  t.cfg.policies.export_limit.trip_output = 1;
  t.snap.cabinets[0].soc = 96;
  t.snap.inverters = {{false, 20'000, 0}, {false, 20'000, 0}};
  t.grid(-10'000);
  for (int s = 1; s <= 5; ++s)
    CHECK_FALSE(t.step().trip_output);
  t.cfg.policies.export_limit.trip_tolerance_w.reset();
  for (int s = 1; s <= 3; ++s)
    t.step();
  CHECK(t.step().trip_output);
}

TEST_CASE("DRED orders cap the battery and PV, ripple control caps PV", "[dispatch][dred]") {
  bench b;
  b.cfg.policies.mode = plant::working_mode::time_of_use;
  b.cfg.policies.tou = {{{}, "00:00", "24:00", plant::slot_action::discharge, 80'000, 0, 0, false}};
  b.grid(100'000);
  SECTION("DRM5 forbids generation: a TOU discharge slot gives way") {
    b.snap.dred.generation_mode = 5;
    b.snap.dred.generation_cap = 0.0;
    auto d = b.step();
    CHECK(d.battery_w == 0);
    CHECK(d.binding == rule::grid_order);
    CHECK(d.pv_limit_fraction == 0);
  }
  SECTION("DRM6 halves it") {
    b.snap.dred.generation_cap = 0.5;
    auto d = b.step();
    CHECK(d.battery_w == Approx(50'000));
    CHECK(d.pv_limit_fraction == 0.5);
  }
  SECTION("DRM1 forbids charging") {
    b.cfg.policies.tou[0].action = plant::slot_action::charge;
    b.cfg.policies.tou[0].grid_charge = true;
    b.snap.dred.consumption_cap = 0.0;
    auto d = b.step();
    CHECK(d.battery_w == 0);
    CHECK(d.binding == rule::grid_order);
  }
  SECTION("ripple control at 30 %") {
    b.snap.rcr_fraction = 0.3;
    auto d = b.step();
    CHECK(d.pv_limit_fraction == Approx(0.3));
    CHECK(d.pv_binding == rule::grid_order);
  }
}

TEST_CASE("a stale grid meter: batteries to 0 W, PV to the fail-safe export level",
          "[dispatch][fail-safe]") {
  bench b;
  b.cfg.policies.fail_safe.meter_stale_ms = 2000;
  b.cfg.policies.fail_safe.pv_export_w = 4'000;
  b.grid(30'000);
  CHECK(b.step().battery_w == Approx(30'000));
  b.snap.now += 2500ms;  // no new reading
  auto d = dispatcher{b.cfg}.decide(b.snap, b.st);
  CHECK(d.battery_w == 0);
  CHECK(d.binding == rule::fail_safe);
  CHECK(d.pv_limit_fraction == Approx(4'000.0 / 40'000));
  CHECK_THAT(d.explanation, Catch::Contains("grid meter stale"));
  b.snap.grid_w.quality = quality::missing;
  b.snap.grid_time = b.snap.now;
  CHECK(dispatcher{b.cfg}.decide(b.snap, b.st).binding == rule::fail_safe);
}

TEST_CASE("safety: an emergency stop or DRM0 stops the plant, a fire stops its cabinet",
          "[dispatch][safety]") {
  bench b{2};
  b.cfg.io.gpio_chip = "/dev/gpiochip0";
  b.cfg.io.inputs = {{1, plant::input_function::emergency_stop, true, "E-stop"}};
  b.snap.di = {true, false};  // normally closed contact closed: not active
  b.grid(60'000);
  auto normal = b.step();
  CHECK(normal.battery_w == Approx(60'000));
  SECTION("the E-stop loop opens") {
    b.snap.di = {false, false};
    auto d = b.step();
    CHECK(d.battery_w == 0);
    CHECK(d.binding == rule::safety);
    CHECK(d.cabinet_run == std::vector<bool>{false, false});
    CHECK(d.pv_limit_fraction == 0);
    CHECK_THAT(d.explanation, Catch::Contains("E-stop"));
  }
  SECTION("the I/O lines cannot be read: the E-stop state is unknown") {
    b.snap.io_known = false;
    auto d = b.step();
    CHECK(d.battery_w == 0);
    CHECK(d.binding == rule::safety);
    CHECK_THAT(d.explanation, Catch::Contains("unknown"));
  }
  SECTION("DRM0") {
    b.snap.dred.drm0 = true;
    auto d = b.step();
    CHECK(d.battery_w == 0);
    CHECK(d.binding == rule::safety);
  }
  SECTION("fire in cabinet 1: it stops, cabinet 2 carries what it can") {
    b.snap.cabinets[0].fire = true;
    auto d = b.step();
    CHECK_FALSE(d.cabinet_run[0]);
    CHECK(d.cabinet_run[1]);
    CHECK(d.cabinet_w[0] == 0);
    CHECK(d.cabinet_w[1] == Approx(60'000));
  }
}

TEST_CASE("distribution: by headroom, SOC-balanced, a stale cabinet's share moves on",
          "[dispatch][distribution]") {
  bench b{3};
  b.snap.cabinets[0].soc = 80;
  b.snap.cabinets[1].soc = 40;
  b.snap.cabinets[2].soc = 60;
  b.grid(90'000);
  auto d = b.step();
  CHECK(d.battery_w == Approx(90'000));
  CHECK(d.cabinet_w[0] > d.cabinet_w[2]);
  CHECK(d.cabinet_w[2] > d.cabinet_w[1]);
  b.snap.cabinets[0].fresh = false;
  b.snap.cabinets[0].power_w = 0;
  auto without = b.step();
  CHECK(without.cabinet_w[0] == 0);
  CHECK(without.cabinet_w[1] + without.cabinet_w[2] == Approx(90'000));
  // Charging favours the emptier cabinet.
  b.grid(-60'000);
  auto charge = b.step();
  CHECK(charge.cabinet_w[1] < charge.cabinet_w[2]);  // more negative: more charge
  // No cabinet beyond its limit; the others take the rest.
  b.snap.cabinets[1].allowed_charge_w = 10'000;
  auto capped = b.step();
  CHECK(capped.cabinet_w[1] >= -10'000 - 1e-6);
  CHECK(capped.battery_w == Approx(-60'000));
}

TEST_CASE("ramp and deadband smooth the working mode only", "[dispatch][distribution]") {
  bench b;
  b.cfg.policies.distribution = {10'000, 500};  // 10 kW/s, 0.5 kW
  b.grid(0);
  b.step();
  b.grid(50'000);
  for (double expect : {10'000.0, 20'000.0, 30'000.0}) {
    auto d = b.step();
    CHECK(d.battery_w == Approx(expect));
    b.follow(d);
    b.grid(50'000 - d.battery_w);
  }
  // A 300 W change stays inside the deadband.
  auto last = b.step().battery_w;
  b.snap.cabinets[0].power_w = last;
  b.grid(300);
  CHECK(b.step().battery_w == Approx(last));
  // The export limit acts at once, unramped: a manual 80 kW discharge against
  // a 10 kW load is cut straight to 10 kW.
  b.cfg.policies.export_limit.enabled = true;
  b.st.manual = manual_setpoint{80'000, b.snap.now + 60s};
  b.snap.cabinets[0].power_w = 0;
  b.grid(10'000);
  auto d = b.step();
  CHECK(d.binding == rule::export_limit);
  CHECK(d.battery_w == Approx(10'000));
  CHECK(std::abs(d.battery_w - last) > 10'000);  // more than one ramp step
}

TEST_CASE("a manual setpoint holds until it expires", "[dispatch][manual]") {
  bench b;
  b.grid(10'000);
  b.st.manual = manual_setpoint{-40'000, t0 + 10s};
  auto d = b.step(5000ms);
  CHECK(d.battery_w == Approx(-40'000));
  CHECK(d.binding == rule::manual);
  auto after = b.step(6000ms);
  CHECK(after.binding == rule::self_consumption);
  CHECK(after.battery_w == Approx(10'000));
  CHECK_FALSE(b.st.manual);
}

TEST_CASE("TOU follows the weekly template in the site's time zone, DST included",
          "[dispatch][tou]") {
  auto cfg = test::valid_config(1);  // Australia/Sydney, the manual's 4 slots
  dispatcher disp{cfg};
  auto local = [](int y, int m, int d, int h, int min) {
    absl::TimeZone tz;
    absl::LoadTimeZone("Australia/Sydney", &tz);
    auto t = absl::FromCivil(absl::CivilMinute(y, m, d, h, min), tz);
    return time_point{std::chrono::milliseconds{absl::ToUnixMillis(t)}};
  };
  // Winter (AEST) and summer (AEDT): the same local hours pick the same slots.
  for (int month : {6, 12}) {
    CAPTURE(month);
    CHECK(disp.active_slot(local(2026, month, 10, 7, 59))->action == plant::slot_action::charge);
    CHECK(disp.active_slot(local(2026, month, 10, 8, 0))->action
          == plant::slot_action::self_consume);
    CHECK(disp.active_slot(local(2026, month, 10, 18, 30))->action
          == plant::slot_action::discharge);
    CHECK(disp.active_slot(local(2026, month, 10, 23, 59))->action == plant::slot_action::idle);
  }
  // The DST change night (2026-10-04 02:00 -> 03:00): 03:30 local is still the charge slot.
  CHECK(disp.active_slot(local(2026, 10, 4, 3, 30))->action == plant::slot_action::charge);
}

TEST_CASE("a charge slot without grid charging takes only the PV surplus", "[dispatch][tou]") {
  bench b;
  b.cfg.policies.mode = plant::working_mode::time_of_use;
  b.cfg.policies.tou = {{{}, "00:00", "24:00", plant::slot_action::charge, 50'000, 0, 0, false}};
  b.grid(-12'000);  // 12 kW surplus
  CHECK(b.step().battery_w == Approx(-12'000));
  b.grid(5'000);  // importing: no surplus
  CHECK(b.step().battery_w == 0);
  b.cfg.policies.tou[0].grid_charge = true;
  CHECK(b.step().battery_w == Approx(-50'000));
}

TEST_CASE("self-consumption releases curtailed PV before it discharges the battery",
          "[dispatch][export]") {
  bench b;
  b.cfg.policies.export_limit.enabled = true;
  b.snap.cabinets[0].soc = 96;  // full
  b.snap.inverters = {{true, 20'000, 15'000}, {true, 20'000, 15'000}};
  b.grid(-20'000);
  auto curtail = b.step();
  CHECK(curtail.pv_limit_fraction == Approx(0.25));
  // The load rises: the grid imports. PV goes up, the battery stays at 0.
  b.snap.inverters = {{true, 20'000, 5'000}, {true, 20'000, 5'000}};
  b.grid(8'000);
  auto d = b.step();
  CHECK(d.battery_w == 0);
  CHECK(d.pv_limit_fraction == Approx(18'000.0 / 40'000));
}

TEST_CASE("a grid reading is integrated once: a silent meter never ratchets the battery",
          "[dispatch][fail-safe]") {
  bench b;
  b.cfg.policies.export_limit.enabled = true;
  b.cfg.policies.export_limit.limit_w = 0;
  // A load step: 26 kW imported with the battery idle.
  b.grid(26'000);
  auto d = b.step();
  REQUIRE(d.battery_w == Approx(26'000));
  // The meter goes silent: the same sample is seen by every control cycle
  // until it is stale, while the cabinet reports that it follows the command.
  auto sample_time = b.snap.grid_time;
  for (int cycle = 0; cycle < 4; ++cycle) {
    b.follow(d);
    b.snap.now += 200ms;  // within meter_stale_ms
    d = dispatcher{b.cfg}.decide(b.snap, b.st);
    CAPTURE(cycle);
    CHECK(b.snap.grid_time == sample_time);
    CHECK(d.battery_w == Approx(26'000));  // was 52 kW, 78 kW, ... before
    CHECK(d.binding == rule::self_consumption);
  }
  // A new reading (the battery now covers the load) moves it again.
  b.follow(d);
  b.grid(-1'000);
  d = b.step(200ms);
  CHECK(d.battery_w == Approx(25'000));
}

TEST_CASE("a silent meter with PV: the curtailment is taken once per reading",
          "[dispatch][export]") {
  bench b;
  b.cfg.policies.export_limit.enabled = true;
  b.cfg.policies.export_limit.limit_w = 0;
  b.snap.cabinets[0].soc = 96;  // full: PV takes the whole cut
  b.snap.inverters = {{true, 20'000, 15'000}, {true, 20'000, 15'000}};
  b.grid(-20'000);
  auto d = b.step();
  REQUIRE(d.pv_limit_fraction == Approx(10'000.0 / 40'000));
  // The inverters follow the limit; the meter says nothing new.
  b.snap.inverters = {{true, 20'000, 5'000}, {true, 20'000, 5'000}};
  for (int cycle = 0; cycle < 3; ++cycle) {
    b.snap.now += 200ms;
    d = dispatcher{b.cfg}.decide(b.snap, b.st);
    CAPTURE(cycle);
    CHECK(d.pv_limit_fraction == Approx(10'000.0 / 40'000));  // not 0 %
  }
}

TEST_CASE("a clock set back makes no silent meter look fresh and does not hold the trip off",
          "[dispatch][fail-safe]") {
  bench b;
  b.grid(30'000);
  CHECK(b.step().binding != rule::fail_safe);
  // SetTime moved the clock back an hour: the last reading is stamped
  // after "now" and says nothing about the meter being alive.
  b.snap.now -= std::chrono::hours{1};
  auto d = b.step();
  CHECK(d.binding == rule::fail_safe);
  b.snap.grid_time = b.snap.now;  // a new reading: fine again
  CHECK(b.step().binding != rule::fail_safe);

  // Export above the limit when the clock goes back: counted again from
  // then, so the trip still comes after the protection time, not an hour on.
  bench t;
  t.cfg.policies.export_limit.enabled = true;
  t.cfg.policies.export_limit.max_protection_time_ms = 2000;
  t.cfg.io.gpio_chip = "/dev/gpiochip0";
  t.cfg.io.outputs = {{1, plant::output_function::export_limit_trip, "breaker"}};
  t.cfg.policies.export_limit.trip_output = 1;
  t.snap.cabinets[0].soc = 96;
  t.snap.inverters = {{false, 20'000, 0}, {false, 20'000, 0}};
  t.grid(-10'000);
  CHECK_FALSE(t.step().trip_output);
  t.snap.now -= std::chrono::hours{1};
  t.snap.grid_time = t.snap.now;
  CHECK_FALSE(t.step().trip_output);
  CHECK_FALSE(t.step().trip_output);
  CHECK(t.step().trip_output);
}
