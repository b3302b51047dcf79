// Closed loop: plantd controlling plant-sim over loopback Modbus. Each test
// prints the figures it measured.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

// Midday and night in Sydney (AEDT, UTC+11) and Berlin (CET, UTC+1).
const std::string sydney_noon = "2026-01-15T01:00:00Z";
const std::string sydney_night = "2026-01-15T12:00:00Z";
const std::string berlin_night = "2026-01-14T23:00:00Z";

double total_setpoint(const v1::SimState& s) {
  double sum = 0;
  for (const auto& c : s.cabinets())
    sum += c.setpoint_w();
  return sum;
}

}  // namespace

TEST_CASE("zero export holds through a load drop: the battery absorbs the surplus",
          "[e2e][closed-loop][export]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", sydney_noon, "--soc", "50"}};
  sim.set_load(60'000);
  running_plantd plantd{config};
  // Settled: self-consumption holds the grid near 0 with the sun up.
  REQUIRE(within(10s, [&] {
    auto s = sim.state();
    return s.pv_w() > 20'000 && s.battery_w() > 10'000 && std::abs(s.grid_w()) < 1'000;
  }));
  auto before = sim.state();
  sim.set_load(5'000);  // the load drops by 55 kW (55 % of the cabinet's rating)
  auto t = within(5s, [&] {
    auto s = sim.state();
    return s.grid_w() > -1'000 && s.load_w() < 6'000;
  });
  REQUIRE(t);
  std::this_thread::sleep_for(1s);
  auto after = sim.state();
  double overshoot_wh = after.export_wh() - before.export_wh();
  WARN("load drop 60 -> 5 kW with PV " << before.pv_w() / 1000 << " kW: export back under 1 kW in "
                                       << t->count() << " ms; export overshoot " << overshoot_wh
                                       << " Wh; battery now " << after.battery_w() / 1000 << " kW");
  CHECK(after.grid_w() > -1'000);
  CHECK(after.battery_w() < 0);                              // charging
  CHECK(after.inverters(0).limit_percent() == Approx(100));  // PV not curtailed
  CHECK(plantd.state().binding_rule() == "self-consumption");
}

TEST_CASE("zero export with a full battery: PV is curtailed through the inverter limit",
          "[e2e][closed-loop][export]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", sydney_noon, "--soc", "97"}};
  sim.set_load(5'000);
  running_plantd plantd{config};
  auto t = within(10s, [&] {
    auto s = sim.state();
    return s.grid_w() > -1'500 && s.inverters(0).limit_percent() < 50;
  });
  REQUIRE(t);
  std::this_thread::sleep_for(2s);
  auto s = sim.state();
  auto p = plantd.state();
  WARN("battery full, load 5 kW, PV available "
       << s.inverters(0).available_w() * 2 / 1000 << " kW: PV limited to "
       << s.inverters(0).limit_percent() << " %, grid " << s.grid_w() / 1000 << " kW after "
       << t->count() << " ms");
  CHECK(s.grid_w() > -1'500);
  CHECK(s.pv_w() < s.inverters(0).available_w() * 2);
  CHECK(p.pv_binding_rule() == "export limit");
}

TEST_CASE("the demand limit holds through a load spike", "[e2e][closed-loop][demand]") {
  // Five cabinets, 500 kW; demand limit 300 kW, recharge below 200 kW; idle
  // all day so only the demand limit moves the batteries.
  auto config = sim_config("five-cabinets", "", [](v1::PlantConfig& m) {
    auto* tou = m.mutable_policies()->mutable_tou();
    tou->clear_slots();
    auto* slot = tou->add_slots();
    slot->set_start("00:00");
    slot->set_end("24:00");
    slot->set_action(v1::SLOT_ACTION_IDLE);
  });
  running_sim sim{config, {"--start", berlin_night, "--soc", "60"}};
  sim.set_load(250'000);
  running_plantd plantd{config, {"--start", berlin_night}};
  REQUIRE(within(10s, [&] { return plantd.state().decisions() > 3; }));
  sim.set_load(450'000);  // spike: 150 kW above the limit
  auto t = within(5s, [&] { return sim.state().grid_w() < 305'000; });
  REQUIRE(t);
  std::this_thread::sleep_for(1s);
  auto s = sim.state();
  WARN("load spike to 450 kW: grid " << s.grid_w() / 1000 << " kW (limit 300) after " << t->count()
                                     << " ms, batteries " << s.battery_w() / 1000 << " kW");
  CHECK(s.grid_w() < 305'000);
  CHECK(s.battery_w() == Approx(150'000).margin(10'000));
  CHECK(plantd.state().binding_rule() == "demand limit");
}

TEST_CASE("grid meter lost: fail-safe within the configured time",
          "[e2e][closed-loop][fail-safe]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", sydney_noon, "--soc", "50"}};
  sim.set_load(60'000);
  running_plantd plantd{config};
  REQUIRE(within(10s, [&] { return sim.state().battery_w() > 5'000; }));
  sim.inject("grid-meter", v1::FAULT_KIND_SILENT);
  // meter_stale_ms 2000 and reach_within_ms 5000 in the example.
  auto t = within(7s, [&] {
    auto s = sim.state();
    return total_setpoint(s) == 0 && s.inverters(0).limit_percent() == 0;
  });
  REQUIRE(t);
  auto p = plantd.state();
  WARN("grid meter silent: batteries at 0 W and PV at the fail-safe level (0 W export) after "
       << t->count() << " ms (meter stale after 2000 ms, required within 7000 ms)");
  CHECK(p.binding_rule() == "fail-safe");
  CHECK_FALSE(p.grid_meter_available());
  CHECK(t->count() >= 1'800);  // not before the meter counts as stale
}

TEST_CASE("a cabinet lost: its share is redistributed", "[e2e][closed-loop][cabinet]") {
  auto config = sim_config("five-cabinets", "", [](v1::PlantConfig& m) {
    m.mutable_policies()->set_mode(v1::WORKING_MODE_SELF_CONSUMPTION);
    m.mutable_policies()->mutable_demand_limit()->set_enabled(false);
  });
  running_sim sim{config, {"--start", berlin_night, "--soc", "60"}};
  sim.set_load(300'000);
  running_plantd plantd{config};
  REQUIRE(within(10s, [&] {
    auto p = plantd.state();
    for (const auto& c : p.cabinets())
      if (!c.available())
        return false;
    return std::abs(sim.state().grid_w()) < 3'000;
  }));
  sim.inject("C02", v1::FAULT_KIND_SILENT);
  // cabinet_stale_ms 5000 in the example.
  auto t = within(10s, [&] {
    auto p = plantd.state();
    return !p.cabinets(1).available() && p.cabinets(1).setpoint_w() == 0;
  });
  REQUIRE(t);
  std::this_thread::sleep_for(1500ms);
  auto p = plantd.state();
  auto s = sim.state();
  double others = 0;
  for (int i = 0; i < p.cabinets_size(); ++i)
    if (i != 1)
      others += p.cabinets(i).setpoint_w();
  WARN("cabinet C02 silent: excluded after " << t->count() << " ms; four cabinets carry "
                                             << others / 1000 << " kW, grid " << s.grid_w() / 1000
                                             << " kW");
  INFO("C02 error: " << p.cabinets(1).error());
  CHECK(p.cabinets(1).error().find("timeout") != std::string::npos);
  // C02 keeps its last setpoint in the simulation (nobody can tell it); the
  // four others carry the rest of the load.
  CHECK(others == Approx(300'000 - s.cabinets(1).power_w()).margin(15'000));
}

TEST_CASE("the TOU template is followed across a slot boundary", "[e2e][closed-loop][tou]") {
  // The five-cabinet example: 00-08 charge 250 kW from the grid, 08-17
  // self-consume. Start at 07:57 Berlin time, 60x faster.
  const std::string start = "2026-01-15T06:57:00Z";
  auto config = sim_config("five-cabinets", "", [](v1::PlantConfig& m) {
    m.mutable_policies()->mutable_demand_limit()->set_enabled(false);
  });
  running_sim sim{config, {"--start", start, "--speed", "60", "--soc", "40"}};
  sim.set_load(100'000);
  running_plantd plantd{config, {"--start", start, "--time-scale", "60"}};
  auto charging = within(4s, [&] {
    auto p = plantd.state();
    return p.binding_rule() == "time of use" && p.battery_setpoint_w() < -200'000;
  });
  REQUIRE(charging);
  auto self_consuming = within(8s, [&] {
    auto p = plantd.state();
    return p.binding_rule() == "self-consumption" || p.battery_setpoint_w() > 50'000;
  });
  REQUIRE(self_consuming);
  auto s = sim.state();
  WARN("TOU: charging at 07:57, self-consuming after 08:00 ("
       << self_consuming->count() << " ms later at x60); grid " << s.grid_w() / 1000 << " kW");
  CHECK(plantd.state().battery_setpoint_w() > 0);
}

TEST_CASE("under systemd: READY=1 after the first decision, WATCHDOG=1 while deciding, "
          "STOPPING=1 at a stop",
          "[e2e][systemd]") {
  // systemd's side of the notify protocol: a datagram socket plantd is told of.
  auto path = "/tmp/plantd-notify-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::vector<std::string> got;
  auto receive = [&](std::chrono::milliseconds for_at_most) {
    auto until = std::chrono::steady_clock::now() + for_at_most;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      char buf[512];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0)
        got.emplace_back(buf, static_cast<std::size_t>(n));
    }
  };
  auto count = [&](const std::string& what) {
    return std::count_if(got.begin(), got.end(),
                         [&](const std::string& m) { return m.find(what) != std::string::npos; });
  };
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", sydney_noon, "--soc", "50"}};
  {
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "600000", 1);  // pings every 200 ms
    running_plantd plantd{config};
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    receive(2s);
    REQUIRE(count("READY=1") == 1);
    CHECK(plantd.state().decisions() >= 1);
    CHECK(count("WATCHDOG=1") >= 5);
    // READY=1 came before any ping.
    CHECK(got.front().find("READY=1") != std::string::npos);
    // Every fast-path decision is in the latency histogram.
    auto s = plantd.state(5);
    REQUIRE(s.latency_bucket_counts_size() == s.latency_bucket_bounds_us_size() + 1);
    uint64_t counted = 0;
    for (auto c : s.latency_bucket_counts())
      counted += c;
    CHECK(counted > 0);
    CHECK(counted <= s.decisions());
    // As root (CI), the control path runs at SCHED_FIFO (policy 1 in
    // /proc/PID/task/TID/stat, field 41).
    if (::geteuid() == 0) {
      int fifo = 0;
      for (const auto& t : std::filesystem::directory_iterator(
             "/proc/" + std::to_string(plantd.process().pid()) + "/task")) {
        std::ifstream in{t.path() / "stat"};
        std::string stat{std::istreambuf_iterator<char>{in}, {}};
        std::istringstream fields{stat.substr(stat.rfind(')') + 2)};
        std::string f;
        for (int i = 3; i <= 41 && fields >> f; ++i) {
        }
        if (f == "1")
          ++fifo;
      }
      CHECK(fifo >= 2);  // the supervisor and its device actors
    }
  }
  receive(200ms);
  CHECK(count("STOPPING=1") == 1);
  ::close(fd);
  ::unlink(path.c_str());
}

TEST_CASE("a live config change: a new export limit holds at once, a rollback restores the old",
          "[e2e][closed-loop][config]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", sydney_noon, "--soc", "97"}};
  sim.set_load(5'000);
  running_plantd plantd{config};
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  // Zero export with a full battery: PV curtailed to the load, settled
  // (the grid near 0 for a second).
  int settled = 0;
  REQUIRE(within(15s, [&] {
    auto s = sim.state();
    bool near = std::abs(s.grid_w()) < 1'500 && s.pv_w() > 1'000;
    settled = near ? settled + 1 : 0;
    std::this_thread::sleep_for(50ms);
    return settled >= 20;
  }));
  // 10 kW of export allowed, as one field.
  v1::PatchConfigRequest patch;
  patch.mutable_config()->mutable_policies()->mutable_export_limit()->set_limit_w(10'000);
  patch.mutable_update_mask()->add_paths("policies.export_limit.limit_w");
  patch.set_base_version(1);
  v1::ApplyConfigResponse applied;
  auto st = plant->PatchConfig(ctx().get(), patch, &applied);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(applied.version() == 2);
  REQUIRE(applied.changed_fields_size() == 1);
  CHECK(applied.changed_fields(0) == "policies.export_limit.limit_w");
  CHECK(applied.devices_restarted().empty());  // a policy: no device restarts
  // The battery is full: the PV limit rises until export reaches the new
  // limit, never beyond it (1.5 kW for the meter's and the inverters' lag).
  double most_export = 0;
  auto t = within(10s, [&] {
    auto s = sim.state();
    most_export = std::max(most_export, -s.grid_w());
    return s.grid_w() < -7'000;
  });
  REQUIRE(t);
  for (int i = 0; i < 20; ++i) {
    most_export = std::max(most_export, -sim.state().grid_w());
    std::this_thread::sleep_for(100ms);
  }
  WARN("export limit 0 -> 10 kW live: export reached 7 kW after "
       << t->count() << " ms; most export " << most_export / 1000 << " kW");
  CHECK(most_export < 11'500);
  // The same patch made on version 1 again: refused, the limit stays.
  auto stale = plant->PatchConfig(ctx().get(), patch, &applied);
  CHECK(stale.error_code() == grpc::StatusCode::ABORTED);
  // An unknown field: refused with its name.
  v1::PatchConfigRequest unknown;
  unknown.mutable_update_mask()->add_paths("policies.export_limit.limit_kw");
  auto bad = plant->PatchConfig(ctx().get(), unknown, &applied);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad.error_message(), Catch::Contains("policies.export_limit.limit_kw"));
  // Rollback to version 1: zero export again, as version 3.
  v1::RollbackConfigRequest back;
  back.set_version(1);
  st = plant->RollbackConfig(ctx().get(), back, &applied);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(applied.version() == 3);
  REQUIRE(within(10s, [&] { return sim.state().grid_w() > -1'500; }));
  v1::DiffConfigRequest diff;
  diff.set_from_version(2);
  diff.set_to_version(3);
  v1::DiffConfigResponse changes;
  REQUIRE(plant->DiffConfig(ctx().get(), diff, &changes).ok());
  REQUIRE(changes.changes_size() == 1);
  CHECK(changes.changes(0).field_path() == "policies.export_limit.limit_w");
  CHECK(changes.changes(0).before() == "10000");
  CHECK(changes.changes(0).after() == "0");
}
