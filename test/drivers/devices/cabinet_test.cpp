#include <catch2/catch.hpp>

#include "drivers/devices/cabinet.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/fake_bus.hpp"

using namespace plantd;

namespace {

void fill_cabinet(test::fake_bus& bus) {
  for (uint16_t a = 0; a < 0x16; ++a)
    bus.set(1, 3, a, {0});
  for (uint16_t a = 0x100; a < 0x10F; ++a)
    bus.set(1, 3, a, {0});
  for (uint16_t a = 0x200; a < 0x205; ++a)
    bus.set(1, 3, a, {0});
  bus.set(1, 3, 0x300, {0, 0});
  bus.set(1, 3, 0x0000, {2});                             // running
  bus.set(1, 3, 0x0002, {0xFFFE, 0x7960});                // -100000 W: charging 100 kW
  bus.set(1, 3, 0x0008, {0x0001, 0x86A0});                // allowed charge 100 kW
  bus.set(1, 3, 0x000A, {0x0001, 0x5F90});                // allowed discharge 90 kW
  bus.set(1, 3, 0x0101, {655});                           // SOC 65.5 %
  bus.set(1, 3, 0x0104, {static_cast<uint16_t>(-1234)});  // -123.4 A
  bus.set(1, 3, 0x0107, {352});                           // 35.2 °C
  bus.set(1, 3, 0x010E, {1});                             // contactor closed
  bus.set(1, 3, 0x0201, {static_cast<uint16_t>(-50)});    // -5.0 °C inlet
}

}  // namespace

TEST_CASE("cm2 cabinet registers become a cabinet reading", "[devices][cabinet]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  fill_cabinet(bus);
  devices::cabinet cab{*reg.find("cm2-cabinet"), bus, 1};
  auto r = cab.read();
  CHECK_FALSE(r.failure);
  CHECK(r.pcs_state_label == "running");
  CHECK(r.active_power_w.value == Approx(-100'000));
  CHECK(r.allowed_charge_w.value == Approx(100'000));
  CHECK(r.allowed_discharge_w.value == Approx(90'000));
  CHECK(r.soc_percent.value == Approx(65.5));
  CHECK(r.battery_current_a.value == Approx(-123.4));
  CHECK(r.cell_temperature_max_c.value == Approx(35.2));
  CHECK(r.coolant_inlet_c.value == Approx(-5.0));
  CHECK(r.contactor_closed.value == 1);
  CHECK_FALSE(r.fire());
  bus.set(1, 3, 0x0301, {0b0001});
  CHECK(cab.read().fire());
}

TEST_CASE("cabinet setpoints reach their registers", "[devices][cabinet]") {
  auto reg = pointtables::registry::builtin();
  test::fake_bus bus;
  fill_cabinet(bus);
  devices::cabinet cab{*reg.find("cm2-cabinet"), bus, 1};
  REQUIRE(cab.set_power(-50'000));
  CHECK(bus.get(1, 3, 0x0006) == 0xFFFF);
  CHECK(bus.get(1, 3, 0x0007) == 0x3CB0);
  REQUIRE(cab.set_running(false));
  CHECK(bus.get(1, 3, 0x000C) == 0);
  REQUIRE(cab.beat(7));
  CHECK(bus.get(1, 3, 0x000D) == 7);
}
