// Alarms end to end: faults injected into plant-sim raise alarms in plantd,
// clearing the fault clears them, an operator acknowledges them.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <thread>

#include "plantd/v1/alarm.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

std::vector<v1::Alarm> list(const std::string& target, v1::ListAlarmsRequest::State state) {
  auto stub =
    v1::AlarmService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::ListAlarmsRequest req;
  req.set_state(state);
  v1::ListAlarmsResponse resp;
  REQUIRE(stub->ListAlarms(ctx().get(), req, &resp).ok());
  return {resp.alarms().begin(), resp.alarms().end()};
}

const v1::Alarm* find(const std::vector<v1::Alarm>& as, const std::string& code,
                      const std::string& device) {
  for (const auto& a : as)
    if (a.code() == code && a.device() == device)
      return &a;
  return nullptr;
}

}  // namespace

TEST_CASE("a fire in a cabinet and a silent meter raise alarms that clear", "[e2e][alarms]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", "2026-01-15T01:00:00Z"}};
  running_plantd plantd{config};
  REQUIRE(within(10s, [&] { return plantd.state().cabinets(0).available(); }));
  // Start-up alarms (devices not yet read) have cleared.
  REQUIRE(
    within(5s, [&] { return list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN).empty(); }));

  // A stream opened before the fault sees the alarm being raised.
  auto stream_stub = v1::AlarmService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() + 15s);
  v1::StreamAlarmsRequest stream_req;
  stream_req.set_include_open(true);
  auto reader = stream_stub->StreamAlarms(&stream_ctx, stream_req);

  sim.inject("C01", v1::FAULT_KIND_FIRE_ALARM);
  bool streamed = false;
  for (v1::Alarm a; reader->Read(&a);)
    if (a.code() == "fire_alarm_word.0" && a.device() == "C01" && !a.has_cleared()) {
      streamed = true;
      break;
    }
  CHECK(streamed);
  stream_ctx.TryCancel();
  reader->Finish();
  REQUIRE(within(5s, [&] {
    return find(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN), "fire_alarm_word.0",
                "C01")
           != nullptr;
  }));
  auto open = list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN);
  const auto* smoke = find(open, "fire_alarm_word.0", "C01");
  REQUIRE(smoke);
  CHECK(smoke->severity() == v1::SEVERITY_CRITICAL);
  CHECK(smoke->text() == "smoke detected");
  CHECK_FALSE(smoke->has_cleared());
  auto smoke_id = smoke->id();

  // The operator sees it on the command line and acknowledges it.
  auto cli = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "alarms", "--open"});
  CHECK_THAT(cli.out, Catch::Contains("CRITICAL"));
  CHECK_THAT(cli.out, Catch::Contains("fire_alarm_word.0"));
  auto ack = run_command(
    {bin_dir + "/plantctl", "--target", plantd.target(), "ack", std::to_string(smoke_id)});
  CHECK(ack.exit_code == 0);
  // Signed by the caller plantd authenticated: plantctl on the local socket,
  // run by this user.
  const std::string me = "local:" + std::string{::getpwuid(::getuid())->pw_name};
  CHECK_THAT(ack.out, Catch::Contains("acknowledged by " + me));
  auto missing = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "ack", "99999"});
  CHECK(missing.exit_code == 1);

  sim.inject("grid-meter", v1::FAULT_KIND_SILENT);
  REQUIRE(within(8s, [&] {
    auto as = list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN);
    return find(as, "comm_lost", "grid-meter") != nullptr;
  }));

  v1::ClearFaultsRequest clear;
  v1::ClearFaultsResponse cleared_resp;
  REQUIRE(sim.sim().ClearFaults(ctx().get(), clear, &cleared_resp).ok());
  REQUIRE(
    within(8s, [&] { return list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN).empty(); }));
  auto closed = list(plantd.target(), v1::ListAlarmsRequest::STATE_CLOSED);
  const auto* gone = find(closed, "fire_alarm_word.0", "C01");
  REQUIRE(gone);
  CHECK(gone->has_cleared());
  CHECK(gone->acknowledged_by() == me);
  CHECK(find(closed, "comm_lost", "grid-meter"));
  std::remove(config.c_str());
}

TEST_CASE("the EMS-Switch uplink cut: one alarm for the uplink, the share moves to the cabinets "
          "the EMS still reaches, and all recovers when it returns",
          "[e2e][alarms][uplink]") {
  auto config = sim_config("twenty-cabinets");
  running_sim sim{config, {"--start", "2026-01-15T12:00:00Z", "--soc", "60"}};  // night
  sim.set_load(400'000);  // the batteries discharge
  running_plantd plantd{config};
  REQUIRE(within(15s, [&] {
    auto s = plantd.state();
    if (s.cabinets_size() != 20)
      return false;
    for (const auto& c : s.cabinets())
      if (!c.available())
        return false;
    return list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN).empty();
  }));
  v1::InjectFaultRequest cut;
  cut.set_device_id("ems-switch-1");
  cut.set_kind(v1::FAULT_KIND_SILENT);
  v1::InjectFaultResponse cut_resp;
  REQUIRE(sim.sim().InjectFault(ctx().get(), cut, &cut_resp).ok());
  // One alarm for the uplink; none for the ten cabinets behind it.
  REQUIRE(within(15s, [&] {
    return find(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN), "uplink_lost",
                "ems-switch-1")
           != nullptr;
  }));
  auto open = list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN);
  for (const auto& a : open)
    CHECK_FALSE((a.code() == "comm_lost" && a.device() >= "C11" && a.device() <= "C20"));
  CHECK_THAT(find(open, "uplink_lost", "ems-switch-1")->text(), Catch::Contains("10 cabinets"));
  // The cabinets the EMS still reaches carry the load: C01..C10 discharge,
  // the silent ones get no setpoint.
  REQUIRE(within(10s, [&] {
    auto s = sim.state();
    double near = 0, behind = 0;
    for (int i = 0; i < s.cabinets_size(); ++i)
      (i < 10 ? near : behind) += std::abs(s.cabinets(i).setpoint_w());
    return near > 100'000 && plantd.state().cabinets(12).setpoint_w() == 0;
  }));
  // The uplink returns: the alarm clears, every cabinet is back.
  v1::ClearFaultsRequest clear;
  clear.set_device_id("ems-switch-1");
  v1::ClearFaultsResponse clear_resp;
  REQUIRE(sim.sim().ClearFaults(ctx().get(), clear, &clear_resp).ok());
  REQUIRE(within(15s, [&] {
    auto s = plantd.state();
    for (const auto& c : s.cabinets())
      if (!c.available())
        return false;
    return find(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN), "uplink_lost",
                "ems-switch-1")
           == nullptr;
  }));
  auto closed = list(plantd.target(), v1::ListAlarmsRequest::STATE_CLOSED);
  CHECK(find(closed, "uplink_lost", "ems-switch-1"));
  for (const auto& a : closed)
    CHECK_FALSE((a.code() == "comm_lost" && a.device() >= "C11" && a.device() <= "C20"));
  std::remove(config.c_str());
}

TEST_CASE("another controller writing a cabinet's setpoint: an alarm, plantd stops commanding "
          "that cabinet alone, and commands it again once acknowledged",
          "[e2e][alarms][foreign]") {
  auto config = sim_config("five-cabinets");
  running_sim sim{config, {"--start", "2026-01-14T23:00:00Z", "--soc", "60"}};  // night
  sim.set_load(150'000);
  running_plantd plantd{config};  // night: the TOU template charges
  REQUIRE(within(15s, [&] {
    auto s = plantd.state();
    if (s.cabinets_size() != 5)
      return false;
    for (const auto& c : s.cabinets())
      if (!c.available() || c.setpoint_w() == 0)
        return false;
    return true;
  }));
  // Let the read-backs confirm plantd's own writes first.
  std::this_thread::sleep_for(3s);
  REQUIRE(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN).empty());
  const std::string victim = plantd.state().cabinets(1).id();
  sim.inject(victim, v1::FAULT_KIND_FOREIGN_MASTER);
  REQUIRE(within(10s, [&] {
    return find(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN), "foreign_master", victim)
           != nullptr;
  }));
  auto alarm =
    *find(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN), "foreign_master", victim);
  CHECK(alarm.severity() == v1::SEVERITY_CRITICAL);
  CHECK_THAT(alarm.text(), Catch::Contains("another controller is writing to " + victim));
  // plantd leaves it alone (no setpoint of its own), the others carry the
  // load, and no other alarm is raised.
  REQUIRE(within(5s, [&] {
    auto s = plantd.state();
    return s.cabinets(1).setpoint_w() == 0 && s.cabinets(0).setpoint_w() != 0
           && s.cabinets(2).setpoint_w() != 0;
  }));
  for (const auto& a : list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN))
    CHECK(a.code() == "foreign_master");
  // The other controller goes; an installer acknowledges: commanded again.
  v1::ClearFaultsRequest clear;
  clear.set_device_id(victim);
  v1::ClearFaultsResponse cleared;
  REQUIRE(sim.sim().ClearFaults(ctx().get(), clear, &cleared).ok());
  auto ack = run_command(
    {bin_dir + "/plantctl", "--target", plantd.target(), "ack", std::to_string(alarm.id())});
  INFO(ack.out);
  REQUIRE(ack.exit_code == 0);
  REQUIRE(within(10s, [&] {
    return plantd.state().cabinets(1).setpoint_w() != 0
           && find(list(plantd.target(), v1::ListAlarmsRequest::STATE_OPEN), "foreign_master",
                   victim)
                == nullptr;
  }));
  // Written anew: the cabinet holds plantd's setpoint, not the other's.
  // (plantd ramps the cabinet back from 0 and the register is read a poll
  // later, so the two agree once the ramp has settled: on a loaded machine
  // that took more than 5 s once. Never written anew, they never agree.)
  REQUIRE(within(15s, [&] {
    auto mine = plantd.state().cabinets(1).setpoint_w();
    return std::abs(sim.state().cabinets(1).setpoint_w() - mine) < 2'000;
  }));
  std::remove(config.c_str());
}
