// Modbus on the wire, measured:
//  - one coalesced read (the cm2 cabinet's largest block) over loopback TCP:
//    p50 / p99 round trip;
//  - plant-sim CPU at --speed 1 with the twenty-cabinet config while a
//    client polls every cabinet once a second and the grid meter five times
//    a second (target < 5 % of one core).
//
//   wire_bench --plant-sim BIN --config FILE --out FILE [--seconds S]
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

#include <unistd.h>

#include "drivers/devices/device.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/bench/plant_procs.hpp"
#include "test/e2e/process.hpp"
#include "test/support/sim_server.hpp"

using namespace plantd;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<std::size_t>(p * static_cast<double>(xs.size())))];
}

double cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto close = s.rfind(')');
  std::istringstream rest{s.substr(close + 2)};
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stoul(field);
    if (i == 15)
      stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
  std::string sim_bin, config, out;
  double seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--plant-sim")
      sim_bin = argv[i + 1];
    else if (k == "--config")
      config = argv[i + 1];
    else if (k == "--out")
      out = argv[i + 1];
    else if (k == "--seconds")
      seconds = std::stod(argv[i + 1]);
  }
  if (sim_bin.empty() || config.empty() || out.empty()) {
    std::fprintf(stderr, "usage: wire_bench --plant-sim BIN --config FILE --out FILE\n");
    return 2;
  }
  auto reg = pointtables::registry::builtin();
  const auto& cab = *reg.find("cm2-cabinet");

  // 1. Round trip of one coalesced read over loopback.
  std::vector<double> rtt_us;
  int block_registers = 0;
  {
    test::threaded_server srv;
    sim::register_image image{cab};
    auto ep = srv.server().add_tcp("127.0.0.1", 0, false);
    srv.server().attach(ep, 1, {&image, nullptr});
    auto port = srv.server().port(ep);
    srv.start();
    static const system_clock wall;
    modbus::link link{modbus::tcp_params{"127.0.0.1", port}, {}, wall};
    auto plan = pointtables::plan_reads(cab);
    auto biggest = *std::max_element(plan.begin(), plan.end(),
                                     [](auto& a, auto& b) { return a.count < b.count; });
    block_registers = biggest.count;
    for (int i = 0; i < 2200; ++i) {
      auto t0 = steady::now();
      auto r = link.read_registers(1, 3, biggest.address, biggest.count);
      auto us = std::chrono::duration<double, std::micro>(steady::now() - t0).count();
      if (!r) {
        std::fprintf(stderr, "read failed: %s\n", modbus::describe(r.error()).c_str());
        return 1;
      }
      if (i >= 200)  // warm-up
        rtt_us.push_back(us);
    }
  }

  // 2. plant-sim CPU under polling.
  test::child_process sim{{sim_bin, "--config", plantd::bench::free_port_config(config), "--speed",
                           "1", "--control", "127.0.0.1:0"}};
  std::map<std::string, std::string> endpoints;
  std::regex ep_re{R"(plant-sim: (\S+) tcp (\S+))"};
  for (;;) {
    auto line = sim.read_line(10s);
    if (!line) {
      std::fprintf(stderr, "plant-sim did not start: %s\n", sim.stderr_text().c_str());
      return 1;
    }
    std::smatch m;
    if (line->find("control on") != std::string::npos)
      break;
    if (std::regex_search(*line, m, ep_re))
      endpoints[m[1]] = m[2];
  }
  static const system_clock wall;
  std::vector<std::unique_ptr<modbus::bus>> buses;
  std::vector<std::unique_ptr<devices::device>> cabinets;
  for (const auto& [id, address] : endpoints) {
    if (id.empty() || id[0] != 'C')
      continue;
    auto colon = address.rfind(':');
    buses.push_back(std::make_unique<modbus::bus>(
      modbus::link{modbus::tcp_params{address.substr(0, colon),
                                      static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))},
                   {},
                   wall},
      0ms));
    cabinets.push_back(std::make_unique<devices::device>(cab, *buses.back(), 1));
  }
  auto grid_address = endpoints["RS485-1"];
  auto colon = grid_address.rfind(':');
  modbus::bus grid_bus{modbus::link{modbus::tcp_params{grid_address.substr(0, colon),
                                                       static_cast<uint16_t>(std::stoi(
                                                         grid_address.substr(colon + 1)))},
                                    {},
                                    wall},
                       0ms};
  devices::device grid{*reg.find("chint-dtsu666"), grid_bus, 1};
  std::size_t failed = 0;
  std::this_thread::sleep_for(500ms);
  double cpu0 = cpu_seconds(sim.pid());
  auto t0 = steady::now();
  int ticks = static_cast<int>(seconds * 5);
  for (int tick = 0; tick < ticks; ++tick) {
    if (tick % 5 == 0)
      for (auto& c : cabinets)
        failed += c->read_all().failed_requests;
    failed += grid.read_all().failed_requests;
    std::this_thread::sleep_until(t0 + (tick + 1) * 200ms);
  }
  double wall_s = std::chrono::duration<double>(steady::now() - t0).count();
  double cpu_percent = 100.0 * (cpu_seconds(sim.pid()) - cpu0) / wall_s;
  sim.stop(SIGTERM, 5s);

  char json[1024];
  std::snprintf(json, sizeof json,
                "{\n  \"loopback_coalesced_read\": {\"registers\": %d, \"samples\": %zu, "
                "\"p50_us\": %.1f, \"p99_us\": %.1f},\n"
                "  \"plant_sim_cpu\": {\"config\": \"%s\", \"speed\": 1, \"seconds\": %.1f, "
                "\"cabinets_polled_per_s\": %zu, \"grid_meter_polls_per_s\": 5, "
                "\"failed_requests\": %zu, \"cpu_percent_of_one_core\": %.2f, \"target\": 5}\n}\n",
                block_registers, rtt_us.size(), percentile(rtt_us, 0.5), percentile(rtt_us, 0.99),
                config.c_str(), wall_s, cabinets.size(), failed, cpu_percent);
  std::fputs(json, stdout);
  std::ofstream{out} << json;
  return 0;
}
