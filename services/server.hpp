// The gRPC server of plantd: every service, standard health checking and
// server reflection, built in one place.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "actors/config_actor.hpp"
#include "actors/uplink_actor.hpp"
#include "services/accounts.hpp"
#include "services/audit_log.hpp"
#include "actors/alarm_actor.hpp"
#include "actors/energy_actor.hpp"
#include "actors/alarm_hub.hpp"
#include "actors/state_hub.hpp"
#include "actors/supervisor.hpp"
#include "drivers/store/store.hpp"

namespace grpc {
class Server;
}

namespace plantd::services {

// The largest request plantd accepts: an ImportModel of a 100,000-node
// energy tree is about 10 MB (gRPC's default limit is 4 MB).
inline constexpr int max_message_bytes = 64 << 20;
// gRPC's buffers of every connection together (a model import of the 100k
// tree is ~11 MB on the wire).
inline constexpr std::size_t resource_quota_bytes = 96u << 20;
inline constexpr int max_streams_per_connection = 32;

// TLS for the TCP listener, as PEM text.
struct tls_material {
  std::string cert_chain;
  std::string private_key;
  // Client certificates signed by this CA authenticate (mutual TLS); empty:
  // clients authenticate with tokens only.
  std::string client_ca;
  std::string fingerprint_sha256;  // of the server certificate, for GetInfo
};

struct server_args {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 picks a free one; empty: none
  // Serves the same API on a Unix-domain socket (empty: none). Its callers
  // act as the local principal (role local): the socket's file permissions
  // (0660, and its directory's) decide who may connect.
  std::string socket;
  // Without TLS the TCP listener must be a loopback address.
  std::optional<tls_material> tls;
  // Who may do what; every call passes the gate (services/access_gate).
  std::shared_ptr<services::accounts> accounts;
  std::shared_ptr<audit_log> audit;
  caf::actor_system* sys = nullptr;
  actors::config_actor config;
  // The controller; without it ControlService is not offered.
  actors::supervisor_api supervisor;
  std::shared_ptr<actors::state_hub> hub;
  // The telemetry store; without it TelemetryService is not offered.
  std::shared_ptr<store::store> db;
  // The alarm actor; without it AlarmService is not offered.
  actors::alarm_api alarms;
  std::shared_ptr<actors::alarm_hub> alarm_hub;
  // The config in force (set by the config actor). With hub and db:
  // StatisticsService for this plant; with db: the config history.
  std::shared_ptr<actors::config_view> config_view;
  // The energy actor; without it EnergyCarbonService is not offered.
  actors::energy_api energy;
  // The uplink's state, for GetInfo.
  std::shared_ptr<const actors::uplink_monitor> uplink;
};

// Whether HOST:PORT names a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(std::string_view listen);

class server {
public:
  // Builds and starts the server. Throws std::runtime_error when it cannot
  // listen (the one place plantd's start-up may fail after the config).
  explicit server(server_args args);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // The port actually bound.
  int port() const noexcept { return port_; }

  // Stops accepting calls; calls in flight get `grace` to finish.
  void shutdown(std::chrono::milliseconds grace);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int port_ = 0;
};

}  // namespace plantd::services
