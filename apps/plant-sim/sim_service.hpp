// SimService over gRPC: plant-sim's fault injection and state.
#pragma once

#include "drivers/sim/plant_sim.hpp"
#include "plantd/v1/sim.grpc.pb.h"

namespace plantd::apps {

class sim_service final : public v1::SimService::CallbackService {
public:
  explicit sim_service(sim::plant_sim& sim)
    : sim_(sim) {}

  grpc::ServerUnaryReactor* GetSimState(grpc::CallbackServerContext* ctx,
                                        const v1::GetSimStateRequest* req,
                                        v1::SimState* resp) override;
  grpc::ServerUnaryReactor* InjectFault(grpc::CallbackServerContext* ctx,
                                        const v1::InjectFaultRequest* req,
                                        v1::InjectFaultResponse* resp) override;
  grpc::ServerUnaryReactor* ClearFaults(grpc::CallbackServerContext* ctx,
                                        const v1::ClearFaultsRequest* req,
                                        v1::ClearFaultsResponse* resp) override;
  grpc::ServerUnaryReactor* SetInputs(grpc::CallbackServerContext* ctx,
                                      const v1::SetInputsRequest* req,
                                      v1::SetInputsResponse* resp) override;
  grpc::ServerUnaryReactor* SetLoad(grpc::CallbackServerContext* ctx, const v1::SetLoadRequest* req,
                                    v1::SetLoadResponse* resp) override;

private:
  sim::plant_sim& sim_;
};

}  // namespace plantd::apps
