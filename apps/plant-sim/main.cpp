// plant-sim — the simulated plant: every device of a plant config served
// over Modbus at the address the config names, with physics and faults.
//
//   plant-sim --config PLANT.json [--speed N] [--seed S] [--rtu]
//             [--start 2026-06-01T00:00:00Z] [--soc PCT] [--control HOST:PORT]
//             [--pointtables DIR]
//
// Prints one line per endpoint ("plant-sim: C01 tcp 127.0.0.1:15001") and
// "plant-sim: control on HOST:PORT" (SimService, gRPC) once serving.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <absl/time/time.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "actors/version.hpp"
#include "apps/plant-sim/sim_service.hpp"
#include "drivers/pointtables/registry.hpp"
#include "services/config_codec.hpp"

int main(int argc, char** argv) {
  CLI::App app{"plant-sim — a simulated C&I battery plant speaking Modbus"};
  app.set_version_flag("--version", plantd::plantd_version);
  std::string config_file;
  double speed = 1.0;
  uint64_t seed = 1;
  bool rtu = false;
  std::string start;
  double soc = 50;
  std::string control = "127.0.0.1:50061";
  std::string tables_dir;
  app.add_option("--config", config_file, "Plant config (JSON)")
    ->required()
    ->check(CLI::ExistingFile);
  app.add_option("--speed", speed, "Simulated seconds per real second")
    ->check(CLI::Range(0.01, 100000.0))
    ->capture_default_str();
  app.add_option("--seed", seed, "Random seed of the load noise")->capture_default_str();
  app.add_flag("--rtu", rtu,
               "Serve RS485 lines that name a serial device as Modbus RTU on pty pairs (socat)");
  app.add_option("--start", start, "Simulated start time, RFC 3339 (default: now)");
  app.add_option("--soc", soc, "Initial SOC of every cabinet (%)")
    ->check(CLI::Range(0.0, 100.0))
    ->capture_default_str();
  app.add_option("--control", control, "SimService gRPC address HOST:PORT (port 0: any)")
    ->capture_default_str();
  app.add_option("--pointtables", tables_dir, "Directory of extra point tables (*.json)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto loaded = plantd::services::load_config_file(config_file);
  if (!loaded.problems.empty()) {
    for (const auto& p : loaded.problems)
      std::cerr << config_file << ": " << (p.path.empty() ? "" : p.path + ": ") << p.message
                << '\n';
    return 1;
  }
  auto tables = plantd::pointtables::registry::builtin();
  if (!tables_dir.empty()) {
    auto found = tables.add_directory(tables_dir);
    for (const auto& p : found)
      std::cerr << "plant-sim: " << p.path << ": " << p.message << '\n';
    if (!found.empty())
      return 1;
  }
  plantd::sim::sim_options opts;
  opts.speed = speed;
  opts.seed = seed;
  opts.rtu = rtu;
  opts.initial_soc = soc;
  opts.start =
    std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  if (!start.empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, start, &t, &err)) {
      std::cerr << "plant-sim: --start: " << err << '\n';
      return 2;
    }
    opts.start = plantd::time_point{std::chrono::milliseconds{absl::ToUnixMillis(t)}};
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<plantd::sim::plant_sim> sim;
  try {
    sim = std::make_unique<plantd::sim::plant_sim>(loaded.model, tables, opts);
  } catch (const std::exception& e) {
    std::cerr << "plant-sim: " << e.what() << '\n';
    return 1;
  }

  plantd::apps::sim_service service{*sim};
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(control, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "plant-sim: cannot listen on " << control << '\n';
    return 1;
  }

  std::atomic<bool> stop{false};
  std::thread loop{[&] {
    while (!stop.load())
      sim->run_once(std::chrono::milliseconds{50});
  }};
  for (const auto& ep : sim->endpoints())
    std::printf("plant-sim: %s %s %s\n", ep.device_id.c_str(), ep.protocol.c_str(),
                ep.address.c_str());
  std::printf("plant-sim: control on %s:%d\n", control.substr(0, control.rfind(':')).c_str(), port);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds{200});
  stop = true;
  loop.join();
  return 0;
}
