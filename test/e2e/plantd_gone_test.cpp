// Safe when plantd itself is gone: plantd programs each device's own
// communication-loss fallback, so a SIGKILL on a zero-export site leaves
// the batteries at 0 W and the PV at the fail-safe export level within the
// devices' watchdog time.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

TEST_CASE("plantd killed on a zero-export site: the devices' own fallbacks hold the export limit",
          "[e2e][fail-safe][plantd-gone]") {
  const std::string tables = std::string{PLANTD_SOURCE_DIR} + "/test/data/pointtables";
  auto config = sim_config("single-cabinet", "", [](v1::PlantConfig& m) {
    for (auto& line : *m.mutable_rs485_lines())
      for (auto& d : *line.mutable_devices())
        if (d.role() == v1::DEVICE_ROLE_PV_INVERTER)
          d.set_point_table("fallback-inverter");
    m.mutable_policies()->mutable_fail_safe()->set_device_watchdog_ms(3000);
  });
  running_sim sim{config,
                  {"--start", "2026-01-15T01:00:00Z", "--soc", "50", "--pointtables", tables}};
  sim.set_load(5'000);  // PV well above the load: the battery takes the surplus
  std::optional<running_plantd> plantd{std::in_place, config,
                                       std::vector<std::string>{"--pointtables", tables}};
  REQUIRE(within(15s, [&] {
    auto s = sim.state();
    return s.pv_w() > 15'000 && s.battery_w() < -8'000 && std::abs(s.grid_w()) < 1'500;
  }));
  auto before = sim.state();
  ::kill(plantd->process().pid(), SIGKILL);
  plantd.reset();
  auto t = within(8s, [&] {
    auto s = sim.state();
    return s.grid_w() > -1'000 && std::abs(s.battery_w()) < 500
           && s.inverters(0).limit_percent() == 0;
  });
  auto s = sim.state();
  WARN("plantd killed with PV " << before.pv_w() / 1000 << " kW charging the battery "
                                << -before.battery_w() / 1000
                                << " kW: export back under 1 kW after " << (t ? t->count() : -1)
                                << " ms (device watchdog 3 s); grid now " << s.grid_w() / 1000
                                << " kW");
  REQUIRE(t);
  CHECK(t->count() >= 2'000);  // the devices' own timers, not plantd
  // It holds: nothing exports while plantd stays away.
  std::this_thread::sleep_for(2s);
  CHECK(sim.state().grid_w() > -1'000);
}
