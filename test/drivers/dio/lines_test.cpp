#include <catch2/catch.hpp>

#include "drivers/dio/lines.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/fake_bus.hpp"

using namespace plantd;

TEST_CASE("Modbus lines decode to DI, DRED contacts and RCR inputs", "[dio]") {
  auto reg = pointtables::registry::builtin();
  auto shared = std::make_shared<test::fake_bus>();
  auto& bus = *shared;
  for (uint16_t a = 0; a < 15; ++a)
    bus.regs[{1, 2}][a] = 0;
  bus.regs[{1, 2}][0] = 1;   // DI1
  bus.regs[{1, 2}][3] = 1;   // DRM2/6 to Com: DRM2
  bus.regs[{1, 2}][8] = 1;   // DRM3/7 to RefGen: DRM7
  bus.regs[{1, 2}][13] = 1;  // D_IN3
  auto lines = dio::modbus_lines(*reg.find("plantd-io"), shared, 1);
  auto s = lines->read();
  REQUIRE(s);
  CHECK(s->di[0]);
  CHECK_FALSE(s->di[1]);
  auto order = io::decode_dred(s->dred);
  CHECK(order.consumption_mode == 2);
  CHECK(order.generation_mode == 7);
  CHECK_FALSE(order.drm0);
  CHECK(io::decode_rcr(s->rcr) == 0.3);
}

TEST_CASE("Modbus relay outputs are coils 0 and 1", "[dio]") {
  auto reg = pointtables::registry::builtin();
  auto shared = std::make_shared<test::fake_bus>();
  auto& bus = *shared;
  auto lines = dio::modbus_lines(*reg.find("plantd-io"), shared, 1);
  REQUIRE(lines->set_output(2, true));
  CHECK(bus.regs[{1, 1}][1] == 1);
  REQUIRE(lines->set_output(2, false));
  CHECK(bus.regs[{1, 1}][1] == 0);
  auto bad = lines->set_output(3, true);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("DO3 does not exist"));
}

TEST_CASE("an unreachable I/O module is an error, not closed contacts", "[dio]") {
  auto reg = pointtables::registry::builtin();
  auto shared = std::make_shared<test::fake_bus>();
  auto& bus = *shared;
  bus.fail_all = modbus::failure{modbus::fault::timeout, 0, "no answer"};
  auto lines = dio::modbus_lines(*reg.find("plantd-io"), shared, 1);
  auto s = lines->read();
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error(), Catch::Contains("timeout"));
}

TEST_CASE("a missing GPIO chip is a clear error", "[dio][gpio]") {
  auto lines = dio::gpio_lines("/dev/gpiochip-does-not-exist");
  REQUIRE_FALSE(lines);
  CHECK_THAT(lines.error(), Catch::Contains("cannot open GPIO chip /dev/gpiochip-does-not-exist"));
}
