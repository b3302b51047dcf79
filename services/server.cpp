#include "services/server.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>

#include "services/alarm_service.hpp"
#include "services/control_service.hpp"
#include "services/energy_service.hpp"
#include "services/plant_service.hpp"
#include "services/statistics_service.hpp"
#include "services/telemetry_service.hpp"

namespace plantd::services {

struct server::impl {
  explicit impl(server_args& args) : plant(*args.sys, args.config) {
    if (args.supervisor && args.hub)
      control = std::make_unique<control_service>(*args.sys, args.supervisor, args.config, args.hub);
    if (args.db)
      telemetry = std::make_unique<telemetry_service>(args.db, args.hub);
    if (args.alarms)
      alarm = std::make_unique<alarm_service>(
        *args.sys, args.alarms,
        args.alarm_hub ? args.alarm_hub : std::make_shared<actors::alarm_hub>());
    if (args.plant && args.hub && args.db)
      statistics = std::make_unique<statistics_service>(*args.plant, args.hub, args.db);
    if (args.energy)
      energy = std::make_unique<energy_service>(*args.sys, args.energy);
  }
  plant_service plant;
  std::unique_ptr<control_service> control;
  std::unique_ptr<telemetry_service> telemetry;
  std::unique_ptr<alarm_service> alarm;
  std::unique_ptr<statistics_service> statistics;
  std::unique_ptr<energy_service> energy;
  std::unique_ptr<grpc::Server> grpc_server;
};

server::server(server_args args) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  impl_ = std::make_unique<impl>(args);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(args.listen, grpc::InsecureServerCredentials(), &port_);
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
  if (!impl_->grpc_server || port_ == 0)
    throw std::runtime_error(fmt::format("cannot listen on {}", args.listen));
  impl_->grpc_server->GetHealthCheckService()->SetServingStatus(true);
}

server::~server() {
  if (impl_ && impl_->grpc_server)
    shutdown(std::chrono::milliseconds{0});
}

void server::shutdown(std::chrono::milliseconds grace) {
  if (!impl_->grpc_server)
    return;
  impl_->grpc_server->GetHealthCheckService()->SetServingStatus(false);
  impl_->grpc_server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->grpc_server->Wait();
  impl_->grpc_server.reset();
}

} // namespace plantd::services
