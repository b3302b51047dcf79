// Commissioning against plant-sim: a site wired right passes; a grid meter
// with its CT fitted backwards, or with a wrong CT ratio, fails the CT test
// with what to do; one run at a time; the report is kept; plantctl prints it.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/e2e/harness.hpp"
#include "test/support/temp_dir.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/timex.h>

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

struct run_result {
  grpc::Status status;
  std::vector<v1::CommissionCheck> streamed;
  std::optional<v1::CommissionReport> report;
};

run_result commission(v1::PlantService::Stub& plant, double test_power_w = 0) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  v1::CommissionRequest req;
  req.set_test_power_w(test_power_w);
  auto reader = plant.Commission(&ctx, req);
  run_result r;
  v1::CommissionUpdate u;
  while (reader->Read(&u)) {
    if (u.has_check())
      r.streamed.push_back(u.check());
    else if (u.has_report())
      r.report = u.report();
  }
  r.status = reader->Finish();
  return r;
}

const v1::CommissionCheck* find(const v1::CommissionReport& r, const std::string& name,
                                const std::string& device = "") {
  for (const auto& c : r.checks())
    if (c.name() == name && c.device() == device)
      return &c;
  return nullptr;
}

std::string dump(const v1::CommissionReport& r) {
  std::string out;
  for (const auto& c : r.checks())
    out += c.name() + " " + c.device() + " " + v1::CheckResult_Name(c.result()) + ": " + c.detail()
           + "\n";
  return out;
}

}  // namespace

TEST_CASE("commissioning: a site wired right passes, a reversed CT and a wrong CT ratio on the "
          "grid meter fail the CT test, saying what to do",
          "[e2e][commission]") {
  // The CT test needs room to move the battery: no zero-export clamp on it
  // (a reversed CT would make plantd's export limit fight the test).
  auto config = sim_config("single-cabinet", "", [](v1::PlantConfig& m) {
    m.mutable_policies()->mutable_export_limit()->set_enabled(false);
  });
  running_sim sim{config};
  sim.set_load(40'000);
  running_plantd plantd{config};
  plantd.state(5);
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));

  {
    v1::CommissionReport none;
    CHECK(plant->GetCommissionReport(ctx().get(), {}, &none).error_code()
          == grpc::StatusCode::NOT_FOUND);
  }

  auto good = commission(*plant);
  INFO(good.status.error_message());
  REQUIRE(good.status.ok());
  REQUIRE(good.report);
  INFO(dump(*good.report));
  // Streamed as they ran, then the whole report.
  CHECK(good.streamed.size() == static_cast<std::size_t>(good.report->checks_size()));
  for (const auto* dev : {"C01", "pv-inv-1", "pv-inv-2", "grid-meter", "io"}) {
    auto* c = find(*good.report, "reachable", dev);
    REQUIRE(c);
    CHECK(c->result() == v1::CHECK_RESULT_PASS);
  }
  auto* ct = find(*good.report, "grid_meter_ct");
  REQUIRE(ct);
  REQUIRE(ct->result() == v1::CHECK_RESULT_PASS);
  CHECK(ct->values().at("ratio") == Approx(1).margin(0.15));
  CHECK(ct->values().at("battery_change_w") == Approx(-10'000).margin(2'000));
  CHECK(good.report->passed());
  CHECK(good.report->config_version() >= 1);
  CHECK(find(*good.report, "clock"));
  // Control went back to its mode.
  REQUIRE(within(5s, [&] { return !plantd.state().manual_active(); }));

  // The CT fitted backwards.
  sim.inject("grid-meter", v1::FAULT_KIND_CT_REVERSED);
  auto reversed = commission(*plant);
  REQUIRE(reversed.status.ok());
  REQUIRE(reversed.report);
  INFO(dump(*reversed.report));
  ct = find(*reversed.report, "grid_meter_ct");
  REQUIRE(ct);
  REQUIRE(ct->result() == v1::CHECK_RESULT_FAIL);
  CHECK_THAT(ct->detail(), Catch::Contains("reversed"));
  CHECK(ct->values().at("ratio") == Approx(-1).margin(0.15));
  CHECK_FALSE(reversed.report->passed());

  // The report is kept; plantctl prints it and says no.
  v1::CommissionReport kept;
  REQUIRE(plant->GetCommissionReport(ctx().get(), {}, &kept).ok());
  CHECK(kept.checks_size() == reversed.report->checks_size());
  CHECK_FALSE(kept.passed());
  auto printed =
    run_command({bin_dir + "/plantctl", "--target", plantd.target(), "commission", "--last"});
  CHECK(printed.exit_code == 1);
  CHECK_THAT(printed.out, Catch::Contains("FAIL  grid_meter_ct"));
  CHECK_THAT(printed.out, Catch::Contains("FAILED"));

  // A CT ratio set to half the CT fitted.
  REQUIRE(sim.sim()
            .ClearFaults(
              ctx().get(),
              [] {
                v1::ClearFaultsRequest r;
                r.set_device_id("grid-meter");
                return r;
              }(),
              std::make_unique<v1::ClearFaultsResponse>().get())
            .ok());
  {
    v1::InjectFaultRequest req;
    req.set_device_id("grid-meter");
    req.set_kind(v1::FAULT_KIND_CT_RATIO);
    req.set_ct_factor(0.5);
    v1::InjectFaultResponse resp;
    REQUIRE(sim.sim().InjectFault(ctx().get(), req, &resp).ok());
  }
  auto ratio = commission(*plant, 20'000);
  REQUIRE(ratio.status.ok());
  REQUIRE(ratio.report);
  INFO(dump(*ratio.report));
  ct = find(*ratio.report, "grid_meter_ct");
  REQUIRE(ct);
  REQUIRE(ct->result() == v1::CHECK_RESULT_FAIL);
  CHECK_THAT(ct->detail(), Catch::Contains("CT ratio"));
  CHECK(ct->values().at("ratio") == Approx(0.5).margin(0.1));
  CHECK(ct->values().at("battery_change_w") == Approx(-20'000).margin(4'000));
}

TEST_CASE("commissioning: one run at a time, bad input refused, plantctl runs it without moving "
          "the battery when asked",
          "[e2e][commission]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config};
  running_plantd plantd{config};
  plantd.state(3);
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext c;
    v1::CommissionRequest req;
    req.set_test_power_w(-5);
    auto reader = plant->Commission(&c, req);
    v1::CommissionUpdate u;
    while (reader->Read(&u)) {
    }
    auto st = reader->Finish();
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("test_power_w"));
  }
  // A run in progress: a second one is ABORTED.
  grpc::ClientContext first;
  first.set_deadline(std::chrono::system_clock::now() + 60s);
  auto running = plant->Commission(&first, {});
  v1::CommissionUpdate u;
  REQUIRE(running->Read(&u));  // it has started
  auto second = commission(*plant);
  CHECK(second.status.error_code() == grpc::StatusCode::ABORTED);
  while (running->Read(&u)) {
  }
  CHECK(running->Finish().ok());

  auto printed = run_command(
    {bin_dir + "/plantctl", "--target", plantd.target(), "commission", "--skip-ct-test"}, 60s);
  INFO(printed.out);
  CHECK_THAT(printed.out, Catch::Contains("SKIP  grid_meter_ct"));
  CHECK_THAT(printed.out, Catch::Contains("PASS  reachable      C01"));
  CHECK_FALSE(plantd.state().manual_active());
}

TEST_CASE("commissioning: a cabinet with another serial number and a silent inverter are each "
          "reported, the good devices pass, and PlantState shows each device's serial",
          "[e2e][commission]") {
  auto config = sim_config("five-cabinets");
  running_sim sim{config};
  // C03's address answers with another cabinet; pv-inv-2 is silent.
  {
    v1::InjectFaultRequest req;
    req.set_device_id("C03");
    req.set_kind(v1::FAULT_KIND_WRONG_SERIAL);
    req.set_serial("CM2-215-20249999");
    v1::InjectFaultResponse resp;
    REQUIRE(sim.sim().InjectFault(ctx().get(), req, &resp).ok());
  }
  sim.inject("pv-inv-2", v1::FAULT_KIND_SILENT);
  running_plantd plantd{config};
  plantd.state(3);
  // A device shows its serial once it answered: an inverter whose line
  // runs the silent one's batch first waits for its time-outs.
  auto shown_at = within(10s, [&] {
    auto now = plantd.state();
    for (const auto& i : now.inverters())
      if (i.id() == "pv-inv-1")
        return !i.serial().empty();
    return false;
  });
  REQUIRE(shown_at);
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));

  // What each device reports, read when it connected.
  auto st = plantd.state();
  std::map<std::string, std::string> shown;
  for (const auto& c : st.cabinets())
    shown[c.id()] = c.serial();
  for (const auto& i : st.inverters())
    shown[i.id()] = i.serial();
  CHECK(shown["C01"] == "CM2-215-20240001");
  CHECK(shown["C03"] == "CM2-215-20249999");
  CHECK(shown["pv-inv-1"] == "R5T2306A0001");
  CHECK(shown["pv-inv-2"].empty());

  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + 60s);
  v1::CommissionRequest req;
  req.set_skip_ct_test(true);
  auto reader = plant->Commission(&c, req);
  v1::CommissionUpdate u;
  std::optional<v1::CommissionReport> report;
  while (reader->Read(&u))
    if (u.has_report())
      report = u.report();
  REQUIRE(reader->Finish().ok());
  REQUIRE(report);
  INFO(dump(*report));
  for (const auto* good : {"C01", "C02", "C04", "C05", "pv-inv-1"}) {
    auto* s = find(*report, "serial_number", good);
    REQUIRE(s);
    CHECK(s->result() == v1::CHECK_RESULT_PASS);
    CHECK(find(*report, "reachable", good)->result() == v1::CHECK_RESULT_PASS);
  }
  auto* wrong = find(*report, "serial_number", "C03");
  REQUIRE(wrong);
  CHECK(wrong->result() == v1::CHECK_RESULT_FAIL);
  CHECK_THAT(wrong->detail(), Catch::Contains("CM2-215-20249999")
                                && Catch::Contains("CM2-215-20240003")
                                && Catch::Contains("another device"));
  CHECK(find(*report, "reachable", "C03")->result() == v1::CHECK_RESULT_PASS);
  CHECK(find(*report, "reachable", "pv-inv-2")->result() == v1::CHECK_RESULT_FAIL);
  CHECK(find(*report, "serial_number", "pv-inv-2")->result() == v1::CHECK_RESULT_SKIPPED);
  CHECK_FALSE(report->passed());

  // Kept with its config version, and as files for the handover documents.
  {
    v1::GetCommissionReportRequest byv;
    byv.set_config_version(report->config_version());
    v1::CommissionReport kept;
    REQUIRE(plant->GetCommissionReport(ctx().get(), byv, &kept).ok());
    CHECK(kept.checks_size() == report->checks_size());
    byv.set_config_version(report->config_version() + 100);
    auto missing = plant->GetCommissionReport(ctx().get(), byv, &kept);
    CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_THAT(missing.error_message(), Catch::Contains("config version"));

    v1::ExportCommissionReportRequest ex;
    ex.set_format("pdf");
    v1::CommissionReportFile file;
    auto bad = plant->ExportCommissionReport(ctx().get(), ex, &file);
    CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(bad.error_message(), Catch::Contains("json or xlsx"));
    ex.set_format("json");
    REQUIRE(plant->ExportCommissionReport(ctx().get(), ex, &file).ok());
    CHECK_THAT(file.filename(),
               Catch::StartsWith(fmt::format("commissioning-v{}-", report->config_version()))
                 && Catch::EndsWith(".json"));
    CHECK_THAT(file.data(), Catch::Contains("CM2-215-20249999"));
  }
  // The .xlsx through plantctl, read back by another program (openpyxl).
  test::temp_dir dir;
  auto xlsx = (dir.path / "handover.xlsx").string();
  auto printed = run_command(
    {bin_dir + "/plantctl", "--target", plantd.target(), "commission", "--last", "--out", xlsx});
  INFO(printed.out);
  CHECK(printed.exit_code == 1);  // a check failed
  auto cells = run_command({"/usr/bin/python3", "-c",
                            "import openpyxl, sys\n"
                            "ws = openpyxl.load_workbook(sys.argv[1]).active\n"
                            "for row in ws.iter_rows(values_only=True):\n"
                            "    print('|'.join('' if v is None else str(v) for v in row))\n",
                            xlsx});
  INFO(cells.out);
  REQUIRE(cells.exit_code == 0);
  CHECK_THAT(cells.out, Catch::Contains("Site|"));
  CHECK_THAT(cells.out,
             Catch::Contains(fmt::format("Config version|{}", report->config_version())));
  CHECK_THAT(cells.out, Catch::Contains("Result|FAILED"));
  CHECK_THAT(cells.out, Catch::Contains("Check|Device|Result|Detail|Values"));
  CHECK_THAT(cells.out, Catch::Contains("serial_number|C03|FAIL|reads \"CM2-215-20249999\""));
  CHECK_THAT(cells.out, Catch::Contains("serial_number|C01|PASS|"));
  CHECK_THAT(cells.out, Catch::Contains("reachable|pv-inv-2|FAIL|"));

  // The right cabinet back at C03's address: read again when it reconnects.
  sim.inject("C03", v1::FAULT_KIND_SILENT);
  auto c03 = [&] {
    auto now = plantd.state();
    for (const auto& cab : now.cabinets())
      if (cab.id() == "C03")
        return cab;
    return v1::DeviceState{};
  };
  REQUIRE(within(10s, [&] { return !c03().available(); }));
  REQUIRE(sim.sim()
            .ClearFaults(
              ctx().get(),
              [] {
                v1::ClearFaultsRequest r;
                r.set_device_id("C03");
                return r;
              }(),
              std::make_unique<v1::ClearFaultsResponse>().get())
            .ok());
  REQUIRE(within(10s, [&] { return c03().serial() == "CM2-215-20240003"; }));
}

namespace {

// Whether this process may set the clock (CAP_SYS_TIME in its effective set).
bool may_set_clock() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0)
    return false;
  return (data[CAP_SYS_TIME / 32].effective >> (CAP_SYS_TIME % 32)) & 1U;
}

}  // namespace

TEST_CASE("SetTime: a time that is not one is refused, a clock NTP keeps or no permission is "
          "refused saying so, otherwise the clock is set and the step returned",
          "[e2e][commission]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config};
  running_plantd plantd{config};
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  v1::SetTimeResponse resp;
  {
    auto st = plant->SetTime(ctx().get(), {}, &resp);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("give the time"));
    v1::SetTimeRequest req;
    req.mutable_time()->set_seconds(946'684'800);  // 2000-01-01
    st = plant->SetTime(ctx().get(), req, &resp);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("2000-01-01") && Catch::Contains("2020"));
  }
  // The time now, as this machine reads it, plus 100 ms: a step forward
  // (smaller than a scheduling hiccup), never back, so that the other tests
  // running meanwhile never see their clock go backwards.
  timex tx{};
  int state = ::adjtimex(&tx);
  bool synced = state != -1 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
  v1::SetTimeRequest now;
  *now.mutable_time() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count()
    + 100);
  auto st = plant->SetTime(ctx().get(), now, &resp);
  INFO(st.error_message());
  if (synced) {
    CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(st.error_message(), Catch::Contains("synchronized by NTP"));
  } else if (!may_set_clock()) {
    CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(st.error_message(), Catch::Contains("CAP_SYS_TIME"));
  } else {
    REQUIRE(st.ok());
    CHECK(resp.step_ms() <= 100);
    CHECK(resp.step_ms() > -1000);
  }
}

TEST_CASE("commissioning and an operator's manual setpoint do not overwrite each other",
          "[e2e][commission]") {
  auto config = sim_config("single-cabinet", "", [](v1::PlantConfig& m) {
    m.mutable_policies()->mutable_export_limit()->set_enabled(false);
  });
  running_sim sim{config};
  sim.set_load(40'000);
  running_plantd plantd{config};
  plantd.state(5);
  auto ch = grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials());
  auto plant = v1::PlantService::NewStub(ch);
  auto control = v1::ControlService::NewStub(ch);
  auto setpoint = [&](double w, uint32_t s) {
    v1::SetManualSetpointRequest req;
    req.set_power_w(w);
    req.set_duration_s(s);
    v1::SetManualSetpointResponse resp;
    return control->SetManualSetpoint(ctx().get(), req, &resp);
  };
  // An operator's setpoint in force: the CT test does not take the battery.
  REQUIRE(setpoint(-5'000, 120).ok());
  auto held = commission(*plant);
  REQUIRE(held.status.ok());
  REQUIRE(held.report);
  INFO(dump(*held.report));
  auto* ct = find(*held.report, "grid_meter_ct");
  REQUIRE(ct);
  CHECK(ct->result() == v1::CHECK_RESULT_SKIPPED);
  CHECK_THAT(ct->detail(),
             Catch::Contains("manual setpoint of -5000 W") && Catch::Contains("setpoint clear"));
  CHECK(plantd.state().manual_setpoint_w() == -5'000);  // still the operator's

  // A run holding the battery: the operator can neither move nor clear it.
  REQUIRE(setpoint(0, 0).ok());
  std::optional<run_result> run;
  std::thread t{[&] { run = commission(*plant); }};
  bool saw_hold = within(20s, [&] { return plantd.state().manual_active(); }).has_value();
  auto moved = setpoint(20'000, 60);
  auto cleared = setpoint(0, 0);
  t.join();
  REQUIRE(saw_hold);
  CHECK(moved.error_code() == grpc::StatusCode::ABORTED);
  CHECK_THAT(moved.error_message(), Catch::Contains("commissioning run holds the battery"));
  CHECK(cleared.error_code() == grpc::StatusCode::ABORTED);
  REQUIRE(run);
  REQUIRE(run->report);
  INFO(dump(*run->report));
  CHECK(find(*run->report, "grid_meter_ct")->result() == v1::CHECK_RESULT_PASS);
  // Released at the end: the operator's turn again.
  REQUIRE(within(5s, [&] { return !plantd.state().manual_active(); }));
  CHECK(setpoint(10'000, 60).ok());
}
