// plantd — the plant controller daemon.
//
//   plantd --config FILE [--data-dir DIR] [--listen HOST:PORT] [--socket PATH]
//          [--tls-cert FILE --tls-key FILE] [--client-ca FILE] [--log-level L]
//   plantd --check-config FILE
//
// Refuses to start on an invalid config (every problem is printed). Once up,
// prints "plantd: listening on unix:SOCKET and HOST:PORT" on stdout (the
// local socket first; without one, HOST:PORT alone); SIGINT/SIGTERM stop it.
// A listen address other than loopback is served with TLS only.
#include <csignal>
#include <malloc.h>
#include <unistd.h>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <absl/time/time.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/alarm_actor.hpp"
#include "actors/energy_actor.hpp"
#include "services/energy_codec.hpp"
#include "actors/config_actor.hpp"
#include "services/config_history.hpp"
#include "actors/store_actor.hpp"
#include "actors/supervisor.hpp"
#include "actors/system.hpp"
#include "actors/network_actor.hpp"
#include "actors/uplink_actor.hpp"
#include "actors/version.hpp"
#include "apps/plantd/crash.hpp"
#include "apps/plantd/service_manager.hpp"
#include "drivers/pointtables/registry.hpp"
#include "services/config_codec.hpp"
#include "services/metrics.hpp"
#include "services/server.hpp"
#include "services/tls_identity.hpp"

namespace {

void print_problems(std::ostream& out, const std::string& file, const plantd::problems& found) {
  for (const auto& p : found)
    out << file << ": " << (p.path.empty() ? "" : p.path + ": ") << p.message << '\n';
}

// The tables plantd knows: the shipped ones and those of `dir`; problems of
// files in `dir` that do not load are added to `found`.
plantd::pointtables::registry load_tables(const std::string& dir, plantd::problems& found) {
  auto tables = plantd::pointtables::registry::builtin();
  if (!dir.empty())
    for (auto& p : tables.add_directory(dir))
      found.push_back(std::move(p));
  return tables;
}

// Exactly what a start checks: the config, the point tables it names and
// whether each serves its device's role.
int check_config(const std::string& file, const std::string& tables_dir) {
  plantd::problems table_problems;
  auto tables = load_tables(tables_dir, table_problems);
  auto loaded = plantd::services::load_config_file(file);
  if (loaded.problems.empty())
    loaded.problems = tables.check(loaded.model);
  for (auto& p : table_problems)
    loaded.problems.push_back({tables_dir + ": " + p.path, std::move(p.message)});
  if (!loaded.problems.empty()) {
    print_problems(std::cout, file, loaded.problems);
    std::cout << file << ": " << loaded.problems.size() << " problem"
              << (loaded.problems.size() == 1 ? "" : "s") << '\n';
    return 1;
  }
  std::cout << file << ": valid (" << loaded.model.cabinets.size() << " cabinet"
            << (loaded.model.cabinets.size() == 1 ? "" : "s") << ")\n";
  return 0;
}

struct run_args {
  std::string file;
  std::string data_dir;
  std::string listen;
  std::string socket;
  plantd::services::tls_files tls;
  bool force_tls = false;
  std::string tables_dir;
  double time_scale = 1;
  std::string start;
  std::string metrics_listen;
};

int run(const run_args& ra) {
  // A crash leaves a backtrace on stderr (the journal on a unit): the one
  // thing an operator can send us.
  plantd::app::install_crash_handler();
  // Signals are taken by sigwait below; block them before any library starts
  // a thread (RocksDB, CAF, gRPC), so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const auto& file = ra.file;
  const auto& data_dir = ra.data_dir;
  const auto& listen = ra.listen;
  const auto& tables_dir = ra.tables_dir;
  plantd::problems table_problems;
  auto tables = load_tables(tables_dir, table_problems);
  if (!table_problems.empty()) {
    print_problems(std::cerr, tables_dir, table_problems);
    spdlog::error("refusing to start: point tables in {} do not load", tables_dir);
    return 1;
  }
  auto loaded = plantd::services::load_config_file(file);
  if (loaded.problems.empty())
    loaded.problems = tables.check(loaded.model);
  if (!loaded.problems.empty()) {
    print_problems(std::cerr, file, loaded.problems);
    spdlog::error("refusing to start: {} has {} problem(s)", file, loaded.problems.size());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data directory {}: {}", data_dir, ec.message());
    return 1;
  }
  absl::TimeZone site_tz;
  absl::LoadTimeZone(loaded.model.site.time_zone, &site_tz);
  auto opened =
    plantd::store::store::open(std::filesystem::path{data_dir} / "store", {site_tz, false});
  if (!opened) {
    spdlog::error("{}", opened.error());
    return 1;
  }
  std::shared_ptr<plantd::store::store> db = std::move(*opened);
  // The config plantd runs with, versioned. The file is the installer's;
  // changes made through the API (the working mode, the TOU template) are
  // versions on top of it. Started with the file as it was, plantd runs the
  // latest version; an edited file becomes a new version and wins.
  uint64_t config_version = 1;
  {
    auto kept = loaded.message;
    plantd::services::redact_secrets(kept);  // never in the database
    auto source = kept.SerializeAsString();
    auto latest = db->latest_config();
    bool resumed = false;
    if (latest && db->config_source_is(source)) {
      plantd::v1::PlantConfig stored;
      if (stored.ParseFromString(latest->second)) {
        if (loaded.message.networks().has_cellular()) {  // secrets live in the file only
          auto* cell = stored.mutable_networks()->mutable_cellular();
          cell->set_password(loaded.message.networks().cellular().password());
          cell->clear_password_set();
        }
        auto checked = plantd::services::check_config(stored);
        if (checked.problems.empty())
          checked.problems = tables.check(checked.model);
        if (checked.problems.empty()) {
          loaded = std::move(checked);
          config_version = latest->first;
          resumed = true;
        } else {
          spdlog::warn("config version {} no longer validates ({}): running the file",
                       latest->first, checked.problems.front().message);
        }
      }
    }
    if (!resumed) {
      config_version = latest ? latest->first + 1 : 1;
      plantd::actors::change_info info;
      info.by = "file";
      info.origin = "file";
      info.comment = file;
      // Stored with every default spelled out, as the API's versions are,
      // so that a diff shows what was changed and not what was implied.
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
      if (auto r = plantd::services::store_config_version(
            *db, plantd::services::to_proto(loaded.model), config_version, info, now_ms, source);
          !r)
        spdlog::warn("cannot persist the config: {}", r.error().message);
    }
  }

  // Control runs on the wall clock; the site calendar (TOU slots) may run on
  // simulated time when driving plant-sim faster than real time.
  static const plantd::system_clock wall_clock;
  std::unique_ptr<plantd::clock> calendar;
  if (ra.time_scale != 1 || !ra.start.empty()) {
    auto start =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    if (!ra.start.empty()) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, ra.start, &t, &err)) {
        spdlog::error("--start: {}", err);
        return 2;
      }
      start = plantd::time_point{std::chrono::milliseconds{absl::ToUnixMillis(t)}};
    }
    calendar = std::make_unique<plantd::scaled_clock>(start, ra.time_scale);
    spdlog::warn("simulated site calendar: x{} from {}", ra.time_scale,
                 ra.start.empty() ? "now" : ra.start);
  }
  caf::actor_system_config cfg;
  plantd::actors::configure(cfg);
  cfg.add_thread_hook<plantd::app::actor_thread_hook>();
  caf::actor_system sys{cfg};

  auto site_name = loaded.model.site.name;
  auto cabinets = loaded.model.cabinets.size();
  auto hub = std::make_shared<plantd::actors::state_hub>();
  plantd::actors::supervisor_args sup_args;
  sup_args.cfg = loaded.model;
  sup_args.tables = &tables;
  sup_args.clk = &wall_clock;
  sup_args.calendar = calendar.get();
  sup_args.hub = hub;
  sup_args.realtime = true;
  plantd::actors::store_actor_args store_args;
  store_args.db = db;
  store_args.flush_interval = std::chrono::milliseconds{loaded.model.storage.flush_interval_ms};
  store_args.raw_retention_days = loaded.model.storage.raw_retention_days;
  store_args.max_disk_bytes = uint64_t{loaded.model.storage.max_disk_mb} << 20;
  store_args.data_dir = data_dir;
  store_args.clk = &wall_clock;
  auto stored_through = std::make_shared<std::atomic<int64_t>>(0);
  store_args.stored_through = stored_through;
  auto alarm_hub = std::make_shared<plantd::actors::alarm_hub>();
  auto alarms = sys.spawn(plantd::actors::alarm_actor,
                          plantd::actors::alarm_actor_args{db, {}, &wall_clock, alarm_hub});
  store_args.alarms = alarms;
  auto recorder = sys.spawn<caf::detached>(plantd::actors::store_actor, store_args);
  sup_args.listeners.push_back(recorder);
  sup_args.listeners.push_back(alarms);
  plantd::actors::energy_actor_args energy_args;
  energy_args.db = db;
  energy_args.codec = plantd::services::energy_store_codec();
  energy_args.clk = &wall_clock;
  energy_args.hourly_days = loaded.model.storage.energy_hourly_days;
  auto energy = plantd::actors::spawn_energy_actor(sys, std::move(energy_args));
  sup_args.listeners.push_back(energy);
  auto supervisor = plantd::actors::spawn_supervisor(sys, std::move(sup_args));
  plantd::actors::config_actor_args args;
  args.initial.config = std::make_shared<const plantd::plant::config>(std::move(loaded.model));
  args.initial.version = config_version;
  args.supervisor = supervisor;
  args.persist =
    [db](const plantd::plant::config& c, uint64_t version,
         const plantd::actors::change_info& info) -> plantd::expected<void, plantd::store::error> {
    return plantd::services::store_config_version(*db, plantd::services::to_proto(c), version, info,
                                                  wall_clock.now().time_since_epoch().count());
  };
  args.check = [&tables](const plantd::plant::config& c) { return tables.check(c); };
  // Holds the config from the start: a call may come before the actor runs.
  auto config_view = std::make_shared<plantd::actors::config_view>(args.initial);
  args.view = config_view;
  args.initial.applied_at = wall_clock.now();
  args.clk = &wall_clock;
  auto config = plantd::actors::spawn_config_actor(sys, std::move(args));
  // The uplink to the fleet, from the store (idle while uplink.enabled is off).
  auto uplink_monitor = std::make_shared<plantd::actors::uplink_monitor>();
  auto uplink = sys.spawn<caf::detached>(
    plantd::actors::uplink_actor, plantd::actors::uplink_actor_args{
                                    db, config_view, &wall_clock, uplink_monitor, stored_through});

  // The network settings, applied to the OS by the installer's hook.
  auto network = sys.spawn<caf::detached>(plantd::actors::network_actor,
                                          plantd::actors::network_actor_args{config_view, alarms});

  std::unique_ptr<plantd::services::server> srv;
  try {
    plantd::services::server_args sa;
    sa.listen = listen;
    sa.socket = ra.socket;
    sa.sys = &sys;
    sa.config = config;
    sa.supervisor = supervisor;
    sa.hub = hub;
    sa.db = db;
    sa.alarms = alarms;
    sa.alarm_hub = alarm_hub;
    sa.config_view = config_view;
    sa.energy = energy;
    sa.uplink = uplink_monitor;
    // TLS whenever the listener is more than loopback (or when asked):
    // the installer's certificate, or plantd's own made at the first start.
    bool tls = !listen.empty()
               && (ra.force_tls || !ra.tls.cert.empty() || !ra.tls.client_ca.empty()
                   || !plantd::services::is_loopback(listen));
    if (tls) {
      char hostname[256] = {};
      ::gethostname(hostname, sizeof hostname - 1);
      std::vector<std::string> names{hostname, "localhost", "127.0.0.1", "::1"};
      auto host = listen.substr(0, listen.rfind(':'));
      if (host != "0.0.0.0" && host != "[::]" && !host.empty())
        names.push_back(host.starts_with("[") ? host.substr(1, host.size() - 2) : host);
      auto material =
        plantd::services::load_tls(ra.tls, std::filesystem::path{data_dir} / "tls", names);
      if (!material)
        throw std::runtime_error("TLS: " + material.error());
      sa.tls = std::move(material.value());
      spdlog::warn("TLS certificate SHA-256 {}", sa.tls->fingerprint_sha256);
    }
    sa.accounts =
      std::make_shared<plantd::services::accounts>(db, plantd::services::accounts::options{});
    sa.audit =
      std::make_shared<plantd::services::audit_log>(db, plantd::services::audit_log::options{});
    if (auto code = sa.accounts->first_start_code())
      spdlog::warn("no account exists yet: installer code {} creates the first installer "
                   "(plantctl bootstrap; valid 30 days, replaced at the next start)",
                   *code);
    srv = std::make_unique<plantd::services::server>(std::move(sa));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    caf::anon_send_exit(config, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(alarms, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(energy, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(network, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto host = listen.substr(0, listen.rfind(':'));
  spdlog::info("plantd {} serving site \"{}\" ({} cabinets), data in {}", plantd::plantd_version,
               site_name, cabinets, data_dir);
  std::string where;
  if (!ra.socket.empty())
    where = "unix:" + ra.socket;
  if (!listen.empty())
    where += fmt::format("{}{}:{}", where.empty() ? "" : " and ", host, srv->port());
  std::printf("plantd: listening on %s\n", where.c_str());
  // plantd's own health for a local Prometheus (or node monitoring).
  std::unique_ptr<plantd::services::metrics_server> metrics;
  if (!ra.metrics_listen.empty()) {
    try {
      plantd::services::metrics_sources ms;
      ms.hub = hub;
      ms.db = db;
      ms.uplink = uplink_monitor;
      metrics = std::make_unique<plantd::services::metrics_server>(ra.metrics_listen, ms);
      std::printf("plantd: metrics at http://%s:%d/metrics\n",
                  ra.metrics_listen.substr(0, ra.metrics_listen.rfind(':')).c_str(),
                  metrics->port());
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
    }
  }
  std::fflush(stdout);
  plantd::app::service_manager systemd{hub};

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  systemd.stopping();
  // A stop is never held up by a long request (an import, an export) for
  // more than a second: what was acknowledged is in the store's WAL and the
  // model file is replaced atomically, so an exit here is recovered like a
  // crash at the next start.
  std::thread{[] {
    std::this_thread::sleep_for(std::chrono::seconds{1});
    static const char msg[] =
      "plantd: a request still running after 1 s of stopping: exiting without waiting for it\n";
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    std::_Exit(0);
  }}.detach();
  srv->shutdown(std::chrono::milliseconds{300});
  metrics.reset();
  caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(alarms, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(config, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(energy, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(network, caf::exit_reason::user_shutdown);
  // Every actor (and what it holds: the store, the buses) is gone before the
  // locals they point to are destroyed.
  sys.await_all_actors_done();
  srv.reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc raises its trim threshold to twice the largest block it ever
  // unmapped (an 11 MB model import: 28 MB), and a thread's arena keeps a
  // free top below that threshold resident for good - malloc_trim does not
  // reach it. Fixed thresholds (set before any thread starts) give freed
  // memory back: blocks of 256 KB and up are mapped and unmapped on their
  // own, and an arena gives back a free top of more than 1 MB.
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  ::mallopt(M_MXFAST, 0);
  CLI::App app{"plantd — plant controller for C&I battery storage"};
  app.set_version_flag("--version", plantd::plantd_version);
  std::string config_file;
  std::string check_file;
  std::string data_dir = "/var/lib/plantd";
  std::string listen = "127.0.0.1:50051";
  std::string socket = "default";
  plantd::services::tls_files tls;
  bool force_tls = false;
  std::string log_level = "info";
  std::string tables_dir;
  double time_scale = 1;
  std::string start;
  std::string metrics_listen;
  auto* config_opt =
    app.add_option("--config", config_file, "Plant config (JSON)")->check(CLI::ExistingFile);
  auto* check_opt = app.add_option("--check-config", check_file,
                                   "Check a config file, print every problem, exit 0 or 1");
  config_opt->excludes(check_opt);
  app.add_option("--data-dir", data_dir, "Where plantd keeps its data")->capture_default_str();
  app.add_option("--listen", listen, "gRPC address HOST:PORT (port 0: any free port)")
    ->capture_default_str();
  app.add_option("--socket", socket,
                 "Local Unix socket (its callers have every permission; its file mode 0660 and its "
                 "directory decide who may connect). Default DATA-DIR/plantd.sock; '' for none");
  app
    .add_option("--tls-cert", tls.cert,
                "TLS certificate chain (PEM); default: plantd makes "
                "its own in DATA-DIR/tls at the first start")
    ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls.key, "TLS private key (PEM) of --tls-cert")
    ->check(CLI::ExistingFile);
  app
    .add_option("--client-ca", tls.client_ca,
                "CA (PEM) whose client certificates authenticate (mutual TLS); the "
                "certificate's CN names the principal, its OU the role (default service)")
    ->check(CLI::ExistingFile);
  app.add_flag("--tls", force_tls, "Serve TLS on a loopback --listen too");
  app.add_option("--metrics-listen", metrics_listen,
                 "Serve plantd's own health in the Prometheus text format at "
                 "http://HOST:PORT/metrics (port 0: any free port; no authentication: "
                 "loopback or a management network only). Default: off");
  app.add_option("--pointtables", tables_dir, "Directory of extra point tables (*.json)");
  app
    .add_option(
      "--time-scale", time_scale,
      "Simulation only: run the site calendar (TOU) N times faster (match plant-sim --speed)")
    ->check(CLI::Range(0.01, 100000.0));
  app.add_option("--start", start,
                 "Simulation only: the site calendar starts at this RFC 3339 time");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto logger = spdlog::stderr_color_mt("plantd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (!check_file.empty())
    return check_config(check_file, tables_dir);
  if (config_file.empty()) {
    std::cerr << "plantd: --config FILE is required (or --check-config FILE)\n"
              << "Run with --help for more information.\n";
    return 2;
  }
  if (socket == "default")
    socket = (std::filesystem::path{data_dir} / "plantd.sock").string();
  int rc = run({config_file, data_dir, listen, socket, tls, force_tls, tables_dir, time_scale,
                start, metrics_listen});
  // Everything plantd owns is closed by now (actors done, server shut down,
  // the store closed). Skip the destructors of the libraries' globals: their
  // own background threads may still be winding down, and a global torn
  // down under them crashes an otherwise clean stop.
  spdlog::shutdown();
  std::fflush(nullptr);
  std::_Exit(rc);
}
