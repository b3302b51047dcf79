// A live config change on the twenty-cabinet site under plant-sim:
//  1. PatchConfig of a policy (the export limit) until its answer, which
//     comes once the supervisor has made a decision under the new config
//     (target < 50 ms);
//  2. PatchConfig of one cabinet's rating (that cabinet's actor restarts);
//  3. the fast path's p99 while changes are applied, against idle;
//  4. Commission of the whole site without the timed CT test (target < 5 s).
//
//   config_bench --bin DIR --config FILE --out FILE [--changes N]
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/bench/plant_procs.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string bin, example, out;
  int changes = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--bin")
      bin = argv[i + 1];
    else if (k == "--config")
      example = argv[i + 1];
    else if (k == "--out")
      out = argv[i + 1];
    else if (k == "--changes")
      changes = std::stoi(argv[i + 1]);
  }
  if (bin.empty() || example.empty() || out.empty()) {
    std::fprintf(stderr, "usage: config_bench --bin DIR --config FILE --out FILE\n");
    return 2;
  }
  auto config = bench::free_port_config(example, 50);  // 20 fast-path decisions a second
  test::child_process sim{{bin + "/plant-sim", "--config", config, "--control", "127.0.0.1:0",
                           "--start", "2026-01-15T01:00:00Z", "--soc", "50"}};
  bench::wait_for(sim, std::regex{R"(control on (\S+))"});
  std::string data = test::write_temp_file("", ".d") + "d";
  test::child_process plantd{{bin + "/plantd", "--config", config, "--listen", "127.0.0.1:0",
                              "--data-dir", data, "--log-level", "error"}};
  auto local = bench::wait_for(plantd, std::regex{R"(listening on (unix:\S+))"});
  auto ch = grpc::CreateChannel(local, grpc::InsecureChannelCredentials());
  auto plant = v1::PlantService::NewStub(ch);
  auto ctl = v1::ControlService::NewStub(ch);
  std::this_thread::sleep_for(4s);  // started and settled
  v1::PlantState idle_start, idle_end, busy_end;
  ctl->GetState(bench::ctx().get(), {}, &idle_start);
  std::this_thread::sleep_for(5s);
  ctl->GetState(bench::ctx().get(), {}, &idle_end);

  v1::GetConfigResponse running;
  if (!plant->GetConfig(bench::ctx().get(), {}, &running).ok()) {
    std::fprintf(stderr, "GetConfig failed\n");
    return 1;
  }
  uint64_t version = running.version();

  // Commissioning of the whole site, every check but the timed CT test
  // (target < 5 s): start of the call to its report.
  std::vector<double> commission_ms;
  int commission_checks = 0;
  bool commission_passed = true;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext cctx;
    cctx.set_deadline(std::chrono::system_clock::now() + 60s);
    v1::CommissionRequest creq;
    creq.set_skip_ct_test(true);
    auto t0 = clock_type::now();
    auto reader = plant->Commission(&cctx, creq);
    v1::CommissionUpdate u;
    std::optional<v1::CommissionReport> report;
    while (reader->Read(&u))
      if (u.has_report())
        report = u.report();
    auto st = reader->Finish();
    commission_ms.push_back(bench::ms_since(t0));
    if (!st.ok() || !report) {
      std::fprintf(stderr, "Commission: %s\n", st.error_message().c_str());
      return 1;
    }
    commission_checks = report->checks_size();
    for (const auto& c : report->checks())
      if (c.result() == v1::CHECK_RESULT_FAIL) {
        commission_passed = false;
        std::fprintf(stderr, "commission: %s %s failed: %s\n", c.name().c_str(), c.device().c_str(),
                     c.detail().c_str());
      }
  }

  auto patch = [&](const std::string& path, v1::PlantConfig values, std::vector<double>& ms,
                   int& restarted) {
    v1::PatchConfigRequest req;
    *req.mutable_config() = std::move(values);
    req.mutable_update_mask()->add_paths(path);
    req.set_base_version(version);
    v1::ApplyConfigResponse resp;
    auto t0 = clock_type::now();
    auto st = plant->PatchConfig(bench::ctx().get(), req, &resp);
    ms.push_back(bench::ms_since(t0));
    if (!st.ok() || !resp.changed()) {
      std::fprintf(stderr, "PatchConfig %s: %s\n", path.c_str(), st.error_message().c_str());
      return false;
    }
    version = resp.version();
    restarted += resp.devices_restarted_size();
    return true;
  };
  std::vector<double> policy_ms, device_ms;
  int policy_restarts = 0, device_restarts = 0;
  bool ok = true;
  for (int i = 0; i < changes && ok; ++i) {
    v1::PlantConfig v;
    v.mutable_policies()->mutable_export_limit()->set_limit_w(i % 2 ? 0 : 5'000);
    ok = patch("policies.export_limit.limit_w", v, policy_ms, policy_restarts);
    std::this_thread::sleep_for(50ms);
  }
  for (int i = 0; i < changes / 4 && ok; ++i) {
    v1::PlantConfig v = running.config();  // the cabinets as they are, one rating changed
    auto* c = v.mutable_cabinets(3);
    c->set_rated_power_w(c->rated_power_w() - (i % 2 ? 0 : 1'000));
    ok = patch("cabinets", v, device_ms, device_restarts);
    std::this_thread::sleep_for(200ms);
  }
  ctl->GetState(bench::ctx().get(), {}, &busy_end);
  plantd.stop(SIGTERM, 5s);
  sim.stop(SIGTERM, 5s);
  std::remove(config.c_str());
  std::filesystem::remove_all(data);
  if (!ok)
    return 1;

  double idle_p99 = bench::latency_quantile(idle_start, idle_end, 0.99);
  double busy_p99 = bench::latency_quantile(idle_end, busy_end, 0.99);
  char json[2048];
  std::snprintf(
    json, sizeof json,
    "{\n  \"config\": \"%s\",\n"
    "  \"policy_patch\": {\"changes\": %zu, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, "
    "\"target_ms\": 50, \"devices_restarted\": %d},\n"
    "  \"cabinet_patch\": {\"changes\": %zu, \"p50_ms\": %.2f, \"max_ms\": %.2f, "
    "\"devices_restarted\": %d},\n"
    "  \"commission_without_ct_test\": {\"runs\": %zu, \"checks\": %d, \"passed\": %s, "
    "\"p50_ms\": %.1f, \"max_ms\": %.1f, \"target_ms\": 5000},\n"
    "  \"fast_path\": {\"idle_decisions\": %llu, \"idle_p99_us_at_most\": %.0f, "
    "\"changing_decisions\": %llu, \"changing_p99_us_at_most\": %.0f, \"ratio_p99\": %.2f}\n}\n",
    example.c_str(), policy_ms.size(), bench::percentile(policy_ms, 0.5),
    bench::percentile(policy_ms, 0.99), bench::percentile(policy_ms, 1.0), policy_restarts,
    device_ms.size(), bench::percentile(device_ms, 0.5), bench::percentile(device_ms, 1.0),
    device_restarts, commission_ms.size(), commission_checks, commission_passed ? "true" : "false",
    bench::percentile(commission_ms, 0.5), bench::percentile(commission_ms, 1.0),
    static_cast<unsigned long long>(bench::decisions_between(idle_start, idle_end)), idle_p99,
    static_cast<unsigned long long>(bench::decisions_between(idle_end, busy_end)), busy_p99,
    idle_p99 > 0 ? busy_p99 / idle_p99 : 0.0);
  std::fputs(json, stdout);
  std::ofstream{out} << json;
  return 0;
}
