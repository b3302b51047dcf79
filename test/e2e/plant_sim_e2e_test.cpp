// plant-sim as a whole process: devices at the config's addresses, read by
// plantctl and by mbpoll (an independent Modbus implementation), faults
// injected over SimService and seen on the wire, RTU over pty pairs.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>
#include <map>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include "plantd/v1/sim.grpc.pb.h"
#include "services/config_codec.hpp"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using test::child_process;
using test::run_command;

namespace {

using test::running_sim;

std::string sim_config(const std::string& rtu_dir = "") {
  return test::sim_config("single-cabinet", rtu_dir);
}

const std::string& bin_dir = test::bin_dir;

std::unique_ptr<grpc::ClientContext> ctx() {
  return test::ctx();
}

// plantctl device read --json, parsed into point -> value.
std::map<std::string, double> read_points(const std::vector<std::string>& where,
                                          const std::string& table, int unit,
                                          int* exit_code = nullptr, std::string* out = nullptr) {
  std::vector<std::string> argv{bin_dir + "/plantctl",
                                "--json",
                                "--timeout",
                                "0.5",
                                "device",
                                "read",
                                "--pointtable",
                                table,
                                "--unit",
                                std::to_string(unit)};
  argv.insert(argv.end(), where.begin(), where.end());
  auto r = run_command(argv);
  if (exit_code)
    *exit_code = r.exit_code;
  if (out)
    *out = r.out;
  std::map<std::string, double> values;
  static const std::regex point{R"re("name": "([^"]+)"[^}]*"value": (-?[0-9.eE+-]+))re"};
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), point);
       it != std::sregex_iterator(); ++it)
    values[(*it)[1]] = std::stod((*it)[2]);
  return values;
}

std::vector<std::string> tcp(const std::string& address) {
  return {"--tcp", address};
}

void inject(running_sim& s, const std::string& device, v1::FaultKind kind,
            uint32_t exception_code = 0, double derate = 0) {
  v1::InjectFaultRequest req;
  req.set_device_id(device);
  req.set_kind(kind);
  req.set_exception_code(exception_code);
  req.set_derate_factor(derate);
  v1::InjectFaultResponse resp;
  auto st = s.sim().InjectFault(ctx().get(), req, &resp);
  INFO(st.error_message());
  REQUIRE(st.ok());
}

void clear(running_sim& s, const std::string& device) {
  v1::ClearFaultsRequest req;
  req.set_device_id(device);
  v1::ClearFaultsResponse resp;
  REQUIRE(s.sim().ClearFaults(ctx().get(), req, &resp).ok());
}

}  // namespace

TEST_CASE("plant-sim serves every device of the config, plantctl reads each", "[e2e][sim]") {
  running_sim sim{sim_config(), {"--soc", "50"}};
  auto cab = read_points(tcp(sim.endpoint("C01")), "cm2-cabinet", 1);
  CHECK(cab["soc"] == Approx(50).margin(0.2));
  CHECK(cab["allowed_discharge_power"] == Approx(100'000));
  CHECK(cab["rated_energy"] == 215'000);
  CHECK(cab["contactor"] == 1);
  auto grid = read_points(tcp(sim.endpoint("RS485-1")), "chint-dtsu666", 1);
  CHECK(grid["frequency"] == Approx(50));
  CHECK(grid.count("active_power") == 1);
  auto pv = read_points(tcp(sim.endpoint("RS485-2")), "eastron-sdm630", 2);
  CHECK(pv.count("active_power") == 1);
  auto inv = read_points(tcp(sim.endpoint("RS485-3")), "saj-r5-inverter", 2);
  CHECK(inv["rated_power"] == 20'000);
  auto io = read_points(tcp(sim.endpoint("io")), "plantd-io", 1);
  CHECK(io["di1"] == 1);  // normally-closed E-stop loop, closed at rest
  CHECK(io["di2"] == 0);
  CHECK(io.size() == 17);
}

TEST_CASE("mbpoll, an independent Modbus client, reads plant-sim", "[e2e][sim][interop]") {
  running_sim sim{sim_config(), {"--soc", "73.4"}};
  auto address = sim.endpoint("C01");
  auto port = address.substr(address.rfind(':') + 1);
  // SOC is holding register 0x0101 in 0.1 %.
  auto r = run_command({"/usr/bin/mbpoll", "-m", "tcp", "-a", "1", "-p", port, "-t", "4", "-r",
                        "257", "-c", "1", "-0", "-1", "127.0.0.1"});
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex{R"(\[257\]:\s+(\d+))"}));
  CHECK(std::stoi(m[1]) == Approx(734).margin(2));
}

TEST_CASE("faults injected over SimService show on the wire and clear", "[e2e][sim][faults]") {
  running_sim sim{sim_config()};
  auto grid = tcp(sim.endpoint("RS485-1"));
  int code = -1;
  std::string out;

  inject(sim, "grid-meter", v1::FAULT_KIND_SILENT);
  read_points(grid, "chint-dtsu666", 1, &code, &out);
  CHECK(code == 3);
  CHECK_THAT(out, Catch::Contains("timeout"));
  clear(sim, "grid-meter");
  read_points(grid, "chint-dtsu666", 1, &code, &out);
  CHECK(code == 0);

  inject(sim, "grid-meter", v1::FAULT_KIND_EXCEPTION, 6);
  read_points(grid, "chint-dtsu666", 1, &code, &out);
  CHECK(code == 3);
  CHECK_THAT(out, Catch::Contains("exception 6 (server device busy)"));
  clear(sim, "grid-meter");

  // Frozen: the counters stop moving although the plant runs on.
  inject(sim, "grid-meter", v1::FAULT_KIND_FROZEN);
  auto before = read_points(grid, "chint-dtsu666", 1);
  std::this_thread::sleep_for(600ms);
  auto after = read_points(grid, "chint-dtsu666", 1);
  CHECK(after["import_energy"] == before["import_energy"]);
  clear(sim, "grid-meter");
  std::this_thread::sleep_for(600ms);
  auto thawed = read_points(grid, "chint-dtsu666", 1);
  CHECK(thawed["import_energy"] > after["import_energy"]);

  auto cab = tcp(sim.endpoint("C01"));
  inject(sim, "C01", v1::FAULT_KIND_BMS_DERATE, 0, 0.4);
  inject(sim, "C01", v1::FAULT_KIND_FIRE_ALARM);
  std::this_thread::sleep_for(300ms);
  auto c = read_points(cab, "cm2-cabinet", 1);
  CHECK(c["fire_state"] == 2);
  CHECK(c["contactor"] == 0);  // the fire system opens the contactor
  CHECK(c["allowed_discharge_power"] == 0);
  clear(sim, "C01");
  inject(sim, "C01", v1::FAULT_KIND_BMS_DERATE, 0, 0.4);
  std::this_thread::sleep_for(300ms);
  c = read_points(cab, "cm2-cabinet", 1);
  CHECK(c["fire_state"] == 0);
  CHECK(c["allowed_discharge_power"] == Approx(40'000));

  v1::InjectFaultRequest bad;
  bad.set_device_id("no-such-device");
  bad.set_kind(v1::FAULT_KIND_SILENT);
  v1::InjectFaultResponse resp;
  CHECK(sim.sim().InjectFault(ctx().get(), bad, &resp).error_code()
        == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("DRED and dry contacts set over SimService read back on the I/O map",
          "[e2e][sim][dred]") {
  running_sim sim{sim_config()};
  v1::SetInputsRequest req;
  req.mutable_di2()->set_value(true);
  req.add_drm_modes(2);
  req.add_drm_modes(6);
  req.add_rcr_inputs(false);
  req.add_rcr_inputs(false);
  req.add_rcr_inputs(true);
  v1::SetInputsResponse resp;
  REQUIRE(sim.sim().SetInputs(ctx().get(), req, &resp).ok());
  std::this_thread::sleep_for(300ms);
  auto io = read_points(tcp(sim.endpoint("io")), "plantd-io", 1);
  CHECK(io["di1"] == 1);  // the example's E-stop loop is normally closed: closed at rest
  CHECK(io["di2"] == 1);
  CHECK(io["drm2_6_to_com"] == 1);
  CHECK(io["drm2_6_to_refgen"] == 1);
  CHECK(io["drm1_5_to_com"] == 0);
  CHECK(io["refgen_to_com"] == 0);
  CHECK(io["rcr_din3"] == 1);
}

TEST_CASE("plant-sim lines as Modbus RTU on pty pairs", "[e2e][sim][rtu]") {
  auto dir = "/tmp/plantd-sim-rtu-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  {
    running_sim sim{sim_config(dir), {"--rtu"}};
    CHECK(sim.endpoint("RS485-1") == dir + "/rs485-1");
    std::vector<std::string> line{"--rtu", dir + "/rs485-1", "--baud", "9600"};
    int code = -1;
    std::string out;
    auto grid = read_points(line, "chint-dtsu666", 1, &code, &out);
    INFO(out);
    CHECK(code == 0);
    CHECK(grid["frequency"] == Approx(50));
    auto inv = read_points({"--rtu", dir + "/rs485-3"}, "saj-r5-inverter", 1, &code, &out);
    CHECK(code == 0);
    CHECK(inv["rated_power"] == 20'000);
    inject(sim, "grid-meter", v1::FAULT_KIND_CRC_ERROR);
    read_points(line, "chint-dtsu666", 1, &code, &out);
    CHECK(code == 3);
    CHECK_THAT(out, Catch::Contains("crc"));
    // SIGTERM stops plant-sim and its socat children (they used to inherit
    // its blocked SIGTERM: plant-sim waited for them forever).
    CHECK(sim.process().stop(SIGTERM, std::chrono::seconds{5}) == 0);
  }
  // No socat is left serving this test's ptys.
  auto socats_left = [&] {
    int n = 0;
    for (const auto& p : std::filesystem::directory_iterator("/proc")) {
      std::ifstream in{p.path() / "cmdline"};
      std::string cmd{std::istreambuf_iterator<char>{in}, {}};
      if (cmd.starts_with("socat") && cmd.find(dir) != std::string::npos)
        ++n;
    }
    return n;
  };
  CHECK(test::within(std::chrono::seconds{2}, [&] { return socats_left() == 0; }));
  std::filesystem::remove_all(dir);
}
