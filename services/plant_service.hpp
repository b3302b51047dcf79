// PlantService over gRPC (callback API): configuration and identity of the
// plant. An adapter: proto -> model, ask the config actor, model -> proto.
#pragma once

#include "actors/config_actor.hpp"
#include "plantd/v1/plant_service.grpc.pb.h"

namespace plantd::services {

class plant_service final : public v1::PlantService::CallbackService {
public:
  plant_service(caf::actor_system& sys, actors::config_actor config,
                std::string tls_fingerprint = {});

  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* ctx,
                                    const v1::GetInfoRequest* req,
                                    v1::GetInfoResponse* resp) override;

  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* ctx,
                                      const v1::GetConfigRequest* req,
                                      v1::GetConfigResponse* resp) override;

  grpc::ServerUnaryReactor* ValidateConfig(grpc::CallbackServerContext* ctx,
                                           const v1::ValidateConfigRequest* req,
                                           v1::ValidateConfigResponse* resp) override;

private:
  caf::actor_system& sys_;
  actors::config_actor config_;
  std::string tls_fingerprint_;
};

} // namespace plantd::services
