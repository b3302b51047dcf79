// Whole-process harness for end-to-end tests: a config with every device on
// a free loopback port, plant-sim and plantd as child processes, and gRPC
// stubs to both.
#pragma once

#include <catch2/catch.hpp>

#include <csignal>
#include <functional>
#include <set>
#include <map>
#include <regex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "plantd/v1/control.grpc.pb.h"
#include "plantd/v1/sim.grpc.pb.h"
#include "plantd/v1/telemetry.grpc.pb.h"
#include "services/config_codec.hpp"
#include "test/e2e/process.hpp"

namespace plantd::test {

inline const std::string bin_dir = PLANTD_BIN_DIR;

inline std::unique_ptr<grpc::ClientContext>
ctx(std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

// An example config with every device on a free loopback port (or, with
// `rtu_dir`, every RS485 line on a pty in that directory), changed by `edit`.
inline std::string sim_config(const std::string& example, const std::string& rtu_dir = "",
                              std::function<void(v1::PlantConfig&)> edit = {}) {
  auto file = services::load_config_file(std::string{PLANTD_SOURCE_DIR} + "/deploy/examples/"
                                         + example + ".json");
  REQUIRE(file.problems.empty());
  auto& m = file.message;
  // Each port once: a port just released may be handed out again.
  std::set<int> taken;
  auto fresh_port = [&taken] {
    for (;;)
      if (int p = unused_port(); taken.insert(p).second)
        return static_cast<uint32_t>(p);
  };
  for (auto& cab : *m.mutable_cabinets())
    cab.mutable_modbus()->set_port(fresh_port());
  int n = 1;
  for (auto& line : *m.mutable_rs485_lines()) {
    if (rtu_dir.empty()) {
      line.mutable_tcp_gateway()->set_port(fresh_port());
    } else {
      line.clear_tcp_gateway();
      line.set_device(rtu_dir + "/rs485-" + std::to_string(n++));
    }
  }
  m.mutable_io()->mutable_modbus_gateway()->set_port(fresh_port());
  if (edit)
    edit(m);
  auto check = services::check_config(m);
  INFO("config problems: " << (check.problems.empty() ? "" : check.problems[0].message));
  REQUIRE(check.problems.empty());
  return write_temp_file(services::to_json(m));
}

class running_sim {
public:
  explicit running_sim(const std::string& config, std::vector<std::string> extra = {})
    : proc_(args(config, std::move(extra))) {
    std::regex ep{R"(plant-sim: (\S+) (tcp|rtu) (\S+))"};
    std::regex control{R"(plant-sim: control on (\S+))"};
    for (;;) {
      auto line = proc_.read_line(std::chrono::seconds{15});
      INFO("stderr: " << proc_.stderr_text());
      REQUIRE(line);
      std::smatch m;
      if (std::regex_search(*line, m, control)) {
        control_ = m[1];
        break;
      }
      if (std::regex_search(*line, m, ep))
        endpoints_[m[1]] = m[3];
    }
    stub_ =
      v1::SimService::NewStub(grpc::CreateChannel(control_, grpc::InsecureChannelCredentials()));
  }
  ~running_sim() { proc_.stop(SIGTERM, std::chrono::seconds{5}); }

  std::string endpoint(const std::string& id) { return endpoints_.at(id); }
  v1::SimService::Stub& sim() { return *stub_; }
  child_process& process() { return proc_; }

  v1::SimState state() {
    v1::SimState s;
    auto st = stub_->GetSimState(ctx().get(), {}, &s);
    REQUIRE(st.ok());
    return s;
  }

  void set_load(double w) {
    v1::SetLoadRequest req;
    req.set_load_w(w);
    v1::SetLoadResponse resp;
    REQUIRE(stub_->SetLoad(ctx().get(), req, &resp).ok());
  }

  void inject(const std::string& device, v1::FaultKind kind) {
    v1::InjectFaultRequest req;
    req.set_device_id(device);
    req.set_kind(kind);
    v1::InjectFaultResponse resp;
    REQUIRE(stub_->InjectFault(ctx().get(), req, &resp).ok());
  }

private:
  static std::vector<std::string> args(const std::string& config, std::vector<std::string> extra) {
    std::vector<std::string> a{bin_dir + "/plant-sim", "--config", config, "--control",
                               "127.0.0.1:0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  child_process proc_;
  std::map<std::string, std::string> endpoints_;
  std::string control_;
  std::unique_ptr<v1::SimService::Stub> stub_;
};

class running_plantd {
public:
  explicit running_plantd(const std::string& config, std::vector<std::string> extra = {},
                          std::string data_dir = "")
    : dir_(write_temp_file("", ".d")),
      proc_(args(config, data_dir.empty() ? dir_ + "data" : data_dir, std::move(extra))) {
    auto line = proc_.read_line(std::chrono::seconds{15});
    INFO("stderr: " << proc_.stderr_text());
    REQUIRE(line);
    std::smatch m;
    REQUIRE(std::regex_search(*line, m, std::regex{R"(listening on (\S+))"}));
    target_ = m[1];
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    control_ = v1::ControlService::NewStub(channel_);
    telemetry_ = v1::TelemetryService::NewStub(channel_);
  }
  ~running_plantd() {
    proc_.stop(SIGTERM, std::chrono::seconds{5});
    std::remove(dir_.c_str());
  }

  const std::string& target() const { return target_; }
  v1::ControlService::Stub& control() { return *control_; }
  v1::TelemetryService::Stub& telemetry() { return *telemetry_; }
  child_process& process() { return proc_; }

  // The plant state once plantd has made `min_decisions` decisions.
  v1::PlantState state(uint64_t min_decisions = 1) {
    v1::PlantState s;
    for (int i = 0; i < 200; ++i) {
      if (control_->GetState(ctx().get(), {}, &s).ok() && s.decisions() >= min_decisions)
        return s;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    FAIL("plantd made no decision");
    return s;
  }

private:
  static std::vector<std::string> args(const std::string& config, const std::string& data_dir,
                                       std::vector<std::string> extra) {
    std::vector<std::string> a{
      bin_dir + "/plantd", "--config", config,        "--listen", "127.0.0.1:0",
      "--data-dir",        data_dir,   "--log-level", "warn"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  std::string dir_;
  child_process proc_;
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ControlService::Stub> control_;
  std::unique_ptr<v1::TelemetryService::Stub> telemetry_;
};

// Polls `probe` every 20 ms until it holds or `limit` passes; returns the
// time it took, or nullopt.
template <class F>
std::optional<std::chrono::milliseconds> within(std::chrono::milliseconds limit, F probe) {
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < limit) {
    if (probe())
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                   - t0);
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return std::nullopt;
}

}  // namespace plantd::test
