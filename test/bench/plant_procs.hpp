// Helpers of the benches that run plant-sim and plantd as processes: a
// config with every device on a free loopback port, and the address a
// starting process prints.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <regex>
#include <stdexcept>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "plantd/v1/control.grpc.pb.h"
#include "services/config_codec.hpp"
#include "test/e2e/process.hpp"

namespace plantd::bench {

inline std::unique_ptr<grpc::ClientContext>
ctx(std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

// `grid_meter_ms` > 0: the grid meter polled that often (more fast-path
// decisions per second, so a p99 over a few seconds means something).
inline std::string free_port_config(const std::string& example, uint32_t grid_meter_ms = 0) {
  auto file = services::load_config_file(example);
  if (!file.problems.empty())
    throw std::runtime_error("bad example config");
  auto& m = file.message;
  // Each port once: a port just released may be handed out again.
  std::set<int> taken;
  auto fresh_port = [&taken] {
    for (;;)
      if (int p = test::unused_port(); taken.insert(p).second)
        return static_cast<uint32_t>(p);
  };
  for (auto& cab : *m.mutable_cabinets())
    cab.mutable_modbus()->set_port(fresh_port());
  for (auto& line : *m.mutable_rs485_lines())
    line.mutable_tcp_gateway()->set_port(fresh_port());
  m.mutable_io()->mutable_modbus_gateway()->set_port(fresh_port());
  if (grid_meter_ms > 0)
    m.mutable_polling()->set_grid_meter_ms(grid_meter_ms);
  return test::write_temp_file(services::to_json(m));
}

inline std::string wait_for(test::child_process& p, const std::regex& re) {
  for (;;) {
    auto line = p.read_line(std::chrono::seconds{15});
    if (!line)
      throw std::runtime_error("process did not start: " + p.stderr_text());
    std::smatch m;
    if (std::regex_search(*line, m, re))
      return m[1];
  }
}

// Milliseconds since `t0` on the steady clock.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

inline double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<std::size_t>(p * static_cast<double>(xs.size())))];
}

// The p-quantile (microseconds, the upper bound of its bucket) of the
// fast-path decisions made between two plant states.
inline double latency_quantile(const v1::PlantState& before, const v1::PlantState& after,
                               double p) {
  std::vector<uint64_t> d;
  uint64_t total = 0;
  for (int i = 0; i < after.latency_bucket_counts_size(); ++i) {
    auto was = i < before.latency_bucket_counts_size() ? before.latency_bucket_counts(i) : 0;
    d.push_back(after.latency_bucket_counts(i) - was);
    total += d.back();
  }
  if (total == 0)
    return 0;
  auto want = static_cast<uint64_t>(std::ceil(p * static_cast<double>(total)));
  uint64_t seen = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    seen += d[i];
    if (seen >= want)
      return i < static_cast<std::size_t>(after.latency_bucket_bounds_us_size())
               ? after.latency_bucket_bounds_us(static_cast<int>(i))
               : std::numeric_limits<double>::infinity();
  }
  return std::numeric_limits<double>::infinity();
}

inline uint64_t decisions_between(const v1::PlantState& before, const v1::PlantState& after) {
  uint64_t n = 0;
  for (int i = 0; i < after.latency_bucket_counts_size(); ++i)
    n += after.latency_bucket_counts(i)
         - (i < before.latency_bucket_counts_size() ? before.latency_bucket_counts(i) : 0);
  return n;
}

}  // namespace plantd::bench
