#include "services/metrics.hpp"

#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "drivers/modbus/traffic.hpp"

namespace plantd::services {

namespace {

class writer {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, double v, std::string_view labels = {}) {
    if (labels.empty())
      out += fmt::format("{} {}\n", name, v);
    else
      out += fmt::format("{}{{{}}} {}\n", name, labels, v);
  }
  void one(std::string_view name, std::string_view type, std::string_view help, double v) {
    family(name, type, help);
    sample(name, v);
  }
  std::string out;
};

struct resident {
  long total = 0;
  long file = 0;  // mapped files and shared memory: the program and its libraries
};

resident resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  long pages = 0, total = 0, shared = 0;
  statm >> pages >> total >> shared;
  auto page = ::sysconf(_SC_PAGESIZE);
  return {total * page, shared * page};
}

}  // namespace

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char ch : v) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '"')
      out += "\\\"";
    else if (ch == '\n')
      out += "\\n";
    else
      out.push_back(ch);
  }
  return out;
}

std::string render_metrics(const metrics_sources& src) {
  writer w;
  auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - src.started);
  w.one("plantd_uptime_seconds", "gauge", "Seconds since plantd started.", uptime.count());
  auto rss = resident_bytes();
  w.one("plantd_process_resident_bytes", "gauge", "Resident memory of plantd.",
        static_cast<double>(rss.total));
  // Where the resident memory goes: a slow climb shows up in one part.
  auto heap = ::mallinfo2();
  w.family("plantd_memory_bytes", "gauge",
           "Memory by part: resident anonymous and file-backed; the C heap in use, free but "
           "held, and mapped apart; the store's memtables, block cache (charged with the "
           "memtables' reservation) and table readers.");
  w.sample("plantd_memory_bytes", static_cast<double>(rss.total - rss.file),
           "part=\"resident_anon\"");
  w.sample("plantd_memory_bytes", static_cast<double>(rss.file), "part=\"resident_file\"");
  w.sample("plantd_memory_bytes", static_cast<double>(heap.uordblks), "part=\"heap_in_use\"");
  w.sample("plantd_memory_bytes", static_cast<double>(heap.fordblks), "part=\"heap_free\"");
  w.sample("plantd_memory_bytes", static_cast<double>(heap.hblkhd), "part=\"heap_mmapped\"");
  if (src.db) {
    auto m = src.db->memory();
    w.sample("plantd_memory_bytes", static_cast<double>(m.memtables), "part=\"store_memtables\"");
    w.sample("plantd_memory_bytes", static_cast<double>(m.block_cache),
             "part=\"store_block_cache\"");
    w.sample("plantd_memory_bytes", static_cast<double>(m.table_readers),
             "part=\"store_table_readers\"");
  }

  if (src.hub) {
    if (auto [s, seq] = src.hub->latest(); s) {
      w.one("plantd_decisions_total", "counter", "Control decisions made since start.",
            static_cast<double>(s->decisions));
      w.family("plantd_decision_latency_seconds", "histogram",
               "Fast path: grid-meter reading complete to setpoints handed to the devices.");
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i < s->latency_counts.size(); ++i) {
        cumulative += s->latency_counts[i];
        auto le = i < actors::latency_bounds_us.size()
                    ? fmt::format("{}", actors::latency_bounds_us[i] / 1e6)
                    : std::string{"+Inf"};
        w.sample("plantd_decision_latency_seconds_bucket", static_cast<double>(cumulative),
                 fmt::format("le=\"{}\"", le));
      }
      w.sample("plantd_decision_latency_seconds_sum", s->latency_sum_us / 1e6);
      w.sample("plantd_decision_latency_seconds_count", static_cast<double>(cumulative));
      w.family("plantd_decision_latency_window_seconds", "gauge",
               "Fast-path latency percentiles over the last 16,384 to 32,768 decisions.");
      w.sample("plantd_decision_latency_window_seconds", s->latency_p50_us / 1e6,
               "quantile=\"0.5\"");
      w.sample("plantd_decision_latency_window_seconds", s->latency_p99_us / 1e6,
               "quantile=\"0.99\"");
      w.one("plantd_decision_latency_window_decisions", "gauge",
            "Decisions the latency percentiles are over.", s->latency_window);
    }
  }

  auto rows = modbus::traffic();
  w.family("plantd_modbus_requests_total", "counter", "Modbus requests by link and unit.");
  for (const auto& r : rows)
    w.sample("plantd_modbus_requests_total", static_cast<double>(r.requests),
             fmt::format("device=\"{}\",link=\"{}\",unit=\"{}\"", escape_label(r.device),
                         escape_label(r.link), r.unit));
  w.family("plantd_modbus_failures_total", "counter",
           "Modbus requests that failed (no answer, exception, bad frame).");
  for (const auto& r : rows)
    w.sample("plantd_modbus_failures_total", static_cast<double>(r.failures),
             fmt::format("device=\"{}\",link=\"{}\",unit=\"{}\"", escape_label(r.device),
                         escape_label(r.link), r.unit));

  if (src.db) {
    auto h = src.db->health();
    w.one("plantd_store_disk_bytes", "gauge", "The store's live files and write-ahead log.",
          static_cast<double>(src.db->disk_bytes()));
    w.one("plantd_store_wal_bytes", "gauge", "The store's live write-ahead log.",
          static_cast<double>(src.db->wal_bytes()));
    w.one("plantd_store_degraded", "gauge", "1 while the store refuses writes (a full disk).",
          h.degraded ? 1 : 0);
    w.one("plantd_store_refused_writes_total", "counter", "Writes refused since start.",
          static_cast<double>(h.refused_writes));
  }

  if (src.uplink) {
    auto u = src.uplink->get();
    w.one("plantd_uplink_enabled", "gauge", "1 while the uplink is on.", u.enabled);
    w.one("plantd_uplink_connected", "gauge", "1 when the last request was acknowledged.",
          u.connected);
    w.one("plantd_uplink_lag_seconds", "gauge", "How far the uplink is behind the store.",
          static_cast<double>(u.lag_ms) / 1000);
    w.one("plantd_uplink_backlog_samples", "gauge", "Samples still to send (estimated).",
          static_cast<double>(u.backlog_samples));
    w.one("plantd_uplink_sent_samples_total", "counter", "Samples acknowledged since start.",
          static_cast<double>(u.sent_samples));
    w.one("plantd_uplink_requests_total", "counter", "Remote-write requests since start.",
          static_cast<double>(u.sent_requests));
    w.one("plantd_uplink_failed_requests_total", "counter", "Requests not acknowledged.",
          static_cast<double>(u.failed_requests));
    w.one("plantd_uplink_rejected_samples_total", "counter",
          "Samples the receiver refused (400/413/422).", static_cast<double>(u.rejected_samples));
    w.one("plantd_uplink_lost_samples_total", "counter",
          "Samples removed by retention or the disk budget before they were sent.",
          static_cast<double>(u.lost_samples));
    w.one("plantd_uplink_last_success_timestamp_seconds", "gauge",
          "When a request was last acknowledged.", static_cast<double>(u.last_success_ms) / 1000);
  }
  return std::move(w.out);
}

struct metrics_server::impl {
  httplib::Server svr;
  std::thread thread;
};

metrics_server::metrics_server(const std::string& listen, metrics_sources src)
  : impl_(std::make_unique<impl>()) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("--metrics-listen: HOST:PORT expected, got \"" + listen + "\"");
  auto host = listen.substr(0, colon);
  if (host.starts_with("[") && host.ends_with("]"))
    host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    throw std::runtime_error("--metrics-listen: bad port in \"" + listen + "\"");
  }
  auto& svr = impl_->svr;
  // One thread: a scrape is a few kB; a stuck client is cut by the timeouts.
  svr.new_task_queue = [] { return new httplib::ThreadPool(1); };
  svr.set_read_timeout(5, 0);
  svr.set_write_timeout(5, 0);
  svr.set_payload_max_length(4096);
  svr.Get("/metrics", [src = std::move(src)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_metrics(src), "text/plain; version=0.0.4; charset=utf-8");
  });
  port_ = port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
  if (port_ <= 0)
    throw std::runtime_error("--metrics-listen: cannot listen on " + listen);
  impl_->thread = std::thread{[this] { impl_->svr.listen_after_bind(); }};
}

metrics_server::~metrics_server() {
  impl_->svr.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

}  // namespace plantd::services
