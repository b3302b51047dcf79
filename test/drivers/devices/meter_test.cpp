// Meter drivers fed raw registers: the values a DTSU666 and an SDM630 send.
#include <catch2/catch.hpp>

#include "drivers/devices/meter.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/fake_bus.hpp"

using namespace plantd;
using plantd::test::f32;

TEST_CASE("DTSU666 registers become a meter reading in SI units", "[devices][meter]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  // The CHINT meter sends 0.1 V, 0.001 A, 0.1 W, 0.01 Hz and kWh.
  bus.set(1, 3, 0x0006, {1, 10});
  for (uint16_t a = 0x2000; a < 0x2046; a += 2)
    bus.set(1, 3, a, f32(0));
  bus.set(1, 3, 0x2006, f32(2309.0f));    // 230.9 V
  bus.set(1, 3, 0x200C, f32(5250.0f));    // 5.25 A
  bus.set(1, 3, 0x2012, f32(28500.0f));   // 2850 W import
  bus.set(1, 3, 0x2014, f32(-1000.0f));   // -100 W on L1
  bus.set(1, 3, 0x202A, f32(920.0f));     // PF 0.92
  bus.set(1, 3, 0x2044, f32(5001.5f));    // 50.015 Hz
  bus.set(1, 3, 0x401E, f32(5678.234f));  // kWh
  bus.set(1, 3, 0x4028, f32(12.5f));      // kWh
  devices::meter m{*reg.find("chint-dtsu666"), bus, 1};
  auto r = m.read();
  CHECK_FALSE(r.failure);
  CHECK(r.voltage_v[0].value == Approx(230.9));
  CHECK(r.current_a[0].value == Approx(5.25));
  CHECK(r.active_power_w.value == Approx(2850));
  CHECK(r.active_power_w.quality == quality::measured);
  CHECK(r.phase_power_w[0].value == Approx(-100));
  CHECK(r.power_factor.value == Approx(0.92));
  CHECK(r.frequency_hz.value == Approx(50.015));
  CHECK(r.import_wh.value == Approx(5678234).epsilon(1e-6));
  CHECK(r.export_wh.value == Approx(12500));
  CHECK(bus.log.size() == 3);
}

TEST_CASE("SDM630 input registers, at most 60 per request", "[devices][meter]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  for (uint16_t a = 0; a < 0x4C; a += 2)
    bus.set(7, 4, a, f32(0));
  bus.set(7, 4, 0x0000, f32(231.5f));
  bus.set(7, 4, 0x0034, f32(-4200.0f));  // exporting 4.2 kW
  bus.set(7, 4, 0x0046, f32(49.98f));
  bus.set(7, 4, 0x0048, f32(100.0f));
  bus.set(7, 4, 0x004A, f32(250.5f));
  devices::meter m{*reg.find("eastron-sdm630"), bus, 7};
  auto r = m.read();
  CHECK_FALSE(r.failure);
  CHECK(r.voltage_v[0].value == Approx(231.5));
  CHECK(r.active_power_w.value == Approx(-4200));
  CHECK(r.frequency_hz.value == Approx(49.98));
  CHECK(r.import_wh.value == Approx(100'000));
  CHECK(r.export_wh.value == Approx(250'500));
  for (const auto& [fc, addr, count] : bus.log)
    CHECK(count <= 60);
}

TEST_CASE("a silent meter reads as missing, never as 0", "[devices][meter]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  bus.fail_all = modbus::failure{modbus::fault::timeout, 0, "no answer"};
  devices::meter m{*reg.find("chint-dtsu666"), bus, 1};
  auto r = m.read();
  REQUIRE(r.failure);
  CHECK(r.failure->fault == modbus::fault::timeout);
  CHECK(r.active_power_w.quality == quality::missing);
  CHECK_FALSE(r.active_power_w.usable());
  CHECK(r.import_wh.quality == quality::missing);
}

TEST_CASE("one failed block leaves the other blocks' values good", "[devices][meter]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  bus.set(1, 3, 0x0006, {1, 10});
  for (uint16_t a = 0x2000; a < 0x2046; a += 2)
    bus.set(1, 3, a, f32(10.0f));
  // No energy registers: that block answers "illegal data address".
  devices::meter m{*reg.find("chint-dtsu666"), bus, 1};
  auto r = m.read();
  REQUIRE(r.failure);
  CHECK(r.failure->fault == modbus::fault::exception);
  CHECK(r.failure->exception_code == 2);
  CHECK(r.active_power_w.quality == quality::measured);
  CHECK(r.import_wh.quality == quality::missing);
}
