// PlantService over gRPC (callback API): configuration and identity of the
// plant. An adapter: proto -> model, ask the config actor, model -> proto.
#pragma once

#include <memory>

#include "actors/config_actor.hpp"
#include "actors/uplink_actor.hpp"
#include "drivers/store/store.hpp"
#include "services/commissioning.hpp"
#include "plantd/v1/plant_service.grpc.pb.h"

namespace plantd::services {

class plant_service final : public v1::PlantService::CallbackService {
public:
  // `view` and `db` (the config history) may be null: the calls that need
  // them answer UNAVAILABLE.
  plant_service(caf::actor_system& sys, actors::config_actor config,
                std::shared_ptr<const actors::config_view> view = nullptr,
                std::shared_ptr<store::store> db = nullptr, std::string tls_fingerprint = {});

  // GetInfo reports the uplink's state from here (none: disabled).
  void set_uplink(std::shared_ptr<const actors::uplink_monitor> monitor) {
    uplink_ = std::move(monitor);
  }

  // Commission runs here (none: UNAVAILABLE).
  void set_commissioning(std::shared_ptr<commissioning> c) { commissioning_ = std::move(c); }
  // Ends a commissioning run (its battery hold cleared) before the server stops.
  void stop_commissioning() {
    if (commissioning_)
      commissioning_->shutdown();
  }

  grpc::ServerWriteReactor<v1::CommissionUpdate>*
  Commission(grpc::CallbackServerContext* ctx, const v1::CommissionRequest* req) override;
  grpc::ServerUnaryReactor* GetCommissionReport(grpc::CallbackServerContext* ctx,
                                                const v1::GetCommissionReportRequest* req,
                                                v1::CommissionReport* resp) override;
  grpc::ServerUnaryReactor* ExportCommissionReport(grpc::CallbackServerContext* ctx,
                                                   const v1::ExportCommissionReportRequest* req,
                                                   v1::CommissionReportFile* resp) override;
  grpc::ServerUnaryReactor* SetTime(grpc::CallbackServerContext* ctx, const v1::SetTimeRequest* req,
                                    v1::SetTimeResponse* resp) override;

  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* ctx, const v1::GetInfoRequest* req,
                                    v1::GetInfoResponse* resp) override;

  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* ctx,
                                      const v1::GetConfigRequest* req,
                                      v1::GetConfigResponse* resp) override;

  grpc::ServerUnaryReactor* ValidateConfig(grpc::CallbackServerContext* ctx,
                                           const v1::ValidateConfigRequest* req,
                                           v1::ValidateConfigResponse* resp) override;

  grpc::ServerUnaryReactor* ApplyConfig(grpc::CallbackServerContext* ctx,
                                        const v1::ApplyConfigRequest* req,
                                        v1::ApplyConfigResponse* resp) override;
  grpc::ServerUnaryReactor* PatchConfig(grpc::CallbackServerContext* ctx,
                                        const v1::PatchConfigRequest* req,
                                        v1::ApplyConfigResponse* resp) override;
  grpc::ServerUnaryReactor* RollbackConfig(grpc::CallbackServerContext* ctx,
                                           const v1::RollbackConfigRequest* req,
                                           v1::ApplyConfigResponse* resp) override;
  grpc::ServerUnaryReactor* ListConfigVersions(grpc::CallbackServerContext* ctx,
                                               const v1::ListConfigVersionsRequest* req,
                                               v1::ListConfigVersionsResponse* resp) override;
  grpc::ServerUnaryReactor* DiffConfig(grpc::CallbackServerContext* ctx,
                                       const v1::DiffConfigRequest* req,
                                       v1::DiffConfigResponse* resp) override;

private:
  // Checks `next` and hands it to the config actor; finishes the call.
  void apply(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor,
             v1::PlantConfig next, actors::change_info info, v1::ApplyConfigResponse* resp);

  caf::actor_system& sys_;
  actors::config_actor config_;
  std::shared_ptr<const actors::config_view> view_;
  std::shared_ptr<store::store> db_;
  std::string tls_fingerprint_;
  std::shared_ptr<const actors::uplink_monitor> uplink_;
  std::shared_ptr<commissioning> commissioning_;
};

}  // namespace plantd::services
