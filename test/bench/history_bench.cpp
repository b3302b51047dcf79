// One raw day (86,400 one-second points) of one series through
// QueryHistory over gRPC on loopback, from plantd's own store: the compact
// columns (target < 5 ms) and the point messages side by side, with the
// store's own read of the same day for reference. Each compact call also
// counts the page faults it cost the client and plantd (on this VM a fault
// costs 12-15 us; with the client's faults taken away by its allocator's
// tunables the times stay the same, so they are counted, not blamed).
//
//   history_bench --bin DIR --config FILE --out FILE [--runs N]
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "drivers/store/store.hpp"
#include "plantd/v1/access.grpc.pb.h"
#include "plantd/v1/telemetry.grpc.pb.h"
#include "test/bench/plant_procs.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using clock_type = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

namespace {

// Minor page faults of a process so far (/proc/PID/stat, field 10).
long minor_faults(pid_t pid) {
  std::ifstream f{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(f, line);
  auto name_end = line.rfind(')');
  if (name_end == std::string::npos)
    return 0;
  std::istringstream in{line.substr(name_end + 2)};
  std::string skip;
  for (int i = 3; i < 10; ++i)  // state .. flags
    in >> skip;
  long v = 0;
  in >> v;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin, example, out;
  int runs = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--bin")
      bin = argv[i + 1];
    else if (k == "--config")
      example = argv[i + 1];
    else if (k == "--out")
      out = argv[i + 1];
    else if (k == "--runs")
      runs = std::stoi(argv[i + 1]);
  }
  if (bin.empty() || example.empty() || out.empty()) {
    std::fprintf(stderr, "usage: history_bench --bin DIR --config FILE --out FILE\n");
    return 2;
  }
  constexpr int64_t day_points = 86'400;
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  int64_t from = (now_ms / 1000 - 2 * day_points) * 1000;  // two days ago, whole seconds
  int64_t to = from + day_points * 1000;
  std::string data = test::write_temp_file("", ".d") + "d";
  double store_ms = 0;
  {
    auto opened = store::store::open(std::filesystem::path{data} / "store");
    if (!opened) {
      std::fprintf(stderr, "%s\n", opened.error().c_str());
      return 1;
    }
    auto& db = **opened;
    auto id = db.series_id("bench.power_w");
    std::vector<store::point> batch;
    for (int64_t i = 0; i < day_points; ++i) {
      // A meter's power, to the watt: a slow swing with a faster ripple.
      double w = std::round(20'000.0 * std::sin(static_cast<double>(i) / 3600.0)
                            + 500.0 * std::sin(static_cast<double>(i) / 7.0));
      batch.push_back({*id, from + i * 1000, w, quality::measured});
      if (batch.size() == 3600) {
        if (!db.write(batch)) {
          std::fprintf(stderr, "store write failed\n");
          return 1;
        }
        batch.clear();
      }
    }
    db.compact();
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      auto t0 = clock_type::now();
      auto pts = db.raw(*id, from, to, day_points + 1);
      t.push_back(bench::ms_since(t0));
      if (static_cast<int64_t>(pts.size()) != day_points) {
        std::fprintf(stderr, "store read %zu points\n", pts.size());
        return 1;
      }
    }
    store_ms = bench::percentile(t, 0.5);
  }
  auto config = bench::free_port_config(example);
  test::child_process plantd{{bin + "/plantd", "--config", config, "--listen", "127.0.0.1:0",
                              "--data-dir", data, "--log-level", "error"}};
  auto line = bench::wait_for(plantd, std::regex{R"(listening on (.*))"});
  std::smatch m;
  std::regex_search(line, m, std::regex{R"((unix:\S+) and (\S+))"});
  std::string local = m[1], tcp = m[2];
  // A viewer's session over TCP, as an app on the site's network would have.
  std::string token;
  {
    auto acc =
      v1::AccessService::NewStub(grpc::CreateChannel(local, grpc::InsecureChannelCredentials()));
    v1::CreateUserRequest u;
    u.set_username("vera");
    u.set_password("vera-password");
    u.set_role(v1::ROLE_VIEWER);
    v1::User made;
    acc->CreateUser(bench::ctx().get(), u, &made);
    v1::LoginRequest l;
    l.set_username("vera");
    l.set_password("vera-password");
    v1::LoginResponse session;
    auto tcp_acc =
      v1::AccessService::NewStub(grpc::CreateChannel(tcp, grpc::InsecureChannelCredentials()));
    if (!tcp_acc->Login(bench::ctx().get(), l, &session).ok()) {
      std::fprintf(stderr, "login failed\n");
      return 1;
    }
    token = session.token();
  }
  auto stub =
    v1::TelemetryService::NewStub(grpc::CreateChannel(tcp, grpc::InsecureChannelCredentials()));
  std::vector<double> client_faults, server_faults;  // per compact call
  // kind: 0 points, 1 compact, 2 compact with delta-coded times.
  auto query = [&](int kind, std::size_t& bytes) {
    bool compact = kind > 0;
    v1::QueryHistoryRequest req;
    req.set_series("bench.power_w");
    *req.mutable_from() = TimeUtil::MillisecondsToTimestamp(from);
    *req.mutable_to() = TimeUtil::MillisecondsToTimestamp(to);
    req.set_resolution("raw");
    req.set_max_points(100'000);
    req.set_compact(compact);
    req.set_delta_times(kind == 2);
    v1::QueryHistoryResponse resp;
    auto c = bench::ctx(10s);
    c->AddMetadata("authorization", "Bearer " + token);
    long client0 = minor_faults(::getpid()), server0 = minor_faults(plantd.pid());
    auto t0 = clock_type::now();
    auto st = stub->QueryHistory(c.get(), req, &resp);
    double ms = bench::ms_since(t0);
    if (kind == 1) {
      client_faults.push_back(static_cast<double>(minor_faults(::getpid()) - client0));
      server_faults.push_back(static_cast<double>(minor_faults(plantd.pid()) - server0));
    }
    auto n = kind == 2 ? resp.raw().time_delta_ms_size()
             : compact ? resp.raw().time_ms_size()
                       : resp.points_size();
    if (!st.ok() || n != day_points) {
      std::fprintf(stderr, "QueryHistory: %s (%d points)\n", st.error_message().c_str(), n);
      return -1.0;
    }
    bytes = resp.ByteSizeLong();
    return ms;
  };
  // Side by side in rounds: a block of compact calls, then a block of
  // point-message calls. A compact call right after a point-message call
  // (4.3 MB built and dropped by both processes) is counted apart: it pays
  // for the caches and the client's allocator that call churned, not for
  // its own answer.
  std::vector<double> compact_ms, after_points_ms, delta_ms, points_ms;
  std::size_t compact_bytes = 0, delta_bytes = 0, points_bytes = 0;
  bool ok = query(1, compact_bytes) >= 0 && query(2, delta_bytes) >= 0
            && query(0, points_bytes) >= 0;  // warm-up
  client_faults.clear();
  server_faults.clear();
  constexpr int rounds = 5;
  int block = std::max(1, runs / rounds);
  for (int r = 0; r < rounds && ok; ++r) {
    for (int i = 0; i <= block && ok; ++i) {
      auto a = query(1, compact_bytes);
      ok = a >= 0;
      (i == 0 ? after_points_ms : compact_ms).push_back(a);
    }
    for (int i = 0; i < block && ok; ++i) {
      auto d = query(2, delta_bytes);
      ok = d >= 0;
      delta_ms.push_back(d);
    }
    for (int i = 0; i < block && ok; ++i) {
      auto b = query(0, points_bytes);
      ok = b >= 0;
      points_ms.push_back(b);
    }
  }
  plantd.stop(SIGTERM, 5s);
  std::remove(config.c_str());
  std::filesystem::remove_all(data);
  if (!ok)
    return 1;
  char json[1024];
  std::snprintf(json, sizeof json,
                "{\n  \"points\": %lld,\n  \"store_read_ms_p50\": %.2f,\n"
                "  \"compact\": {\"ms_p50\": %.2f, \"ms_min\": %.2f, \"ms_max\": %.2f, "
                "\"bytes\": %zu, \"target_ms\": 5,\n"
                "    \"after_points_ms_p50\": %.2f,\n"
                "    \"page_faults_p50\": {\"client\": %.0f, \"plantd\": %.0f}},\n"
                "  \"compact_delta_times\": {\"ms_p50\": %.2f, \"ms_max\": %.2f, \"bytes\": %zu},\n"
                "  \"points_messages\": {\"ms_p50\": %.2f, \"ms_max\": %.2f, \"bytes\": %zu},\n"
                "  \"ratio_p50\": %.2f\n}\n",
                static_cast<long long>(day_points), store_ms, bench::percentile(compact_ms, 0.5),
                bench::percentile(compact_ms, 0.0), bench::percentile(compact_ms, 1.0),
                compact_bytes, bench::percentile(after_points_ms, 0.5),
                bench::percentile(client_faults, 0.5), bench::percentile(server_faults, 0.5),
                bench::percentile(delta_ms, 0.5), bench::percentile(delta_ms, 1.0), delta_bytes,
                bench::percentile(points_ms, 0.5), bench::percentile(points_ms, 1.0), points_bytes,
                bench::percentile(points_ms, 0.5) / bench::percentile(compact_ms, 0.5));
  std::fputs(json, stdout);
  std::ofstream{out} << json;
  return 0;
}
