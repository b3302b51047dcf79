#include "services/server.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "services/access_gate.hpp"
#include "services/access_service.hpp"
#include "services/alarm_service.hpp"
#include "services/local_socket.hpp"
#include "services/control_service.hpp"
#include "services/energy_service.hpp"
#include "services/plant_service.hpp"
#include "services/statistics_service.hpp"
#include "services/telemetry_service.hpp"

namespace plantd::services {

struct server::impl {
  explicit impl(server_args& args)
    : plant(*args.sys, args.config, args.config_view, args.db,
            args.tls ? args.tls->fingerprint_sha256 : std::string{}),
      access(args.accounts),
      audit(args.audit) {
    plant.set_uplink(args.uplink);
    if (args.supervisor && args.hub && args.config_view)
      plant.set_commissioning(std::make_shared<commissioning>(
        commissioning_args{args.sys, args.supervisor, args.hub, args.config_view, args.db}));
    if (args.supervisor && args.hub)
      control =
        std::make_unique<control_service>(*args.sys, args.supervisor, args.config, args.hub);
    if (args.db)
      telemetry = std::make_unique<telemetry_service>(args.db, args.hub);
    if (args.alarms)
      alarm = std::make_unique<alarm_service>(
        *args.sys, args.alarms,
        args.alarm_hub ? args.alarm_hub : std::make_shared<actors::alarm_hub>());
    if (args.config_view && args.hub && args.db)
      statistics = std::make_unique<statistics_service>(args.config_view, args.hub, args.db);
    if (args.energy)
      energy = std::make_unique<energy_service>(*args.sys, args.energy);
  }
  plant_service plant;
  access_service access;
  audit_service audit;
  std::unique_ptr<control_service> control;
  std::unique_ptr<telemetry_service> telemetry;
  std::unique_ptr<alarm_service> alarm;
  std::unique_ptr<statistics_service> statistics;
  std::unique_ptr<energy_service> energy;
  std::unique_ptr<grpc::Server> grpc_server;
  std::unique_ptr<local_socket> socket;
};

bool is_loopback(std::string_view listen) {
  // HOST:PORT; [v6]:PORT. An address, not a name that starts like one.
  auto colon = listen.rfind(':');
  auto host =
    std::string{listen.substr(0, colon == std::string_view::npos ? listen.size() : colon)};
  if (host.starts_with("[") && host.ends_with("]"))
    host = host.substr(1, host.size() - 2);
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

server::server(server_args args) {
  if (!args.accounts || !args.audit)
    throw std::runtime_error("the server needs accounts and an audit log");
  if (!args.listen.empty() && !args.tls && !is_loopback(args.listen))
    throw std::runtime_error(
      fmt::format("refusing to serve plain text on {}: only a loopback address may go without TLS "
                  "(give --tls-cert and --tls-key, or let plantd make its own certificate)",
                  args.listen));
  // Health checking and reflection carry no credentials: offered only when
  // every listener is local (loopback or the socket).
  bool local_only = args.listen.empty() || is_loopback(args.listen);
  grpc::EnableDefaultHealthCheckService(local_only);
  if (local_only)
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  impl_ = std::make_unique<impl>(args);
  grpc::ServerBuilder builder;
  if (!args.listen.empty()) {
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (args.tls) {
      grpc::SslServerCredentialsOptions ssl{args.tls->client_ca.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY};
      ssl.pem_root_certs = args.tls->client_ca;
      ssl.pem_key_cert_pairs.push_back({args.tls->private_key, args.tls->cert_chain});
      creds = grpc::SslServerCredentials(ssl);
    }
    builder.AddListeningPort(args.listen, creds, &port_);
  }
  if (!args.socket.empty()) {
    auto sock = local_socket::open(args.socket);
    if (!sock)
      throw std::runtime_error(sock.error());
    impl_->socket = std::move(sock.value());
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> gates;
  gates.push_back(std::make_unique<access_gate>(args.accounts, args.audit));
  builder.experimental().SetInterceptorCreators(std::move(gates));
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  // gRPC sizes each connection's read buffer to the messages it has seen
  // (up to 4 MB) and keeps it allocated while the connection is open: one
  // model import left ~8 MB held per client. 256 KB reads cost a few more
  // syscalls on a rare large message and keep an idle connection small.
  builder.AddChannelArgument(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 256 * 1024);
  // Bounded memory whatever the clients do: gRPC's buffers share one quota
  // (a request that needs more waits or fails, plantd does not grow), and a
  // connection carries at most 32 calls at once.
  grpc::ResourceQuota quota{"plantd"};
  quota.Resize(resource_quota_bytes);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, max_streams_per_connection);
  builder.RegisterService(&impl_->plant);
  builder.RegisterService(&impl_->access);
  builder.RegisterService(&impl_->audit);
  if (impl_->control)
    builder.RegisterService(impl_->control.get());
  if (impl_->telemetry)
    builder.RegisterService(impl_->telemetry.get());
  if (impl_->alarm)
    builder.RegisterService(impl_->alarm.get());
  if (impl_->statistics)
    builder.RegisterService(impl_->statistics.get());
  if (impl_->energy)
    builder.RegisterService(impl_->energy.get());
  impl_->grpc_server = builder.BuildAndStart();
  if (!impl_->grpc_server || (!args.listen.empty() && port_ == 0))
    throw std::runtime_error(fmt::format("cannot listen on {}", args.listen));
  if (impl_->socket)
    impl_->socket->start(impl_->grpc_server.get());
  if (auto* health = impl_->grpc_server->GetHealthCheckService())
    health->SetServingStatus(true);
}

server::~server() {
  if (impl_ && impl_->grpc_server)
    shutdown(std::chrono::milliseconds{0});
}

void server::shutdown(std::chrono::milliseconds grace) {
  if (!impl_->grpc_server)
    return;
  if (auto* health = impl_->grpc_server->GetHealthCheckService())
    health->SetServingStatus(false);
  if (impl_->socket)
    impl_->socket->stop();
  impl_->plant.stop_commissioning();
  impl_->grpc_server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->grpc_server->Wait();
  impl_->grpc_server.reset();
}

}  // namespace plantd::services
