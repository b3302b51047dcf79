// The uplink against a real remote-write receiver: Debian's VictoriaMetrics
// on a free loopback port (and a Python receiver for the answers it never
// gives: 400 to valid data, a bearer token it does not check). The uplink
// actor runs in a real actor system over a real store.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <google/protobuf/util/time_util.h>

#include "actors/alarm_actor.hpp"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "actors/system.hpp"
#include "actors/uplink_actor.hpp"
#include "test/e2e/harness.hpp"
#include "test/e2e/process.hpp"
#include "test/support/http_get.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

// Debian's victoria-metrics on a free loopback port.
struct victoria {
  std::filesystem::path dir;
  int port = unused_port();
  std::vector<std::string> extra;
  std::unique_ptr<child_process> proc;
  std::string scheme = "http";
  std::string userpw, ca;

  explicit victoria(std::filesystem::path d, std::vector<std::string> more = {})
    : dir(std::move(d)),
      extra(std::move(more)) {
    for (const auto& e : extra) {
      if (e == "-tls")
        scheme = "https";
    }
  }
  std::string base() const { return fmt::format("{}://127.0.0.1:{}", scheme, port); }
  std::string write_url() const { return base() + "/api/v1/write"; }

  void start() {
    std::vector<std::string> argv{"/usr/bin/victoria-metrics", "-storageDataPath=" + dir.string(),
                                  fmt::format("-httpListenAddr=127.0.0.1:{}", port),
                                  "-retentionPeriod=100y", "-loggerLevel=ERROR"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(argv);
    REQUIRE(within(15s, [&] { return http(base() + "/health", {}, {}, ca).status == 200; }));
  }
  void stop() {
    if (proc)
      proc->stop(SIGTERM, 10s);
    proc.reset();
  }
  ~victoria() { stop(); }

  // Every sample of the series matching `match`, by series (its labels as
  // {a="b",...} text), times in ms.
  std::map<std::string, std::vector<std::pair<int64_t, double>>> read(const std::string& match) {
    REQUIRE(http(base() + "/internal/force_flush", {}, userpw, ca).status == 200);
    auto a = http(base() + "/api/v1/export", "match[]=" + match, userpw, ca);
    REQUIRE(a.status == 200);
    std::map<std::string, std::vector<std::pair<int64_t, double>>> out;
    std::size_t start = 0;
    while (start < a.body.size()) {
      auto end = a.body.find('\n', start);
      auto line = a.body.substr(start, end == std::string::npos ? end : end - start);
      start = end == std::string::npos ? a.body.size() : end + 1;
      if (line.empty())
        continue;
      google::protobuf::Struct s;
      REQUIRE(google::protobuf::util::JsonStringToMessage(line, &s).ok());
      std::string key;
      for (const auto& [k, v] : std::map<std::string, google::protobuf::Value>{
             s.fields().at("metric").struct_value().fields().begin(),
             s.fields().at("metric").struct_value().fields().end()})
        key += fmt::format("{}=\"{}\",", k, v.string_value());
      const auto& ts = s.fields().at("timestamps").list_value();
      const auto& vs = s.fields().at("values").list_value();
      auto& samples = out[key];
      for (int i = 0; i < ts.values_size(); ++i)
        samples.emplace_back(static_cast<int64_t>(ts.values(i).number_value()),
                             vs.values(i).number_value());
      std::sort(samples.begin(), samples.end());
    }
    return out;
  }
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// A store holding `series` at 1 Hz over [from, to), every 97th point
// missing (never sent), and one alarm raised and cleared in between.
struct recorded_site {
  temp_dir dir{"plantd-uplink"};
  std::shared_ptr<store::store> db;
  std::vector<std::string> names{"plant.grid_w", "plant.soc_percent", "cabinet.C01.power_w",
                                 "cabinet.C02.power_w", "meter.grid.import_wh"};
  int64_t t0 = 0, t1 = 0;  // what was recorded: [t0, t1)

  // The last `span_ms` up to 5 s ago, recorded.
  explicit recorded_site(int64_t span_ms) {
    auto opened = store::store::open(dir.path / "store");
    REQUIRE(opened);
    db = std::shared_ptr<store::store>{std::move(*opened)};
    t1 = now_ms() / 1000 * 1000 - 5'000;
    t0 = t1 + 5'000 - span_ms;
    record(t0, t1);
  }

  void record(int64_t from, int64_t to) {
    std::vector<store::point> batch;
    for (std::size_t s = 0; s < names.size(); ++s) {
      auto id = *db->series_id(names[s]);
      for (int64_t t = from; t < to; t += 1000) {
        auto i = t / 1000;
        batch.push_back({id, t, static_cast<double>(i % 5000) + 0.25 * static_cast<double>(s),
                         i % 97 == 0 ? quality::missing : quality::measured});
        if (batch.size() == 20'000) {
          REQUIRE(db->write(batch));
          batch.clear();
        }
      }
    }
    REQUIRE(db->write(batch));
  }

  // What the receiver must hold for series `name`.
  std::vector<std::pair<int64_t, double>> expected(const std::string& name, int64_t to) const {
    std::vector<std::pair<int64_t, double>> out;
    for (const auto& p : db->raw(*db->find_series(name), 0, to))
      if (p.q != quality::missing)
        out.emplace_back(p.t_ms, p.value);
    return out;
  }
};

struct uplink_run {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<actors::config_view> view;
  std::shared_ptr<actors::uplink_monitor> monitor = std::make_shared<actors::uplink_monitor>();
  actors::uplink_api actor;

  uplink_run(std::shared_ptr<store::store> db, const plant::uplink& u) {
    actors::configure(cfg, 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    view = std::make_shared<actors::config_view>(snapshot(u, 1));
    static const system_clock clk;
    actor = sys->spawn<caf::detached>(
      actors::uplink_actor, actors::uplink_actor_args{db, view, &clk, monitor, nullptr, 1000ms});
  }
  static actors::config_snapshot snapshot(const plant::uplink& u, uint64_t version) {
    plant::config c;
    c.site.name = "uplink-test-site";
    c.uplink = u;
    return {std::make_shared<const plant::config>(c), version, {}};
  }
  void change(const plant::uplink& u) { view->set(snapshot(u, 2)); }
  ~uplink_run() {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sys->await_all_actors_done();
  }
};

std::string write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream{p} << text;
  return p.string();
}

}  // namespace

TEST_CASE("the uplink sends what is stored to VictoriaMetrics exactly, and fills an outage in "
          "time order without a sample missing or doubled",
          "[e2e][uplink]") {
  recorded_site site{2 * 3'600'000};
  auto t0 = site.t0, t1 = site.t1;
  alarms::alarm al;
  al.id = 1;
  al.code = "comm_lost";
  al.device = "C02";
  al.level = alarms::severity::major;
  al.raised_ms = t0 + 600'500;
  al.cleared_ms = t0 + 900'250;
  REQUIRE(site.db->put_alarm(al));

  temp_dir vmdir{"plantd-vm"};
  victoria vm{vmdir.path};
  vm.start();
  plant::uplink u;
  u.enabled = true;
  u.url = vm.write_url();
  u.interval_ms = 1000;
  u.backfill_hours = 3;
  u.max_samples_per_s = 3000;  // two hours of five series: about 12 s
  u.max_samples_per_request = 2000;
  uplink_run run{site.db, u};

  // The receiver stops while the uplink catches up, and comes back.
  REQUIRE(within(20s, [&] { return run.monitor->get().cursor_ms > t0 + 1'800'000; }));
  vm.stop();
  REQUIRE(within(
    10s, [&] { return !run.monitor->get().last_error.empty() && !run.monitor->get().connected; }));
  auto held = run.monitor->get().cursor_ms;
  std::this_thread::sleep_for(1500ms);  // requests fail meanwhile: the cursor holds
  CHECK(run.monitor->get().cursor_ms == held);
  CHECK(run.monitor->get().failed_requests > 0);
  // Back on another port (its old one may have gone to another test), the
  // uplink pointed at it.
  vm.port = unused_port();
  vm.start();
  u.url = vm.write_url();
  run.change(u);
  REQUIRE(within(60s, [&] { return run.monitor->get().cursor_ms >= t1; }));
  auto st = run.monitor->get();
  CHECK(st.connected);
  CHECK(st.rejected_samples == 0);

  auto got = vm.read("{site=\"uplink-test-site\"}");
  std::size_t total = 0;
  for (const auto& name : site.names) {
    auto labels = uplink::labels_of(name, "uplink-test-site");
    std::string key;
    for (const auto& l : labels)
      key += fmt::format("{}=\"{}\",", l.name, l.value);
    INFO(key);
    REQUIRE(got.count(key) == 1);
    auto want = site.expected(name, t1);
    CHECK(got[key].size() == want.size());
    CHECK(got[key] == want);  // every stored point once, in order, value for value
    total += want.size();
  }
  CHECK(st.sent_samples >= total);
  // The alarm's state: 1 at the raise and at every minute while open, 0 at the clear.
  std::string alarm_key = "__name__=\"plantd_alarm_active\",code=\"comm_lost\",device=\"C02\","
                          "severity=\"major\",site=\"uplink-test-site\",";
  REQUIRE(got.count(alarm_key) == 1);
  const auto& states = got[alarm_key];
  std::size_t minutes = 0;
  for (int64_t m = (al.raised_ms / 60'000 + 1) * 60'000; m < *al.cleared_ms; m += 60'000)
    ++minutes;
  REQUIRE(states.size() == 2 + minutes);
  CHECK(states.front() == std::pair<int64_t, double>{al.raised_ms, 1.0});
  CHECK(states.back() == std::pair<int64_t, double>{*al.cleared_ms, 0.0});
  for (std::size_t i = 1; i + 1 < states.size(); ++i)
    CHECK((states[i].first % 60'000 == 0 && states[i].second == 1.0));

  // The cursor is kept: an uplink started again sends nothing twice.
  auto kept = site.db->get_state(actors::uplink_cursor_key);
  REQUIRE((kept && *kept));
  CHECK(std::stoll(**kept) >= t1);
}

TEST_CASE("the uplink over TLS with basic auth: a certificate that does not verify and a wrong "
          "password hold the cursor, fixed through the config it catches up",
          "[e2e][uplink]") {
  recorded_site site{600'000};
  auto t1 = site.t1;
  temp_dir vmdir{"plantd-vm"};
  auto cert = vmdir.path / "cert.pem";
  auto key = vmdir.path / "key.pem";
  auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.string(),
                           "-out", cert.string(), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                           "subjectAltName=IP:127.0.0.1"});
  REQUIRE(made.exit_code == 0);
  victoria vm{vmdir.path / "data",
              {"-tls", "-tlsCertFile=" + cert.string(), "-tlsKeyFile=" + key.string(),
               "-httpAuth.username=fleet", "-httpAuth.password=right-one"}};
  vm.ca = cert.string();
  vm.userpw = "fleet:right-one";
  vm.start();

  plant::uplink u;
  u.enabled = true;
  u.url = vm.write_url();
  u.interval_ms = 1000;
  u.backfill_hours = 1;
  u.username = "fleet";
  u.password_file = write_file(vmdir.path / "password", "right-one\n");
  uplink_run run{site.db, u};  // no ca_file: the system's CAs do not know this one
  REQUIRE(within(10s, [&] { return run.monitor->get().failed_requests > 0; }));
  auto st = run.monitor->get();
  CHECK_THAT(st.last_error, Catch::Contains("certificate"));
  CHECK(st.sent_samples == 0);
  auto start_cursor = st.cursor_ms;

  u.ca_file = cert.string();
  u.password_file = write_file(vmdir.path / "wrong", "wrong-one\n");
  run.change(u);
  REQUIRE(
    within(10s, [&] { return run.monitor->get().last_error.find("401") != std::string::npos; }));
  CHECK(run.monitor->get().cursor_ms == start_cursor);
  CHECK(run.monitor->get().sent_samples == 0);

  u.password_file = write_file(vmdir.path / "password", "right-one\n");
  run.change(u);
  REQUIRE(within(20s, [&] { return run.monitor->get().cursor_ms >= t1; }));
  CHECK(run.monitor->get().connected);
  auto got = vm.read("{__name__=\"plantd_plant_grid_w\"}");
  REQUIRE(got.size() == 1);
  CHECK(got.begin()->second == site.expected("plant.grid_w", t1));
}

TEST_CASE("the uplink sends its bearer token, and data the receiver refuses (400) is counted and "
          "not retried forever",
          "[e2e][uplink]") {
  recorded_site site{600'000};
  auto t1 = site.t1;
  temp_dir dir{"plantd-rx"};
  auto script = std::string{PLANTD_SOURCE_DIR} + "/test/e2e/refusing_receiver.py";
  child_process rx{{"/usr/bin/python3", script, "400"}};
  auto first = rx.read_line(10s);
  REQUIRE(first);
  REQUIRE(first->starts_with("port "));
  auto port = std::stoi(first->substr(5));

  plant::uplink u;
  u.enabled = true;
  u.url = fmt::format("http://127.0.0.1:{}/api/v1/write", port);
  u.interval_ms = 1000;
  u.backfill_hours = 1;
  u.bearer_token_file = write_file(dir.path / "token", "fleet-token-7\n");
  uplink_run run{site.db, u};
  REQUIRE(within(20s, [&] { return run.monitor->get().cursor_ms >= t1; }));
  auto st = run.monitor->get();
  std::size_t stored = 0;
  for (const auto& n : site.names)
    stored += site.expected(n, t1).size();
  CHECK(st.rejected_samples == stored);
  CHECK(st.sent_samples == 0);
  CHECK_THAT(st.last_error, Catch::Contains("400"));
  // Each window was offered once: as many requests as windows, no retries.
  auto requests = st.sent_requests;
  CHECK(requests < 20);
  CHECK(actors::read_counter(*site.db, actors::uplink_rejected_key) == stored);
  int seen = 0;
  while (auto line = rx.read_line(200ms)) {
    CHECK(*line == "POST /api/v1/write Bearer fleet-token-7 snappy");
    ++seen;
  }
  CHECK(seen == static_cast<int>(requests));
}

TEST_CASE("plantd controlling plant-sim pushes its telemetry as it records it, shows the uplink in "
          "GetInfo, and stops pushing when the uplink is switched off through the API",
          "[e2e][uplink]") {
  temp_dir vmdir{"plantd-vm"};
  victoria vm{vmdir.path};
  vm.start();
  auto config = sim_config("single-cabinet", "", [&](v1::PlantConfig& m) {
    auto* u = m.mutable_uplink();
    u->set_enabled(true);
    u->set_url(vm.write_url());
    u->set_interval_ms(1000);
  });
  running_sim sim{config};
  running_plantd plantd{config, {"--metrics-listen", "127.0.0.1:0"}};
  auto metrics_line = plantd.process().read_line(10s);
  REQUIRE(metrics_line);
  std::smatch m;
  REQUIRE(std::regex_search(*metrics_line, m, std::regex{R"(metrics at (http://\S+))"}));
  std::string metrics_url = m[1];
  auto plant = v1::PlantService::NewStub(
    grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
  auto info = [&] {
    v1::GetInfoResponse r;
    REQUIRE(plant->GetInfo(ctx().get(), {}, &r).ok());
    return r;
  };
  auto started = now_ms();
  // Live: the cursor follows the recording a few seconds behind.
  REQUIRE(within(30s, [&] {
    auto u = info().uplink();
    return u.connected()
           && google::protobuf::util::TimeUtil::TimestampToMilliseconds(u.cursor())
                > started + 6'000;
  }));
  auto u = info().uplink();
  CHECK(u.enabled());
  CHECK(u.sent_samples() > 0);
  CHECK(u.last_error().empty());
  CHECK(u.lag_s() < 30);
  auto cursor = google::protobuf::util::TimeUtil::TimestampToMilliseconds(u.cursor());

  // What the receiver holds is what QueryHistory answers, up to the cursor.
  v1::QueryHistoryRequest q;
  q.set_series("plant.grid_w");
  *q.mutable_from() = google::protobuf::util::TimeUtil::SecondsToTimestamp(0);
  *q.mutable_to() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(cursor);
  q.set_resolution("raw");
  v1::QueryHistoryResponse h;
  REQUIRE(plantd.telemetry().QueryHistory(ctx().get(), q, &h).ok());
  std::vector<std::pair<int64_t, double>> want;
  for (const auto& p : h.points())
    if (p.quality() != v1::QUALITY_MISSING && p.quality() != v1::QUALITY_INVALID)
      want.emplace_back(google::protobuf::util::TimeUtil::TimestampToMilliseconds(p.time()),
                        p.value());
  REQUIRE(want.size() >= 4);
  auto got = vm.read("{__name__=\"plantd_plant_grid_w\"}");
  REQUIRE(got.size() == 1);
  CHECK(got.begin()->first.find("site=\"" + info().site_name() + "\"") != std::string::npos);
  std::vector<std::pair<int64_t, double>> sent;
  for (const auto& s : got.begin()->second)
    if (s.first < cursor)
      sent.push_back(s);
  // Times exactly; values to VictoriaMetrics' precision (it keeps 12
  // significant decimal digits: a PCS's float32 reading -455.14736328125
  // comes back -455.147363281).
  REQUIRE(sent.size() == want.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    INFO(i);
    CHECK(sent[i].first == want[i].first);
    CHECK(sent[i].second == Approx(want[i].second).epsilon(1e-11));
  }

  // /metrics: plantd's own health in the Prometheus text format.
  auto scraped = http(metrics_url);
  REQUIRE(scraped.status == 200);
  auto value_of = [&](const std::string& prefix) {
    auto at = scraped.body.find("\n" + prefix + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(scraped.body.substr(at + prefix.size() + 2));
  };
  INFO(scraped.body);
  CHECK(value_of("plantd_decisions_total") > 0);
  CHECK(value_of("plantd_decision_latency_seconds_count") > 0);
  CHECK(value_of("plantd_decision_latency_seconds_bucket{le=\"+Inf\"}")
        == value_of("plantd_decision_latency_seconds_count"));
  CHECK(value_of("plantd_uplink_enabled") == 1);
  CHECK(value_of("plantd_uplink_sent_samples_total") > 0);
  CHECK(value_of("plantd_store_disk_bytes") > 0);
  CHECK(value_of("plantd_process_resident_bytes") > 1e6);
  // The memory by part: anonymous memory is part of RSS, the heap holds
  // plantd's state, and the memtables are within their 16 MB budget and
  // charged to the block cache, itself within its 32 MB.
  auto part = [&](const std::string& p) {
    return value_of("plantd_memory_bytes{part=\"" + p + "\"}");
  };
  auto rss = value_of("plantd_process_resident_bytes");
  CHECK(part("resident_anon") > 0);
  CHECK(part("resident_anon") < rss);
  CHECK(part("heap_in_use") < rss);
  CHECK(part("store_memtables") <= 16 << 20);
  CHECK(part("store_memtables") <= part("store_block_cache"));
  CHECK(part("store_block_cache") <= 32 << 20);
  // Modbus per device: the cabinet is asked, and answers.
  auto cabinet =
    std::regex{R"(plantd_modbus_requests_total\{device="C01",link="tcp [^"]+",unit="\d+"\} (\d+))"};
  std::smatch rm;
  REQUIRE(std::regex_search(scraped.body, rm, cabinet));
  CHECK(std::stod(rm[1]) > 0);
  CHECK(http(metrics_url.substr(0, metrics_url.rfind('/')) + "/other").status == 404);

  // Switched off live: GetInfo says so and nothing more is sent.
  v1::PatchConfigRequest patch;
  patch.mutable_config()->mutable_uplink()->set_enabled(false);
  patch.mutable_update_mask()->add_paths("uplink.enabled");
  v1::ApplyConfigResponse applied;
  auto st = plant->PatchConfig(ctx().get(), patch, &applied);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(applied.at_restart_size() == 0);
  REQUIRE(within(5s, [&] { return !info().uplink().enabled(); }));
  auto stopped_at = info().uplink().sent_samples();
  std::this_thread::sleep_for(2500ms);
  CHECK(info().uplink().sent_samples() == stopped_at);
}
