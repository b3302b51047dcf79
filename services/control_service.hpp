// ControlService over gRPC: the plant state (from the state hub) and the
// working mode / manual setpoint (asked of the supervisor).
#pragma once

#include <caf/actor.hpp>

#include "actors/state_hub.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "plantd/v1/control.grpc.pb.h"
#include "actors/config_actor.hpp"
#include "services/state_stream.hpp"

namespace plantd::services {

class control_service final : public v1::ControlService::CallbackService {
public:
  control_service(caf::actor_system& sys, actors::supervisor_api supervisor,
                  actors::config_actor config, std::shared_ptr<actors::state_hub> hub);

  grpc::ServerUnaryReactor* GetState(grpc::CallbackServerContext* ctx,
                                     const v1::GetStateRequest* req, v1::PlantState* resp) override;
  grpc::ServerWriteReactor<v1::PlantState>* StreamState(grpc::CallbackServerContext* ctx,
                                                        const v1::StreamStateRequest* req) override;
  grpc::ServerUnaryReactor* SetMode(grpc::CallbackServerContext* ctx, const v1::SetModeRequest* req,
                                    v1::SetModeResponse* resp) override;
  grpc::ServerUnaryReactor* SetManualSetpoint(grpc::CallbackServerContext* ctx,
                                              const v1::SetManualSetpointRequest* req,
                                              v1::SetManualSetpointResponse* resp) override;

private:
  caf::actor_system& sys_;
  actors::supervisor_api supervisor_;
  actors::config_actor config_;
  std::shared_ptr<actors::state_hub> hub_;
};

}  // namespace plantd::services
