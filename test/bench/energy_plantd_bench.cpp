// plantd's own RSS holding the 100,000-node energy tree of energy_bench
// (target < 64 MB), imported through gRPC as an integrator would: plantd is
// started with the twenty-cabinet config, the tree is sent with ImportModel,
// one day of the plant is queried, and /proc/PID/status is read at each step;
// then one unit is renamed, one meter added and a tariff added to
// electricity (the time of a small change on a large tree).
// Prints and writes JSON.
//
//   energy_plantd_bench --plantd BIN --config FILE --out FILE [--runs N] [--hold SECONDS]
//
// Each RSS is split into anonymous memory (plantd's heap and stacks) and
// file pages (the mapped program and libraries). --hold keeps plantd
// running that long holding the tree, for a look at /proc/PID. --runs
// starts that many plantd one after another and reports the worst.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>
#include <algorithm>
#include <regex>
#include <string>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "plantd/v1/energy.grpc.pb.h"
#include "test/bench/plant_procs.hpp"
#include "test/e2e/process.hpp"
#include "test/support/energy_tree.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
namespace v1 = plantd::v1;

namespace {

struct rss {
  double total_mb, anon_mb, file_mb;
};
rss sample(pid_t pid) {
  return {plantd::test::status_kb(pid, "VmRSS") / 1024.0,
          plantd::test::status_kb(pid, "RssAnon") / 1024.0,
          plantd::test::status_kb(pid, "RssFile") / 1024.0};
}
std::string to_json(const rss& r) {
  return fmt::format("{:.1f}", r.total_mb);
}
std::string parts_json(const rss& r) {
  return fmt::format("{{\"anon\": {:.1f}, \"file\": {:.1f}}}", r.anon_mb, r.file_mb);
}

double ms_since(steady::time_point t) {
  return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

// One plantd from start to stop: the import, the query and the samples.
struct run_result {
  std::size_t bytes = 0;
  int64_t indicators = 0;
  double import_ms = 0, query_ms = 0, rename_ms = 0, new_meter_ms = 0, new_price_ms = 0;
  rss started{}, holding{}, queried{};
};

std::optional<run_result> run_once(const std::string& plantd, const std::string& config,
                                   int hold_s) {
  auto data =
    std::filesystem::temp_directory_path() / ("plantd-bench-energy-" + std::to_string(::getpid()));
  std::filesystem::remove_all(data);
  plantd::test::child_process proc{{plantd, "--config", config, "--listen", "127.0.0.1:0",
                                    "--data-dir", data.string(), "--log-level", "warn"}};
  auto line = proc.read_line(10s);
  std::smatch match;
  static const std::regex re{R"(listening on (\S+))"};
  if (!line || !std::regex_search(*line, match, re)) {
    std::fprintf(stderr, "plantd did not start: %s\n", proc.stderr_text().c_str());
    return std::nullopt;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto stub = v1::EnergyCarbonService::NewStub(
    grpc::CreateCustomChannel(match[1], grpc::InsecureChannelCredentials(), args));
  auto call = [](std::chrono::seconds timeout) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + timeout);
    return c;
  };

  // The seeded reference data, then the tree.
  v1::EnergyModel model;
  if (auto st = stub->GetModel(call(10s).get(), {}, &model); !st.ok()) {
    std::fprintf(stderr, "GetModel: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  std::this_thread::sleep_for(1s);
  auto rss_start = sample(proc.pid());
  plantd::test::add_large_tree(model);
  auto bytes = model.ByteSizeLong();
  auto t = steady::now();
  v1::ImportModelResponse imported;
  if (auto st = stub->ImportModel(call(300s).get(), model, &imported); !st.ok()) {
    std::fprintf(stderr, "ImportModel: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  double import_ms = ms_since(t);
  std::this_thread::sleep_for(4s);  // plantd gives the import's heap back after 2 s
  auto rss_imported = sample(proc.pid());
  if (hold_s > 0) {
    std::fprintf(stderr, "plantd (pid %d) holds the tree for %d s\n", static_cast<int>(proc.pid()),
                 hold_s);
    std::this_thread::sleep_for(std::chrono::seconds(hold_s));
  }

  v1::QueryRequest q;
  q.add_indicators("plant.e");
  q.add_indicators("plant.tce");
  q.set_resolution("day");
  q.set_from("2026-11-20");
  v1::QueryResponse resp;
  t = steady::now();
  if (auto st = stub->Query(call(60s).get(), q, &resp); !st.ok() || resp.series_size() != 2) {
    std::fprintf(stderr, "Query: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  double query_ms = ms_since(t);
  std::this_thread::sleep_for(1s);
  auto rss_queried = sample(proc.pid());
  // One small change (a unit renamed): its record goes to the model's
  // journal; the graph is kept.
  v1::PutRequest put;
  auto* n = put.mutable_node();
  n->set_id("b0w0e0");
  n->set_name("Renamed press");
  n->set_kind("equipment");
  n->set_parent("b0w0");
  n->set_metering_level(3);
  v1::PutResponse put_resp;
  t = steady::now();
  if (auto st = stub->Put(call(120s).get(), put, &put_resp); !st.ok()) {
    std::fprintf(stderr, "Put: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  double rename_ms = ms_since(t);
  // A new meter: its record to the journal; the graph is kept (a meter
  // without indicators changes no computed value).
  v1::PutRequest add;
  auto* m = add.mutable_meter();
  m->set_id("bench.new_meter");
  m->set_name("New meter");
  m->set_node("b0w0e0");
  m->set_energy_type("electricity");
  m->set_metering_level(3);
  t = steady::now();
  if (auto st = stub->Put(call(120s).get(), add, &put_resp); !st.ok()) {
    std::fprintf(stderr, "Put meter: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  double new_meter_ms = ms_since(t);
  // A new tariff: electricity's price from next year, as an energy manager
  // adds one (the record got, a version appended, put back). The graph is
  // kept; its prices are read again.
  v1::GetRecordRequest get;
  get.set_kind("energy_type");
  get.set_id("electricity");
  v1::Record el;
  if (auto st = stub->Get(call(30s).get(), get, &el); !st.ok() || !el.has_energy_type()) {
    std::fprintf(stderr, "Get electricity: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  v1::PutRequest tariff;
  *tariff.mutable_energy_type() = el.energy_type();
  auto* prices = tariff.mutable_energy_type()->mutable_prices();
  if (prices->empty()) {
    std::fprintf(stderr, "electricity has no price to follow\n");
    return std::nullopt;
  }
  auto next = prices->at(prices->size() - 1);
  prices->at(prices->size() - 1).set_valid_to("2031-01-01");
  next.set_version("bench tariff 2031");
  next.set_valid_from("2031-01-01");
  next.set_flat(next.flat() + 0.05);
  *prices->Add() = next;
  t = steady::now();
  if (auto st = stub->Put(call(120s).get(), tariff, &put_resp); !st.ok()) {
    std::fprintf(stderr, "Put tariff: %s\n", st.error_message().c_str());
    return std::nullopt;
  }
  double new_price_ms = ms_since(t);
  proc.stop(SIGTERM, 10s);
  std::filesystem::remove_all(data);
  return run_result{bytes,        imported.indicators(), import_ms, query_ms,     rename_ms,
                    new_meter_ms, new_price_ms,          rss_start, rss_imported, rss_queried};
}

}  // namespace

int main(int argc, char** argv) {
  std::string plantd, config, out;
  int hold_s = 0, runs = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--plantd")
      plantd = argv[i + 1];
    else if (k == "--config")
      config = argv[i + 1];
    else if (k == "--out")
      out = argv[i + 1];
    else if (k == "--hold")
      hold_s = std::stoi(argv[i + 1]);
    else if (k == "--runs")
      runs = std::max(1, std::stoi(argv[i + 1]));
  }
  if (plantd.empty() || config.empty() || out.empty()) {
    std::fprintf(stderr, "usage: energy_plantd_bench --plantd BIN --config FILE --out FILE [--runs "
                         "N] [--hold SECONDS]\n");
    return 2;
  }
  // Each run is a fresh plantd: where the allocator puts the import's
  // memory differs from run to run, so the headline is the worst run.
  std::vector<run_result> all;
  // The example's device ports are fixed: fresh ones, nothing else's plant.
  auto free_config = plantd::bench::free_port_config(config);
  for (int r = 0; r < runs; ++r) {
    auto one = run_once(plantd, free_config, hold_s);
    if (!one)
      return 1;
    all.push_back(*one);
  }
  std::filesystem::remove(free_config);
  auto worst =
    *std::max_element(all.begin(), all.end(), [](const run_result& a, const run_result& b) {
      return a.holding.total_mb < b.holding.total_mb;
    });
  std::string each;
  for (const auto& r : all)
    each +=
      fmt::format("{}{{\"holding_tree\": {}, \"anon\": {:.1f}, \"import_ms\": {:.0f}}}",
                  each.empty() ? "" : ", ", to_json(r.holding), r.holding.anon_mb, r.import_ms);
  auto json = fmt::format(
    "{{\n  \"model_bytes\": {},\n  \"indicators\": {},\n  \"runs\": {},\n  \"import_ms\": {:.0f},\n"
    "  \"first_day_query_ms\": {:.1f},\n  \"one_rename_ms\": {:.1f},\n"
    "  \"one_new_meter_ms\": {:.1f},\n  \"one_new_price_ms\": {:.1f}, \"one_edit_target_ms\": 5,\n"
    "  \"rss_mb\": {{\"started\": {}, \"holding_tree\": {}, \"after_a_day_query\": {},"
    " \"target\": 64}},\n"
    "  \"rss_parts_mb\": {{\"started\": {}, \"holding_tree\": {}, \"after_a_day_query\": {}}},\n"
    "  \"each_run\": [{}]\n}}\n",
    worst.bytes, worst.indicators, runs, worst.import_ms, worst.query_ms, worst.rename_ms,
    worst.new_meter_ms, worst.new_price_ms, to_json(worst.started), to_json(worst.holding),
    to_json(worst.queried), parts_json(worst.started), parts_json(worst.holding),
    parts_json(worst.queried), each);
  std::fputs(json.c_str(), stdout);
  std::ofstream{out} << json;
  return 0;
}
