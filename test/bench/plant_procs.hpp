// Helpers of the benches that run plant-sim and plantd as processes: a
// config with every device on a free loopback port, and the address a
// starting process prints.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "services/config_codec.hpp"
#include "test/e2e/process.hpp"

namespace plantd::bench {

inline std::unique_ptr<grpc::ClientContext> ctx(std::chrono::milliseconds timeout =
                                                  std::chrono::seconds{5}) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

inline std::string free_port_config(const std::string& example) {
  auto file = services::load_config_file(example);
  if (!file.problems.empty())
    throw std::runtime_error("bad example config");
  auto& m = file.message;
  for (auto& cab : *m.mutable_cabinets())
    cab.mutable_modbus()->set_port(static_cast<uint32_t>(test::unused_port()));
  for (auto& line : *m.mutable_rs485_lines())
    line.mutable_tcp_gateway()->set_port(static_cast<uint32_t>(test::unused_port()));
  m.mutable_io()->mutable_modbus_gateway()->set_port(static_cast<uint32_t>(test::unused_port()));
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

inline double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<std::size_t>(p * static_cast<double>(xs.size())))];
}

} // namespace plantd::bench
