// plantd as a whole process: started on port 0, reached over real gRPC from
// C++ stubs and from plantctl, stopped with SIGTERM.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <thread>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <cstdio>
#include <regex>

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "plantd/v1/energy.grpc.pb.h"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "services/config_codec.hpp"
#include "test/e2e/process.hpp"
#include "test/support/energy_tree.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using plantd::test::child_process;
using plantd::test::run_command;

namespace {

const std::string bin_dir = PLANTD_BIN_DIR;
const std::string plantd_bin = bin_dir + "/plantd";
const std::string plantctl_bin = bin_dir + "/plantctl";

std::string example(const std::string& name) {
  return std::string{PLANTD_SOURCE_DIR} + "/deploy/examples/" + name + ".json";
}

// A plantd on an ephemeral loopback port, stopped at scope exit.
class running_plantd {
public:
  explicit running_plantd(const std::string& config)
    : data_dir_(test::write_temp_file("", ".dir")),
      proc_({plantd_bin, "--config", config, "--listen", "127.0.0.1:0", "--data-dir",
             data_dir_ + ".d", "--log-level", "warn"}) {
    auto line = proc_.read_line(10s);
    INFO("stderr: " << proc_.stderr_text());
    REQUIRE(line);
    std::smatch m;
    static const std::regex listening{R"(plantd: listening on (\S+))"};
    REQUIRE(std::regex_search(*line, m, listening));
    target_ = m[1];
    static const std::regex tcp{R"(and (\S+))"};
    if (std::regex_search(*line, m, tcp))
      tcp_target_ = m[1];
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
  }

  ~running_plantd() {
    proc_.stop(SIGKILL, 5s);
    std::remove(data_dir_.c_str());
    std::filesystem::remove_all(data_dir_ + ".d");
  }

  // The local socket (no credentials needed) and the loopback TCP port.
  const std::string& target() const { return target_; }
  const std::string& tcp_target() const { return tcp_target_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  child_process& process() { return proc_; }
  std::string data_dir() const { return data_dir_ + ".d"; }

private:
  std::string data_dir_;
  child_process proc_;
  std::string target_;
  std::string tcp_target_;
  std::shared_ptr<grpc::Channel> channel_;
};

std::unique_ptr<grpc::ClientContext> ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + 5s);
  return c;
}

}  // namespace

TEST_CASE("plantd answers health SERVING and its config over gRPC", "[e2e]") {
  running_plantd plantd{example("single-cabinet")};

  auto health = grpc::health::v1::Health::NewStub(plantd.channel());
  grpc::health::v1::HealthCheckResponse hresp;
  auto st = health->Check(ctx().get(), {}, &hresp);
  REQUIRE(st.ok());
  CHECK(hresp.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  auto plant = v1::PlantService::NewStub(plantd.channel());
  v1::GetConfigResponse resp;
  st = plant->GetConfig(ctx().get(), {}, &resp);
  REQUIRE(st.ok());
  CHECK(resp.version() == 1);
  CHECK(resp.has_applied_at());
  // What plantd runs with is the file, defaults spelled out.
  auto file = services::load_config_file(example("single-cabinet"));
  REQUIRE(file.problems.empty());
  problems ignored;
  auto expected = services::to_proto(services::to_model(file.message, ignored));
  services::redact_secrets(expected);
  CHECK(google::protobuf::util::MessageDifferencer::Equals(resp.config(), expected));
  CHECK(resp.config().site().name() == "Wollongong Cold Store");

  v1::GetInfoResponse info;
  st = plant->GetInfo(ctx().get(), {}, &info);
  REQUIRE(st.ok());
  CHECK(info.role() == "primary");
  CHECK(info.cabinet_count() == 1);
  CHECK(info.config_version() == 1);
  CHECK(info.uptime_s() >= 0);
}

TEST_CASE("ValidateConfig lists every problem of a bad config", "[e2e]") {
  running_plantd plantd{example("single-cabinet")};
  auto plant = v1::PlantService::NewStub(plantd.channel());

  SECTION("malformed JSON text") {
    v1::ValidateConfigRequest req;
    req.set_config_json("{\"site\": {\"name\": \"x\",}}");
    v1::ValidateConfigResponse resp;
    REQUIRE(plant->ValidateConfig(ctx().get(), req, &resp).ok());
    CHECK_FALSE(resp.valid());
    REQUIRE(resp.problems_size() == 1);
    CHECK_THAT(resp.problems(0).message(), Catch::Contains("line 1, column 23"));
  }
  SECTION("a config message with 21 cabinets and no EMS-Switch unit") {
    auto file = services::load_config_file(example("twenty-cabinets"));
    auto msg = file.message;
    auto* extra = msg.add_cabinets();
    *extra = msg.cabinets(0);
    extra->set_id("C21");
    extra->set_serial("SN-21");
    extra->mutable_modbus()->set_port(15021);
    msg.mutable_ems()->clear_ems_switch();
    v1::ValidateConfigRequest req;
    *req.mutable_config() = msg;
    v1::ValidateConfigResponse resp;
    REQUIRE(plant->ValidateConfig(ctx().get(), req, &resp).ok());
    CHECK_FALSE(resp.valid());
    std::vector<std::string> paths;
    for (const auto& p : resp.problems())
      paths.push_back(p.field_path());
    CHECK_THAT(paths, Catch::VectorContains(std::string{"cabinets"}));
    CHECK_THAT(paths, Catch::VectorContains(std::string{"ems.ems_switch"}));
    CHECK_THAT(paths, Catch::VectorContains(std::string{"cabinets[20]"}));
  }
  SECTION("the shipped examples are valid") {
    for (auto name : {"five-cabinets", "twenty-cabinets"}) {
      auto file = services::load_config_file(example(name));
      v1::ValidateConfigRequest req;
      *req.mutable_config() = file.message;
      v1::ValidateConfigResponse resp;
      REQUIRE(plant->ValidateConfig(ctx().get(), req, &resp).ok());
      CHECK(resp.valid());
      CHECK(resp.problems_size() == 0);
    }
  }
  SECTION("a request without a config") {
    v1::ValidateConfigResponse resp;
    auto st = plant->ValidateConfig(ctx().get(), {}, &resp);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_CASE("plantd stops cleanly on SIGTERM and SIGINT within 1 s", "[e2e]") {
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    running_plantd plantd{example("twenty-cabinets")};
    auto t0 = std::chrono::steady_clock::now();
    auto code = plantd.process().stop(sig, 5s);
    auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(took < 1s);
  }
}

TEST_CASE("plantd refuses to start on an invalid config", "[e2e][bad-input]") {
  auto file = services::load_config_file(example("twenty-cabinets"));
  file.message.mutable_ems()->clear_ems_switch();
  auto path = test::write_temp_file(services::to_json(file.message));
  child_process proc{{plantd_bin, "--config", path, "--listen", "127.0.0.1:0", "--data-dir",
                      "/tmp/plantd-never-used"}};
  auto code = proc.wait(10s);
  std::remove(path.c_str());
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK_THAT(proc.stderr_text(),
             Catch::Contains("ems.ems_switch: 20 cabinets need an EMS-Switch unit"));
  CHECK_THAT(proc.stderr_text(), Catch::Contains("refusing to start"));
  CHECK_FALSE(std::filesystem::exists("/tmp/plantd-never-used"));
}

TEST_CASE("plantd --check-config prints each problem and exits 1, or exits 0", "[e2e][bad-input]") {
  auto ok = run_command({plantd_bin, "--check-config", example("five-cabinets")});
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("valid (5 cabinets)"));

  auto path = test::write_temp_file("{\"site\": {\"name\": \"x\", \"time_zone\": \"UTC\"},"
                                    " \"cabinets\": [{\"id\": \"C01\", \"colour\": \"red\"}]}");
  auto bad = run_command({plantd_bin, "--check-config", path});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.out, Catch::Contains(path + ": cabinets[0].colour: unknown field \"colour\""));

  std::string text = "{\"site\": {\"name\": \"x\", \"time_zone\": \"UTC\"}}";
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  bad = run_command({plantd_bin, "--check-config", path});
  std::remove(path.c_str());
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.out, Catch::Contains("cabinets: a plant needs at least 1 cabinet"));
  CHECK_THAT(bad.out, Catch::Contains("rs485_lines: a grid meter is required"));
  CHECK_THAT(bad.out, Catch::Contains("ems.primary.id: is required"));
}

TEST_CASE("plantctl status, config get and config validate", "[e2e][plantctl]") {
  running_plantd plantd{example("five-cabinets")};
  const auto& target = plantd.target();

  auto status = run_command({plantctl_bin, "--target", target, "status"});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("SERVING"));
  CHECK_THAT(status.out, Catch::Contains("Augsburg Machining Plant"));

  auto status_json = run_command({plantctl_bin, "--target", target, "--json", "status"});
  CHECK(status_json.exit_code == 0);
  CHECK_THAT(status_json.out, Catch::Contains("\"health\": \"SERVING\""));
  CHECK_THAT(status_json.out, Catch::Contains("\"cabinet_count\": 5"));

  auto get = run_command({plantctl_bin, "--target", target, "config", "get"});
  CHECK(get.exit_code == 0);
  CHECK_THAT(get.out, Catch::Contains("cabinets  5"));
  CHECK_THAT(get.out, Catch::Contains("Europe/Berlin"));

  // --json prints a config file that plantd accepts as it is.
  auto get_json = run_command({plantctl_bin, "--target", target, "--json", "config", "get"});
  REQUIRE(get_json.exit_code == 0);
  auto reloaded = services::load_config_text(get_json.out);
  CHECK(reloaded.problems.empty());
  CHECK(reloaded.model.cabinets.size() == 5);

  auto valid = run_command(
    {plantctl_bin, "--target", target, "config", "validate", example("twenty-cabinets")});
  CHECK(valid.exit_code == 0);
  CHECK_THAT(valid.out, Catch::Contains("valid"));

  auto path = test::write_temp_file("{\"cabinets\": 5}");
  auto invalid = run_command({plantctl_bin, "--target", target, "config", "validate", path});
  std::remove(path.c_str());
  INFO(invalid.out);
  CHECK(invalid.exit_code == 1);
  CHECK_THAT(invalid.out, Catch::Contains("cabinets: invalid value 5: expected an object"));

  auto missing =
    run_command({plantctl_bin, "--target", target, "config", "validate", "/nonexistent.json"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.out, Catch::Contains("cannot read /nonexistent.json"));

  // Steering: a manual setpoint, the mode, a live line.
  auto sp = run_command({plantctl_bin, "--target", target, "setpoint", "-20", "--for", "1m"});
  INFO(sp.out);
  CHECK(sp.exit_code == 0);
  CHECK_THAT(sp.out, Catch::Contains("manual setpoint -20 kW for 1m"));
  auto bad_for = run_command({plantctl_bin, "--target", target, "setpoint", "-20", "--for", "10x"});
  CHECK(bad_for.exit_code == 2);
  auto too_big = run_command({plantctl_bin, "--target", target, "setpoint", "9000", "--for", "1m"});
  CHECK(too_big.exit_code == 1);
  CHECK_THAT(too_big.out, Catch::Contains("power_w"));
  auto mode = run_command({plantctl_bin, "--target", target, "mode", "set", "self-consumption"});
  CHECK(mode.exit_code == 0);
  auto watch = run_command({plantctl_bin, "--target", target, "watch", "--count", "2"});
  CHECK(watch.exit_code == 0);
  CHECK(std::count(watch.out.begin(), watch.out.end(), '\n') == 2);
  CHECK_THAT(watch.out, Catch::Contains("SOC"));
}

TEST_CASE("plantctl says clearly when plantd cannot be reached", "[e2e][plantctl][bad-input]") {
  auto target = "127.0.0.1:" + std::to_string(test::unused_port());
  for (auto cmd : {"status", "config"}) {
    CAPTURE(cmd);
    std::vector<std::string> argv{plantctl_bin, "--target", target, "--timeout", "2", cmd};
    if (std::string{cmd} == "config")
      argv.push_back("get");
    auto r = run_command(argv);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.out, Catch::Contains("cannot reach plantd at " + target));
  }
}

TEST_CASE("plantd refuses point tables that do not load, and configs naming unknown ones",
          "[e2e][bad-input]") {
  auto dir = std::filesystem::temp_directory_path() / ("plantd-tables-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream{dir / "my-meter.json"} << R"({"name": "my-meter", "source": "x", "points": [
      {"name": "p", "fc": 3, "address": 0, "type": "f64"}]})";
  }
  child_process bad_table{{plantd_bin, "--config", example("single-cabinet"), "--listen",
                           "127.0.0.1:0", "--data-dir", (dir / "data").string(), "--pointtables",
                           dir.string()}};
  auto code = bad_table.wait(10s);
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK_THAT(bad_table.stderr_text(), Catch::Contains("my-meter.json: points[0].type"));

  auto file = services::load_config_file(example("single-cabinet"));
  file.message.mutable_cabinets(0)->set_point_table("acme-cabinet");
  auto path = test::write_temp_file(services::to_json(file.message));
  child_process unknown{{plantd_bin, "--config", path, "--listen", "127.0.0.1:0", "--data-dir",
                         (dir / "data2").string()}};
  code = unknown.wait(10s);
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK_THAT(unknown.stderr_text(),
             Catch::Contains("cabinets[0].point_table: unknown point table \"acme-cabinet\""));
  std::remove(path.c_str());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a secret is write-only: GetConfig says it is set, the data directory never holds it",
          "[e2e][secrets]") {
  const std::string secret = "apn-pa55-7f3e9c1d";
  auto file = services::load_config_file(example("single-cabinet"));
  REQUIRE(file.problems.empty());
  auto* cell = file.message.mutable_networks()->mutable_cellular();
  cell->set_enabled(true);
  cell->set_apn("internet.example");
  cell->set_password(secret);
  auto path = test::write_temp_file(services::to_json(file.message));
  {
    running_plantd plantd{path};
    auto plant = v1::PlantService::NewStub(plantd.channel());
    v1::GetConfigResponse resp;
    REQUIRE(plant->GetConfig(ctx().get(), {}, &resp).ok());
    CHECK(resp.config().networks().cellular().password().empty());
    CHECK(resp.config().networks().cellular().password_set());
    CHECK(resp.config().networks().cellular().apn() == "internet.example");
    // Every file plantd wrote (the WAL included), read while it runs and
    // after it stopped.
    auto scan = [&](const std::filesystem::path& dir) {
      std::size_t files = 0;
      for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file())
          continue;
        ++files;
        std::ifstream in{e.path(), std::ios::binary};
        std::string bytes{std::istreambuf_iterator<char>(in), {}};
        INFO(e.path());
        CHECK(bytes.find(secret) == std::string::npos);
      }
      return files;
    };
    CHECK(plantd.process().stop(SIGTERM, 5s) == 0);
    CHECK(scan(plantd.data_dir()) > 0);
  }
  std::remove(path.c_str());
}

TEST_CASE("plantd --check-config checks point tables and their roles as a start does",
          "[e2e][bad-input]") {
  auto file = services::load_config_file(example("single-cabinet"));
  REQUIRE(file.problems.empty());
  file.message.mutable_cabinets(0)->set_point_table("acme-cabinet");
  auto path = test::write_temp_file(services::to_json(file.message));
  auto r = run_command({plantd_bin, "--check-config", path});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out,
             Catch::Contains("cabinets[0].point_table: unknown point table \"acme-cabinet\""));
  std::remove(path.c_str());

  // A grid meter whose table has no active power (an integrator's file).
  auto dir = std::filesystem::temp_directory_path() / ("plantd-role-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "volts-only.json"} << R"({"name": "volts-only", "source": "x", "points": [
      {"name": "voltage_l1", "fc": 3, "address": 0, "type": "u16", "unit": "V"}]})";
  file = services::load_config_file(example("single-cabinet"));
  for (auto& line : *file.message.mutable_rs485_lines())
    for (auto& d : *line.mutable_devices())
      if (d.role() == v1::DEVICE_ROLE_GRID_METER)
        d.set_point_table("volts-only");
  path = test::write_temp_file(services::to_json(file.message));
  r = run_command({plantd_bin, "--check-config", path, "--pointtables", dir.string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("point table \"volts-only\" has no readable \"active_power\""));
  std::remove(path.c_str());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a long request never holds up a stop by more than a second", "[e2e][stop]") {
  running_plantd plantd{example("single-cabinet")};
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto energy = v1::EnergyCarbonService::NewStub(
    grpc::CreateCustomChannel(plantd.target(), grpc::InsecureChannelCredentials(), args));
  v1::EnergyModel model;
  REQUIRE(energy->GetModel(ctx().get(), {}, &model).ok());
  test::add_large_tree(model);  // about 50,000 units: an import of a few seconds
  std::atomic<bool> sent{false};
  std::thread importer{[&] {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + 60s);
    v1::ImportModelResponse resp;
    sent = true;
    energy->ImportModel(&c, model, &resp);  // cut short by the stop
  }};
  while (!sent)
    std::this_thread::yield();
  std::this_thread::sleep_for(700ms);  // the 11 MB request is in and being checked
  auto t0 = std::chrono::steady_clock::now();
  auto code = plantd.process().stop(SIGTERM, 10s);
  auto took = std::chrono::steady_clock::now() - t0;
  importer.join();
  REQUIRE(code);
  WARN("stopped " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                  << " ms after SIGTERM with an import running");
  CHECK(took < 1500ms);
}

TEST_CASE("a stack overflow leaves a backtrace, on the main thread and on an actor's",
          "[e2e][crash]") {
  for (const char* where : {"main", "thread"}) {
    CAPTURE(where);
    auto r = run_command({bin_dir + "/crash_probe", where});
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.out, Catch::Contains("plantd: fatal signal SEGV, backtrace:"));
  }
}

TEST_CASE("an installer at the console makes an owner, who logs in with plantctl, the audit "
          "names each change",
          "[e2e][plantctl][access]") {
  running_plantd plantd{example("single-cabinet")};
  auto home =
    std::filesystem::temp_directory_path() / ("plantctl-home-" + std::to_string(getpid()));
  std::filesystem::create_directories(home);
  ::setenv("XDG_CONFIG_HOME", home.c_str(), 1);
  auto local = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {plantctl_bin, "--target", plantd.target()});
    return run_command(args);
  };
  auto tcp = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {plantctl_bin, "--target", plantd.tcp_target()});
    return run_command(args);
  };
  auto with_password = [&](const std::string& pw, const std::string& target,
                           const std::string& rest) {
    return run_command(
      {"/bin/sh", "-c",
       "echo '" + pw + "' | " + plantctl_bin + " --target " + target + " " + rest});
  };
  auto made =
    with_password("olga-password", plantd.target(), "users add olga --role owner --password-stdin");
  CHECK(made.exit_code == 0);
  CHECK_THAT(made.out, Catch::Contains("created olga (owner)"));

  auto anonymous = tcp({"mode", "set", "tou"});
  CHECK(anonymous.exit_code == 3);
  CHECK_THAT(anonymous.out, Catch::Contains("needs credentials"));

  auto wrong =
    with_password("not-her-password", plantd.tcp_target(), "login olga --password-stdin");
  CHECK(wrong.exit_code == 3);
  CHECK_THAT(wrong.out, Catch::Contains("wrong user name or password"));
  auto login = with_password("olga-password", plantd.tcp_target(), "login olga --password-stdin");
  REQUIRE(login.exit_code == 0);
  auto file = home / "plantd" / "tokens";
  REQUIRE(std::filesystem::exists(file));
  CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all)
        == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK_THAT(tcp({"whoami"}).out, Catch::Contains("user:olga (owner)"));
  CHECK(tcp({"mode", "set", "self-consumption"}).exit_code == 0);
  auto not_hers = with_password("vera-password", plantd.tcp_target(),
                                "users add vera --role viewer --password-stdin");
  CHECK(not_hers.exit_code == 3);
  CHECK_THAT(not_hers.out, Catch::Contains("needs permission 'accounts'"));

  auto audit = local({"audit", "--method", "SetMode"});
  CHECK(audit.exit_code == 0);
  CHECK_THAT(audit.out, Catch::Contains("user:olga"));
  CHECK_THAT(audit.out, Catch::Contains("OK"));
  CHECK_THAT(local({"audit", "--refused"}).out, Catch::Contains("anonymous"));

  // A machine's token: printed once, works, stops at revocation.
  auto token = local({"tokens", "create", "gateway", "--role", "energy-manager"});
  REQUIRE(token.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(token.out, m, std::regex{R"((pdt_\S+))"}));
  std::string t = m[1];
  REQUIRE(std::regex_search(token.out, m, std::regex{R"(id ([0-9a-f]{16}))"}));
  std::string id = m[1];
  CHECK_THAT(tcp({"--token", t, "whoami"}).out, Catch::Contains("token:gateway (energy_manager)"));
  CHECK(local({"tokens", "revoke", id}).exit_code == 0);
  auto revoked = tcp({"--token", t, "whoami"});
  CHECK(revoked.exit_code == 3);
  CHECK_THAT(revoked.out, Catch::Contains("unknown or revoked token"));

  CHECK(tcp({"logout"}).exit_code == 0);
  CHECK(tcp({"whoami"}).exit_code == 3);
  ::unsetenv("XDG_CONFIG_HOME");
  std::filesystem::remove_all(home);
}
