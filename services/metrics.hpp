// plantd's own health in the Prometheus text format (version 0.0.4), served
// at http://LISTEN/metrics (plantd --metrics-listen): the control loop's
// decisions and their latency, Modbus requests and failures per device,
// the store and the uplink, the process. No authentication: listen on
// loopback (or a management network) only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "actors/state_hub.hpp"
#include "actors/uplink_actor.hpp"
#include "drivers/store/store.hpp"

namespace plantd::services {

struct metrics_sources {
  std::shared_ptr<actors::state_hub> hub;
  std::shared_ptr<store::store> db;
  std::shared_ptr<const actors::uplink_monitor> uplink;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// The exposition text.
std::string render_metrics(const metrics_sources& src);

// A label value escaped for the text format (\\, \", \n).
std::string escape_label(std::string_view v);

class metrics_server {
public:
  // Listens on HOST:PORT (port 0: any free port); throws
  // std::runtime_error when it cannot.
  metrics_server(const std::string& listen, metrics_sources src);
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  int port() const noexcept { return port_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int port_ = 0;
};

}  // namespace plantd::services
