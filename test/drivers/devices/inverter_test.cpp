#include <catch2/catch.hpp>

#include "drivers/devices/inverter.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/fake_bus.hpp"

using namespace plantd;

namespace {

void fill_saj(test::fake_bus& bus, uint8_t unit) {
  for (uint16_t a = 0x0100; a <= 0x0132; ++a)
    bus.set(unit, 3, a, {0});
  bus.set(unit, 3, 0x0100, {2});                // normal
  bus.set(unit, 3, 0x0103, {0x0000, 0x0004});   // fault word 2, bit 2
  bus.set(unit, 3, 0x0107, {6123, 845, 5174});  // PV1 612.3 V, 8.45 A, 5174 W
  bus.set(unit, 3, 0x010A, {5990, 801, 4798});  // PV2
  bus.set(unit, 3, 0x0113, {9700});             // AC 9.7 kW
  bus.set(unit, 3, 0x0131, {0x0001, 0x86A0});   // 100000 * 0.01 kWh = 1000 kWh
  bus.set(unit, 3, 0x8F01, {20000});
}

}  // namespace

TEST_CASE("SAJ R5 real-time registers become an inverter reading", "[devices][inverter]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  fill_saj(bus, 3);
  devices::inverter inv{*reg.find("saj-r5-inverter"), bus, 3};
  auto r = inv.read();
  CHECK_FALSE(r.failure);
  CHECK(r.state_label == "normal");
  CHECK(r.pv_power_w.value == Approx(5174 + 4798));
  CHECK(r.ac_power_w.value == Approx(9700));
  CHECK(r.total_energy_wh.value == Approx(1'000'000));
  CHECK(r.fault_bits == 4);
  CHECK(r.power_limit_percent.quality == quality::missing);  // write-only: never read
}

TEST_CASE("the active power limit is written to 0x801F in 0.1 % with FC16", "[devices][inverter]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  fill_saj(bus, 3);
  devices::inverter inv{*reg.find("saj-r5-inverter"), bus, 3};
  REQUIRE(inv.set_power_limit(42.5));
  CHECK(bus.get(3, 3, 0x801F) == 425);
  auto [fc, addr, count] = bus.log.back();
  CHECK(fc == 16);
  CHECK(addr == 0x801F);
  CHECK(count == 1);
  auto refused = inv.set_power_limit(110);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().fault == modbus::fault::bad_request);
}
