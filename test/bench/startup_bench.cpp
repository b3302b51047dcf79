// plantd start until health answers SERVING (target < 300 ms), and idle RSS
// with the twenty-cabinet config (target < 40 MB). Prints and writes JSON.
//
//   startup_bench --plantd BIN --config FILE --out FILE [--runs N]
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "test/bench/plant_procs.hpp"
#include "test/e2e/process.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

bool serving(const std::string& target) {
  auto ch = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 200ms);
  grpc::health::v1::HealthCheckResponse resp;
  auto st = stub->Check(&ctx, {}, &resp);
  return st.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string plantd, config, out;
  int runs = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--plantd")
      plantd = argv[i + 1];
    else if (k == "--config")
      config = argv[i + 1];
    else if (k == "--out")
      out = argv[i + 1];
    else if (k == "--runs")
      runs = std::stoi(argv[i + 1]);
  }
  if (plantd.empty() || config.empty() || out.empty()) {
    std::fprintf(stderr, "usage: startup_bench --plantd BIN --config FILE --out FILE\n");
    return 2;
  }
  std::vector<double> start_ms;
  long idle_rss = -1;
  // The example's device ports are fixed: fresh ones, nothing else's plant.
  auto free_config = plantd::bench::free_port_config(config);
  auto data = "/tmp/plantd-bench-data-" + std::to_string(::getpid());
  for (int r = 0; r < runs; ++r) {
    auto t0 = clock_type::now();
    plantd::test::child_process proc{{plantd, "--config", free_config, "--listen", "127.0.0.1:0",
                                      "--data-dir", data, "--log-level", "warn"}};
    auto line = proc.read_line(10s);
    std::smatch m;
    static const std::regex re{R"(listening on (\S+))"};
    if (!line || !std::regex_search(*line, m, re)) {
      std::fprintf(stderr, "plantd did not start: %s\n", proc.stderr_text().c_str());
      return 1;
    }
    std::string target = m[1];
    while (!serving(target))
      std::this_thread::sleep_for(1ms);
    start_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (r == 0) {
      std::this_thread::sleep_for(2s);  // settle: thread pools, first allocations
      idle_rss = plantd::test::rss_kb(proc.pid());
    }
    proc.stop(SIGTERM, 5s);
  }
  std::filesystem::remove_all(data);
  std::filesystem::remove(free_config);
  auto mean =
    std::accumulate(start_ms.begin(), start_ms.end(), 0.0) / static_cast<double>(start_ms.size());
  char json[1024];
  std::snprintf(json, sizeof json,
                "{\n  \"config\": \"%s\",\n  \"runs\": %d,\n"
                "  \"start_to_serving_ms\": {\"median\": %.1f, \"mean\": %.1f, \"max\": %.1f,"
                " \"target\": 300},\n"
                "  \"idle_rss_mb\": {\"value\": %.1f, \"target\": 40}\n}\n",
                config.c_str(), runs, percentile(start_ms, 0.5), mean,
                *std::max_element(start_ms.begin(), start_ms.end()),
                static_cast<double>(idle_rss) / 1024.0);
  std::fputs(json, stdout);
  std::ofstream{out} << json;
  return 0;
}
