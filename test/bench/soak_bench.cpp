// Years on the unit, measured (JSON on stdout and in --out):
//  1. A simulated day, as fast as it goes: the twenty-cabinet plant's series
//     recorded as plantd records them (telemetry_points of a plant state each
//     second, one write a second) into a store opened as plantd opens it,
//     for two days; the second day's disk growth (target < 30 MB a day),
//     taken with every family flushed and compacted at the end of each day
//     (where RocksDB's own compactions get to) and as found before that,
//     and this process's RSS over it.
//  2. Real time: plantd controlling plant-sim (twenty cabinets) for
//     --seconds (default 2700): plantd's RSS slope in steady state, from
//     the 25th minute, after the series memtable's first flush (target
//     < 1 MB an hour; before it the memtables fill and that flush leaves a
//     one-time MB or two), and its data directory's growth, per day,
//     with the SST files' growth apart (the write-ahead log grows to its
//     32 MB bound first: in a short run the directory's slope is the log's).
//  3. The uplink catching up a 24-hour outage: a day of the twenty-cabinet
//     series stored before plantd starts, the uplink switched on through
//     PatchConfig towards Debian's VictoriaMetrics on loopback: the time to
//     catch up (target < 2 minutes) and the fast path's p99 meanwhile
//     against idle, same run (target within 2x).
//
//     Beside RSS, plantd's /metrics gives its memory by part (heap in use
//     and free, the store's memtables, block cache and table readers), and
//     each part's slope over the second half is in the JSON, so a climb
//     names its cause. The memtables fill and flush in a sawtooth of a few
//     MB (bounded by the store's 16 MB write-buffer budget) whose phase
//     alone can tilt a fit over half an hour by several MB an hour, so the
//     target is judged on RSS less the memtables, with the memtables'
//     range beside it.
//
//   soak_bench --bin DIR --config twenty-cabinets.json --out FILE [--seconds N]
//              [--only realtime] [--trace FILE.csv]
//   --trace writes every sample of the real-time run (seconds, RSS, parts).
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "actors/store_actor.hpp"
#include "actors/uplink_actor.hpp"
#include "drivers/store/store.hpp"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/bench/plant_procs.hpp"
#include "test/support/http_get.hpp"

using namespace plantd;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// The bytes of the files under `dir` (only those ending in `ext`, when given).
uint64_t dir_bytes(const std::filesystem::path& dir, const std::string& ext = {}) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator{dir, ec};
       it != std::filesystem::recursive_directory_iterator{}; it.increment(ec))
    if (it->is_regular_file(ec) && (ext.empty() || it->path().extension() == ext))
      n += it->file_size(ec);
  return n;
}

long self_rss_kb() {
  return test::rss_kb(::getpid());
}

// Least-squares slope of (x, y).
double slope(const std::vector<std::pair<double, double>>& xy) {
  double n = static_cast<double>(xy.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : xy) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

// The twenty-cabinet plant's state at second `i`: values as noisy as meters.
struct plant_model {
  std::vector<std::string> cabinets, inverters;
  std::mt19937 rng{11};
  double import_wh = 1e6, export_wh = 2e5;

  explicit plant_model(const v1::PlantConfig& m) {
    for (const auto& c : m.cabinets())
      cabinets.push_back(c.id());
    for (const auto& line : m.rs485_lines())
      for (const auto& d : line.devices())
        if (d.role() == v1::DEVICE_ROLE_PV_INVERTER)
          inverters.push_back(d.id());
  }

  actors::plant_state at(int64_t t_ms) {
    std::normal_distribution<double> noise{0, 25};
    double s = static_cast<double>(t_ms / 1000);
    actors::plant_state p;
    p.time = time_point{std::chrono::milliseconds{t_ms}};
    double grid = std::round((20'000 * std::sin(s / 5000) + noise(rng)) * 10) / 10;
    p.grid_w = {grid, quality::measured};
    p.pv_w = {std::max(0.0, std::round((150'000 * std::sin(s / 13750) + noise(rng)) * 10) / 10),
              quality::measured};
    p.load_w = {std::round((300'000 + noise(rng)) * 10) / 10, quality::measured};
    p.battery_w = std::round((100'000 * std::cos(s / 7000) + noise(rng)) * 10) / 10;
    p.battery_setpoint_w = std::round(p.battery_w / 100) * 100;
    p.soc_percent = {50 + 40 * std::sin(s / 20000), quality::measured};
    import_wh += std::max(0.0, grid) / 3600;
    export_wh += std::max(0.0, -grid) / 3600;
    p.grid_import_wh = {std::round(import_wh * 10) / 10, quality::measured};
    p.grid_export_wh = {std::round(export_wh * 10) / 10, quality::measured};
    for (const auto& id : cabinets) {
      actors::plant_state::device d;
      d.id = id;
      d.available = true;
      d.power_w = std::round((p.battery_w / 20 + noise(rng)) * 10) / 10;
      d.soc_percent = std::round(p.soc_percent.value * 10) / 10;
      p.cabinets.push_back(std::move(d));
    }
    for (const auto& id : inverters) {
      actors::plant_state::device d;
      d.id = id;
      d.available = true;
      d.power_w = std::round((p.pv_w.value / 3 + noise(rng)) * 10) / 10;
      p.inverters.push_back(std::move(d));
    }
    return p;
  }
};

// One second's points of `p` into `db`, as the store actor writes them.
void record(store::store& db, const actors::plant_state& p) {
  std::vector<quality> qs;
  auto pts = actors::telemetry_points(p, &qs);
  std::vector<store::point> batch;
  batch.reserve(pts.size());
  for (std::size_t i = 0; i < pts.size(); ++i)
    batch.push_back(
      {*db.series_id(pts[i].first), p.time.time_since_epoch().count(), pts[i].second, qs[i]});
  if (auto r = db.write(batch); !r)
    throw std::runtime_error(r.error().message);
}

std::shared_ptr<store::store> open_store(const std::filesystem::path& dir) {
  auto opened = store::store::open(dir);
  if (!opened)
    throw std::runtime_error("cannot open the store: " + opened.error());
  return std::shared_ptr<store::store>{std::move(*opened)};
}

// plantd's memory by part from its /metrics, in MB.
std::map<std::string, double> memory_parts(const std::string& url) {
  std::map<std::string, double> parts;
  auto answer = test::http(url);
  static const std::regex line{R"re(plantd_memory_bytes\{part="(\w+)"\} (\S+))re"};
  for (auto it = std::sregex_iterator{answer.body.begin(), answer.body.end(), line};
       it != std::sregex_iterator{}; ++it)
    parts[(*it)[1]] = std::stod((*it)[2]) / (1 << 20);
  return parts;
}

std::string part_list(const std::map<std::string, double>& slopes) {
  std::string out;
  for (const auto& [part, v] : slopes)
    out += fmt::format("{}\"{}\": {:.2f}", out.empty() ? "" : ", ", part, v);
  return out;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin, example, out, only, trace;
  int seconds = 2700;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--bin")
      bin = argv[i + 1];
    else if (k == "--config")
      example = argv[i + 1];
    else if (k == "--out")
      out = argv[i + 1];
    else if (k == "--seconds")
      seconds = std::stoi(argv[i + 1]);
    else if (k == "--only")
      only = argv[i + 1];
    else if (k == "--trace")
      trace = argv[i + 1];
  }
  if (!only.empty() && only != "realtime") {
    std::fprintf(stderr, "--only: realtime is the one part that runs alone\n");
    return 2;
  }
  if (bin.empty() || example.empty() || out.empty()) {
    std::fprintf(stderr, "usage: soak_bench --bin DIR --config FILE --out FILE [--seconds N]\n");
    return 2;
  }
  auto file = services::load_config_file(example);
  if (!file.problems.empty())
    throw std::runtime_error("bad example config");
  plant_model model{file.message};
  auto tmp = std::filesystem::temp_directory_path() / fmt::format("plantd-soak-{}", ::getpid());
  std::filesystem::remove_all(tmp);

  // 1. Two simulated days, one write a second.
  double day_s = 0, disk_day1_mb = 0, disk_day2_mb = 0, dir_day2_mb = 0, wal_mb = 0;
  double uncompacted_day1_mb = 0, uncompacted_day2_mb = 0;
  double sim_rss_day2_mb = 0;
  std::size_t series = 0;
  if (only.empty()) {
    auto dir = tmp / "sim";
    auto db = open_store(dir / "store");
    int64_t t0 = (wall_ms() - 3 * 86'400'000) / 1000 * 1000;
    auto started = steady::now();
    uint64_t disk_after_day1 = 0, dir_after_day1 = 0;
    long rss_day1 = 0;
    for (int64_t s = 0; s < 2 * 86'400; ++s) {
      record(*db, model.at(t0 + s * 1000));
      if (s == 86'400 - 1) {
        day_s = bench::ms_since(started) / 1000;
        uncompacted_day1_mb = static_cast<double>(db->disk_bytes()) / 1e6;
        db->compact();
        disk_after_day1 = db->disk_bytes();
        dir_after_day1 = dir_bytes(dir);
        rss_day1 = self_rss_kb();
      }
    }
    series = db->series().size();
    uncompacted_day2_mb = static_cast<double>(db->disk_bytes()) / 1e6;
    db->compact();
    disk_day1_mb = static_cast<double>(disk_after_day1) / 1e6;
    disk_day2_mb =
      (static_cast<double>(db->disk_bytes()) - static_cast<double>(disk_after_day1)) / 1e6;
    dir_day2_mb = (static_cast<double>(dir_bytes(dir)) - static_cast<double>(dir_after_day1)) / 1e6;
    wal_mb = static_cast<double>(db->wal_bytes()) / 1e6;
    sim_rss_day2_mb = static_cast<double>(self_rss_kb() - rss_day1) / 1024;
  }

  // 2. plantd in real time against plant-sim.
  double rss_start_mb = 0, rss_end_mb = 0, rss_slope_mb_h = 0;
  double disk_growth_mb_day = 0, sst_growth_mb_day = 0, wal_end_mb = 0;
  std::map<std::string, double> part_slopes;  // MB an hour over the steady window
  double steady_slope_mb_h = 0, memtables_min_mb = 0, memtables_max_mb = 0;
  double steady_from_s = 0;
  bool after_flush = false;  // the window starts after the series memtable's first flush
  {
    auto config = bench::free_port_config(example);
    auto data = tmp / "realtime";
    test::child_process sim{{bin + "/plant-sim", "--config", config, "--control", "127.0.0.1:0"}};
    bench::wait_for(sim, std::regex{R"(plant-sim: control on (\S+))"});
    test::child_process plantd{{bin + "/plantd", "--config", config, "--listen", "127.0.0.1:0",
                                "--data-dir", data.string(), "--log-level", "error",
                                "--metrics-listen", "127.0.0.1:0"}};
    bench::wait_for(plantd, std::regex{R"(listening on (\S+))"});
    auto metrics_url = bench::wait_for(plantd, std::regex{R"(metrics at (http://\S+))"});
    struct sample {
      double t = 0;  // seconds since start
      double rss = 0;
      std::map<std::string, double> parts;
      double disk = 0, sst = 0;  // MB
    };
    std::vector<sample> samples;
    std::ofstream trace_out;
    if (!trace.empty())
      trace_out.open(trace);
    auto started = steady::now();
    for (;;) {
      double t = bench::ms_since(started) / 1000;
      if (t >= seconds)
        break;
      auto kb = test::rss_kb(plantd.pid());
      if (kb <= 0)
        throw std::runtime_error("plantd is gone: " + plantd.stderr_text());
      sample x{t, static_cast<double>(kb) / 1024, memory_parts(metrics_url),
               static_cast<double>(dir_bytes(data / "store")) / 1e6,
               static_cast<double>(dir_bytes(data / "store", ".sst")) / 1e6};
      if (trace_out.is_open()) {
        if (samples.empty()) {
          trace_out << "seconds,rss_mb";
          for (const auto& [part, mb] : x.parts)
            trace_out << ',' << part << "_mb";
          trace_out << '\n';
        }
        trace_out << fmt::format("{:.0f},{:.2f}", t, x.rss);
        for (const auto& [part, mb] : x.parts)
          trace_out << fmt::format(",{:.2f}", mb);
        trace_out << std::endl;
      }
      samples.push_back(std::move(x));
      std::this_thread::sleep_for(5s);
    }
    if (samples.size() < 4)
      throw std::runtime_error("too few samples: give --seconds of 60 or more");
    rss_start_mb = samples.front().rss;
    rss_end_mb = samples.back().rss;
    // The steady window: from the 25th minute. The series family's
    // memtable (8 MB, filling at about 20 MB an hour here) first flushes at
    // about the 21st minute, and that first flush leaves a one-time MB or
    // two of heap behind; the small families flush every two minutes. A
    // run too short for 10 minutes of window is judged on its second half
    // and cannot meet the target.
    constexpr double steady_start_s = 1500;
    after_flush = samples.back().t >= steady_start_s + 600;
    steady_from_s = after_flush ? steady_start_s : seconds / 2.0;
    auto memtables = [](const sample& x) {
      auto m = x.parts.find("store_memtables");
      return m == x.parts.end() ? 0.0 : m->second;
    };
    std::vector<std::pair<double, double>> rss, less, disk, sst;
    std::map<std::string, std::vector<std::pair<double, double>>> parts;
    memtables_min_mb = 1e9;
    for (const auto& x : samples) {
      if (x.t < steady_from_s)
        continue;
      double h = x.t / 3600;
      rss.emplace_back(h, x.rss);
      less.emplace_back(h, x.rss - memtables(x));
      memtables_min_mb = std::min(memtables_min_mb, memtables(x));
      memtables_max_mb = std::max(memtables_max_mb, memtables(x));
      for (const auto& [part, mb] : x.parts)
        parts[part].emplace_back(h, mb);
      disk.emplace_back(x.t / 86'400, x.disk);
      sst.emplace_back(x.t / 86'400, x.sst);
    }
    rss_slope_mb_h = slope(rss);
    steady_slope_mb_h = slope(less);
    for (const auto& [part, xy] : parts)
      part_slopes[part] = slope(xy);
    disk_growth_mb_day = slope(disk);
    sst_growth_mb_day = slope(sst);
    wal_end_mb = static_cast<double>(dir_bytes(data / "store", ".log")) / 1e6;
    plantd.stop(SIGTERM, 10s);
    sim.stop(SIGTERM, 10s);
  }

  // 3. A day of backlog to VictoriaMetrics.
  double backfill_s = -1, idle_p99_us = 0, busy_p99_us = 0;
  uint64_t backlog_samples = 0, sent_samples = 0, idle_decisions = 0, busy_decisions = 0;
  std::size_t vm_points = 0;
  if (only.empty() && std::filesystem::exists("/usr/bin/victoria-metrics")) {
    auto config = bench::free_port_config(example, 100);
    auto data = tmp / "backfill";
    int64_t now = wall_ms() / 1000 * 1000;
    {
      auto db = open_store(data / "store");
      for (int64_t t = now - 86'400'000; t < now; t += 1000)
        record(*db, model.at(t));
      backlog_samples = static_cast<uint64_t>(db->series().size()) * 86'400;
      (void)db->put_state(actors::uplink_cursor_key, std::to_string(now - 86'400'000));
    }
    int port = test::unused_port();
    test::child_process vm{{"/usr/bin/victoria-metrics",
                            "-storageDataPath=" + (tmp / "vm").string(),
                            fmt::format("-httpListenAddr=127.0.0.1:{}", port),
                            "-retentionPeriod=100y", "-loggerLevel=ERROR"}};
    auto base = fmt::format("http://127.0.0.1:{}", port);
    for (int i = 0; i < 300 && test::http(base + "/health").status != 200; ++i)
      std::this_thread::sleep_for(50ms);
    test::child_process sim{{bin + "/plant-sim", "--config", config, "--control", "127.0.0.1:0"}};
    bench::wait_for(sim, std::regex{R"(plant-sim: control on (\S+))"});
    test::child_process plantd{{bin + "/plantd", "--config", config, "--listen", "127.0.0.1:0",
                                "--data-dir", data.string(), "--log-level", "error"}};
    auto target = bench::wait_for(plantd, std::regex{R"(listening on (\S+))"});
    auto ch = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    auto control = v1::ControlService::NewStub(ch);
    auto plant = v1::PlantService::NewStub(ch);
    auto state = [&] {
      v1::PlantState s;
      if (auto st = control->GetState(bench::ctx().get(), {}, &s); !st.ok())
        throw std::runtime_error("GetState: " + st.error_message());
      return s;
    };
    std::this_thread::sleep_for(10s);  // warm
    auto idle0 = state();
    std::this_thread::sleep_for(30s);
    auto idle1 = state();
    idle_p99_us = bench::latency_quantile(idle0, idle1, 0.99);
    idle_decisions = bench::decisions_between(idle0, idle1);

    v1::PatchConfigRequest patch;
    patch.mutable_config()->mutable_uplink()->set_enabled(true);
    patch.mutable_config()->mutable_uplink()->set_url(base + "/api/v1/write");
    patch.mutable_update_mask()->add_paths("uplink.enabled");
    patch.mutable_update_mask()->add_paths("uplink.url");
    v1::ApplyConfigResponse applied;
    auto st = plant->PatchConfig(bench::ctx().get(), patch, &applied);
    if (!st.ok())
      throw std::runtime_error("PatchConfig: " + st.error_message());
    auto started = steady::now();
    auto busy0 = state();
    while (bench::ms_since(started) < 600'000) {
      v1::GetInfoResponse info;
      plant->GetInfo(bench::ctx().get(), {}, &info);
      if (info.uplink().connected() && info.uplink().lag_s() < 15) {
        backfill_s = bench::ms_since(started) / 1000;
        sent_samples = info.uplink().sent_samples();
        break;
      }
      std::this_thread::sleep_for(200ms);
    }
    auto busy1 = state();
    busy_p99_us = bench::latency_quantile(busy0, busy1, 0.99);
    busy_decisions = bench::decisions_between(busy0, busy1);
    test::http(base + "/internal/force_flush");
    auto exported = test::http(base + "/api/v1/export", "match[]=plantd_plant_grid_w");
    const auto& body = exported.body;
    auto code = exported.status;
    for (auto at = body.find("\"timestamps\":["); at != std::string::npos && code == 200;) {
      auto end = body.find(']', at);
      vm_points += static_cast<std::size_t>(std::count(body.begin() + static_cast<long>(at),
                                                       body.begin() + static_cast<long>(end), ','))
                   + 1;
      at = body.find("\"timestamps\":[", end);
    }
    plantd.stop(SIGTERM, 10s);
    sim.stop(SIGTERM, 10s);
    vm.stop(SIGTERM, 10s);
  }
  std::filesystem::remove_all(tmp);

  auto json = fmt::format(
    "{{\n"
    "  \"simulated_day\": {{\"series\": {}, \"seconds_per_simulated_day\": {:.1f},\n"
    "    \"disk_first_day_mb\": {:.2f}, \"disk_per_day_mb\": {:.2f}, \"dir_per_day_mb\": {:.2f},\n"
    "    \"wal_mb\": {:.2f}, \"bench_rss_growth_second_day_mb\": {:.1f},\n"
    "    \"uncompacted_after_day1_mb\": {:.2f}, \"uncompacted_after_day2_mb\": {:.2f},\n"
    "    \"target_disk_per_day_mb\": 30, \"met\": {}}},\n"
    "  \"realtime\": {{\"seconds\": {}, \"rss_start_mb\": {:.1f}, \"rss_end_mb\": {:.1f},\n"
    "    \"steady_from_s\": {:.0f}, \"after_first_series_flush\": {},\n"
    "    \"rss_slope_steady_mb_per_h\": {:.2f},\n"
    "    \"rss_less_memtables_slope_steady_mb_per_h\": {:.2f},\n"
    "    \"memtables_steady_mb\": [{:.1f}, {:.1f}], \"memtables_budget_mb\": 16,\n"
    "    \"memory_parts_slope_steady_mb_per_h\": {{{}}},\n"
    "    \"store_growth_mb_per_day\": {:.1f}, \"sst_growth_mb_per_day\": {:.1f},\n"
    "    \"wal_at_end_mb\": {:.1f}, \"target_rss_slope_mb_per_h\": 1, \"met\": {}}},\n"
    "  \"backfill\": {{\"backlog_samples\": {}, \"sent_samples\": {}, \"seconds\": {:.1f},\n"
    "    \"receiver_points_grid_w\": {}, \"idle_p99_us\": {:.0f}, \"idle_decisions\": {},\n"
    "    \"busy_p99_us\": {:.0f}, \"busy_decisions\": {}, \"p99_ratio\": {:.2f},\n"
    "    \"target_seconds\": 120, \"target_p99_ratio\": 2, \"met\": {}}}\n"
    "}}\n",
    series, day_s, disk_day1_mb, disk_day2_mb, dir_day2_mb, wal_mb, sim_rss_day2_mb,
    uncompacted_day1_mb, uncompacted_day2_mb, disk_day2_mb < 30 ? "true" : "false", seconds,
    rss_start_mb, rss_end_mb, steady_from_s, after_flush, rss_slope_mb_h, steady_slope_mb_h,
    memtables_min_mb, memtables_max_mb, part_list(part_slopes), disk_growth_mb_day,
    sst_growth_mb_day, wal_end_mb,
    after_flush && steady_slope_mb_h < 1 && memtables_max_mb <= 16 ? "true" : "false",
    backlog_samples, sent_samples, backfill_s, vm_points, idle_p99_us, idle_decisions, busy_p99_us,
    busy_decisions, idle_p99_us > 0 ? busy_p99_us / idle_p99_us : 0.0,
    backfill_s >= 0 && backfill_s < 120 && busy_p99_us <= 2 * idle_p99_us ? "true" : "false");
  std::fputs(json.c_str(), stdout);
  std::ofstream{out} << json;
  return 0;
}
