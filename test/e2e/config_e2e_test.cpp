// The configuration has one owner: a change made through the API is a new
// version, shown by GetConfig, and still in force after a restart; an
// edited config file is a newer version that wins.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/e2e/harness.hpp"
#include "test/support/temp_dir.hpp"
#include "plantd/v1/alarm.grpc.pb.h"

#include <fmt/format.h>
#include <fstream>

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

v1::GetConfigResponse get_config(const std::string& target) {
  auto stub =
    v1::PlantService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::GetConfigResponse resp;
  auto st = stub->GetConfig(ctx().get(), {}, &resp);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return resp;
}

}  // namespace

TEST_CASE("SetMode is a config change: GetConfig shows it, a restart keeps it, an edited file wins",
          "[e2e][config]") {
  auto config = sim_config("single-cabinet");
  auto data = std::filesystem::path{write_temp_file("", ".d") + "d"};
  {
    running_plantd plantd{config, {}, data.string()};
    auto before = get_config(plantd.target());
    CHECK(before.version() == 1);
    CHECK(before.config().policies().mode() == v1::WORKING_MODE_SELF_CONSUMPTION);
    v1::SetModeRequest req;
    req.set_mode(v1::WORKING_MODE_TIME_OF_USE);
    v1::SetModeResponse resp;
    REQUIRE(plantd.control().SetMode(ctx().get(), req, &resp).ok());
    auto after = get_config(plantd.target());
    CHECK(after.version() == 2);
    CHECK(after.config().policies().mode() == v1::WORKING_MODE_TIME_OF_USE);
    CHECK(plantd.state().mode() == v1::WORKING_MODE_TIME_OF_USE);
    // A refused change leaves the version as it was.
    auto* slot = req.mutable_tou()->add_slots();
    slot->set_start("00:00");
    slot->set_end("12:00");
    slot->set_action(v1::SLOT_ACTION_IDLE);
    CHECK(plantd.control().SetMode(ctx().get(), req, &resp).error_code()
          == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(get_config(plantd.target()).version() == 2);
  }
  {
    running_plantd plantd{config, {}, data.string()};
    auto restarted = get_config(plantd.target());
    CHECK(restarted.version() == 2);
    CHECK(restarted.config().policies().mode() == v1::WORKING_MODE_TIME_OF_USE);
    CHECK(plantd.state().mode() == v1::WORKING_MODE_TIME_OF_USE);
  }
  // The installer edits the file: it is a new version, and it wins.
  auto file = services::load_config_file(config);
  REQUIRE(file.problems.empty());
  file.message.mutable_site()->set_name("Renamed on site");
  auto edited = write_temp_file(services::to_json(file.message));
  {
    running_plantd plantd{edited, {}, data.string()};
    auto now = get_config(plantd.target());
    CHECK(now.version() == 3);
    CHECK(now.config().site().name() == "Renamed on site");
    CHECK(now.config().policies().mode() == v1::WORKING_MODE_SELF_CONSUMPTION);
  }
  std::filesystem::remove_all(data);
  std::remove(edited.c_str());
}

TEST_CASE("ApplyConfig, PatchConfig and RollbackConfig: versions listed, diffed, live, and in "
          "force after a restart, plantctl config apply/set/history/diff/rollback",
          "[e2e][config]") {
  auto config = sim_config("single-cabinet");
  auto data = std::filesystem::path{write_temp_file("", ".d") + "d"};
  std::string cabinet;
  {
    running_plantd plantd{config, {}, data.string()};
    auto plant = v1::PlantService::NewStub(
      grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
    auto v1cfg = get_config(plantd.target());
    REQUIRE(v1cfg.version() == 1);
    cabinet = v1cfg.config().cabinets(0).id();
    // A whole config: the site renamed, a SOC bound moved.
    v1::ApplyConfigRequest req;
    *req.mutable_config() = v1cfg.config();
    req.mutable_config()->mutable_site()->set_name("Renamed live");
    req.mutable_config()->mutable_policies()->mutable_soc()->mutable_min_percent()->set_value(20);
    req.set_base_version(1);
    req.set_comment("new owner");
    v1::ApplyConfigResponse resp;
    auto st = plant->ApplyConfig(ctx().get(), req, &resp);
    INFO(st.error_message());
    REQUIRE(st.ok());
    CHECK(resp.version() == 2);
    CHECK(resp.previous_version() == 1);
    CHECK(resp.changed());
    std::vector<std::string> changed(resp.changed_fields().begin(), resp.changed_fields().end());
    CHECK(changed == std::vector<std::string>{"site.name", "policies.soc.min_percent"});
    CHECK(resp.devices_restarted_size() == 0);
    CHECK(get_config(plantd.target()).config().site().name() == "Renamed live");
    // Invalid: every problem named, nothing changed.
    req.mutable_config()->mutable_policies()->mutable_soc()->mutable_min_percent()->set_value(99);
    req.set_base_version(2);
    st = plant->ApplyConfig(ctx().get(), req, &resp);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("policies.soc"));
    CHECK(get_config(plantd.target()).version() == 2);
    // The cabinet moves to another port: it alone restarts. The store's
    // retention waits for the next start, and the answer says so.
    req.mutable_config()->mutable_policies()->mutable_soc()->mutable_min_percent()->set_value(20);
    req.mutable_config()->mutable_cabinets(0)->mutable_modbus()->set_port(
      static_cast<uint32_t>(unused_port()));
    req.mutable_config()->mutable_storage()->set_raw_retention_days(60);
    st = plant->ApplyConfig(ctx().get(), req, &resp);
    INFO(st.error_message());
    REQUIRE(st.ok());
    CHECK(resp.version() == 3);
    REQUIRE(resp.devices_restarted_size() == 1);
    CHECK(resp.devices_restarted(0) == cabinet);
    REQUIRE(resp.at_restart_size() == 1);
    CHECK(resp.at_restart(0) == "storage.raw_retention_days");
    // The same again: no new version.
    req.set_base_version(3);
    REQUIRE(plant->ApplyConfig(ctx().get(), req, &resp).ok());
    CHECK_FALSE(resp.changed());
    CHECK(resp.version() == 3);
    // A stale base is refused.
    req.set_base_version(2);
    CHECK(plant->ApplyConfig(ctx().get(), req, &resp).error_code() == grpc::StatusCode::ABORTED);
    // Secrets and the site's zone change in the file on the unit only.
    req.set_base_version(3);
    auto secret = req;
    secret.mutable_config()->mutable_networks()->mutable_cellular()->set_password("hunter2");
    st = plant->ApplyConfig(ctx().get(), secret, &resp);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("networks.cellular.password"));
    auto zone = req;
    zone.mutable_config()->mutable_site()->set_time_zone("Asia/Shanghai");
    st = plant->ApplyConfig(ctx().get(), zone, &resp);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("site.time_zone"));
    // The history, newest first.
    v1::ListConfigVersionsResponse history;
    REQUIRE(plant->ListConfigVersions(ctx().get(), {}, &history).ok());
    REQUIRE(history.versions_size() == 3);
    CHECK(history.versions(0).version() == 3);
    CHECK(history.versions(1).comment() == "new owner");
    CHECK(history.versions(1).origin() == "apply");
    CHECK_THAT(history.versions(1).by(), Catch::StartsWith("local:"));
    CHECK(history.versions(2).origin() == "file");
    CHECK(history.versions(2).changed_fields_size() == 0);
  }
  {
    // Restarted: version 3 runs; version 1 is still there to read.
    running_plantd plantd{config, {}, data.string()};
    auto now = get_config(plantd.target());
    CHECK(now.version() == 3);
    CHECK(now.config().site().name() == "Renamed live");
    CHECK(now.config().storage().raw_retention_days() == 60);
    auto plant = v1::PlantService::NewStub(
      grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
    v1::GetConfigRequest old;
    old.set_version(1);
    v1::GetConfigResponse first;
    REQUIRE(plant->GetConfig(ctx().get(), old, &first).ok());
    CHECK(first.config().site().name() != "Renamed live");
    old.set_version(99);
    CHECK(plant->GetConfig(ctx().get(), old, &first).error_code() == grpc::StatusCode::NOT_FOUND);

    // plantctl, as an installer at the console.
    const auto& target = plantd.target();
    auto plantctl = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {bin_dir + "/plantctl", "--target", target});
      return run_command(args);
    };
    auto set = plantctl({"config", "set", "policies.export_limit.limit_w", "5000"});
    INFO(set.out);
    REQUIRE(set.exit_code == 0);
    CHECK_THAT(set.out, Catch::Contains("config version 4 in force"));
    CHECK(get_config(target).config().policies().export_limit().limit_w() == 5000);
    auto by_index = plantctl({"config", "set", "cabinets[0].rated_power_w", "90000"});
    INFO(by_index.out);
    REQUIRE(by_index.exit_code == 0);
    CHECK_THAT(by_index.out, Catch::Contains("restarted " + cabinet));
    auto typo = plantctl({"config", "set", "policies.export_limit.limit_kw", "5"});
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.out, Catch::Contains("limit_kw"));
    auto refused = plantctl({"config", "set", "policies.soc.min_percent", "120"});
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.out, Catch::Contains("policies.soc"));
    // Choosing the grid profile fills what it fixes: VDE-AR-N 4105 wants the
    // ripple-control receiver instead of the DRED.
    auto profile = plantctl({"config", "set", "site.grid_profile", "vde_ar_n_4105"});
    INFO(profile.out);
    REQUIRE(profile.exit_code == 0);
    CHECK_THAT(profile.out, Catch::Contains("changed   site.grid_profile"));
    CHECK_THAT(profile.out, Catch::Contains("changed   io.demand_response"));
    CHECK(get_config(target).config().io().demand_response() == v1::DEMAND_RESPONSE_KIND_RCR);
    auto departs = plantctl({"config", "set", "io.demand_response", "dred"});
    CHECK(departs.exit_code == 1);
    CHECK_THAT(departs.out, Catch::Contains("VDE-AR-N 4105"));
    auto hist = plantctl({"config", "history"});
    REQUIRE(hist.exit_code == 0);
    CHECK_THAT(hist.out, Catch::Contains("policies.export_limit.limit_w"));
    CHECK_THAT(hist.out, Catch::Contains("patch"));
    auto diff = plantctl({"config", "diff", "3", "4"});  // the export limit
    REQUIRE(diff.exit_code == 0);
    CHECK_THAT(diff.out, Catch::Contains("policies.export_limit.limit_w: 0 -> 5000"));
    auto back = plantctl({"config", "rollback", "3"});
    INFO(back.out);
    REQUIRE(back.exit_code == 0);
    CHECK(get_config(target).version() == 7);
    CHECK(get_config(target).config().policies().export_limit().limit_w() == 0);
    CHECK(get_config(target).config().io().demand_response() == v1::DEMAND_RESPONSE_KIND_DRED);
    CHECK(get_config(target).config().cabinets(0).rated_power_w()
          == first.config().cabinets(0).rated_power_w());
    // A whole file, with the version it was made from.
    auto edited = services::load_config_file(config);
    REQUIRE(edited.problems.empty());
    edited.message.mutable_site()->set_owner("Ana");
    auto file = write_temp_file(services::to_json(edited.message));
    auto stale = plantctl({"config", "apply", file, "--base", "6"});
    CHECK(stale.exit_code == 1);
    CHECK_THAT(stale.out, Catch::Contains("version 7 is in force"));
    auto applied = plantctl({"config", "apply", file, "--base", "7"});
    INFO(applied.out);
    CHECK(applied.exit_code == 0);
    CHECK(get_config(target).config().site().owner() == "Ana");
    std::remove(file.c_str());
  }
  std::filesystem::remove_all(data);
}

TEST_CASE("plantd killed while changes are being applied: a restart runs one whole version, "
          "never a mix, and every change answered OK is kept",
          "[e2e][config][faults]") {
  auto config = sim_config("single-cabinet");
  auto data = std::filesystem::path{write_temp_file("", ".d") + "d"};
  std::atomic<uint64_t> acknowledged{0};
  for (int round = 0; round < 3; ++round) {
    running_plantd plantd{config, {}, data.string()};
    auto plant = v1::PlantService::NewStub(
      grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
    // Each change sets two fields to the same number n: a version that
    // mixes two changes would show two numbers.
    std::atomic<bool> stop{false};
    std::thread writer{[&] {
      for (int n = 1; !stop; ++n) {
        v1::PatchConfigRequest req;
        req.mutable_config()->mutable_site()->set_owner(std::to_string(n));
        req.mutable_config()->mutable_policies()->mutable_export_limit()->set_limit_w(n);
        req.mutable_update_mask()->add_paths("site.owner");
        req.mutable_update_mask()->add_paths("policies.export_limit.limit_w");
        v1::ApplyConfigResponse resp;
        if (plant->PatchConfig(ctx(500ms).get(), req, &resp).ok())
          acknowledged = std::max(acknowledged.load(), resp.version());
        else
          return;  // killed
      }
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds{200 + 150 * round});
    plantd.process().stop(SIGKILL, 5s);
    stop = true;
    writer.join();
  }
  running_plantd plantd{config, {}, data.string()};
  auto now = get_config(plantd.target());
  INFO("acknowledged up to version " << acknowledged.load() << ", running " << now.version());
  CHECK(acknowledged.load() > 3);
  CHECK(now.version() >= acknowledged.load());
  CHECK(now.config().site().owner()
        == std::to_string(static_cast<int>(now.config().policies().export_limit().limit_w())));
  std::filesystem::remove_all(data);
}

TEST_CASE("network settings reach the OS through the installer's hook at the start and at every "
          "change, a failing hook raises network_settings until a run succeeds, and the hook "
          "cannot be changed through the API",
          "[e2e][config]") {
  test::temp_dir dir;
  auto applied = dir.path / "applied.json";
  auto hook = dir.path / "hook.sh";
  // The hook keeps what it was given; a modem refuses the APN "bad".
  std::ofstream{hook} << "cat > " << applied.string() << ".tmp\n"
                      << "mv " << applied.string() << ".tmp " << applied.string() << "\n"
                      << "if grep -q '\"apn\": \"bad\"' " << applied.string() << "; then\n"
                      << "  echo 'modem: APN refused' >&2; exit 3\n"
                      << "fi\n";
  auto config = sim_config("single-cabinet", "", [&](v1::PlantConfig& m) {
    auto* n = m.mutable_networks();
    n->set_apply_hook("sh " + hook.string());
    n->mutable_cellular()->set_enabled(true);
    n->mutable_cellular()->set_apn("cmnet");
    n->mutable_cellular()->set_password("from-the-file");
  });
  running_sim sim{config};
  running_plantd plantd{config};
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  auto alarms = v1::AlarmService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  auto read_applied = [&] {
    std::ifstream f{applied};
    return std::string{std::istreambuf_iterator<char>{f}, {}};
  };
  auto network_alarm = [&]() -> std::optional<v1::Alarm> {
    v1::ListAlarmsRequest req;
    req.set_state(v1::ListAlarmsRequest::STATE_OPEN);
    v1::ListAlarmsResponse resp;
    if (!alarms->ListAlarms(ctx().get(), req, &resp).ok())
      return std::nullopt;
    for (const auto& a : resp.alarms())
      if (a.code() == "network_settings")
        return a;
    return std::nullopt;
  };
  // At the start: the settings of the config file, its password too.
  REQUIRE(within(10s, [&] { return read_applied().find("\"cmnet\"") != std::string::npos; }));
  auto first = read_applied();
  CHECK_THAT(first, Catch::Contains("\"config_version\": 1"));
  CHECK_THAT(first, Catch::Contains("\"password\": \"from-the-file\""));
  CHECK_THAT(first, Catch::Contains("\"enabled\": true"));

  auto patch_apn = [&](const std::string& apn) {
    v1::PatchConfigRequest req;
    req.mutable_config()->mutable_networks()->mutable_cellular()->set_apn(apn);
    req.mutable_update_mask()->add_paths("networks.cellular.apn");
    v1::ApplyConfigResponse resp;
    auto st = plant->PatchConfig(ctx().get(), req, &resp);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return resp.version();
  };
  // A change the modem refuses: given to the hook, and a warning until fixed.
  auto v = patch_apn("bad");
  REQUIRE(within(10s, [&] { return network_alarm().has_value(); }));
  auto al = network_alarm();
  CHECK(al->severity() == v1::SEVERITY_WARNING);
  CHECK_THAT(al->text(), Catch::Contains(fmt::format("config version {}", v))
                           && Catch::Contains("exited 3") && Catch::Contains("APN refused"));
  CHECK_THAT(read_applied(), Catch::Contains("\"apn\": \"bad\""));
  // Fixed: applied, the warning cleared; the password kept from the file.
  v = patch_apn("3gnet");
  REQUIRE(within(10s, [&] { return !network_alarm().has_value(); }));
  auto last = read_applied();
  CHECK_THAT(last, Catch::Contains("\"apn\": \"3gnet\""));
  CHECK_THAT(last, Catch::Contains(fmt::format("\"config_version\": {}", v)));
  CHECK_THAT(last, Catch::Contains("\"password\": \"from-the-file\""));

  // The command itself changes in the config file only.
  v1::PatchConfigRequest req;
  req.mutable_config()->mutable_networks()->set_apply_hook("touch /tmp/owned");
  req.mutable_update_mask()->add_paths("networks.apply_hook");
  v1::ApplyConfigResponse resp;
  auto st = plant->PatchConfig(ctx().get(), req, &resp);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(st.error_message(),
             Catch::Contains("networks.apply_hook") && Catch::Contains("config file"));
}
