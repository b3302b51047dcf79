// TelemetryService over gRPC: history straight from the store's thread-safe
// read path (no actor hop: queries never queue behind the control path).
#pragma once

#include <memory>

#include "actors/state_hub.hpp"
#include "drivers/store/store.hpp"
#include "plantd/v1/telemetry.grpc.pb.h"

namespace plantd::services {

class telemetry_service final : public v1::TelemetryService::CallbackService {
public:
  telemetry_service(std::shared_ptr<store::store> db, std::shared_ptr<actors::state_hub> hub)
    : db_(std::move(db)), hub_(std::move(hub)) {}

  grpc::ServerUnaryReactor* ListSeries(grpc::CallbackServerContext* ctx,
                                       const v1::ListSeriesRequest* req,
                                       v1::ListSeriesResponse* resp) override;
  grpc::ServerUnaryReactor* QueryHistory(grpc::CallbackServerContext* ctx,
                                         const v1::QueryHistoryRequest* req,
                                         v1::QueryHistoryResponse* resp) override;
  grpc::ServerUnaryReactor* EnergyCurve(grpc::CallbackServerContext* ctx,
                                        const v1::EnergyCurveRequest* req,
                                        v1::EnergyCurveResponse* resp) override;
  grpc::ServerWriteReactor<v1::ExportChunk>* Export(grpc::CallbackServerContext* ctx,
                                                    const v1::ExportRequest* req) override;
  grpc::ServerUnaryReactor* GetSnapshot(grpc::CallbackServerContext* ctx,
                                        const v1::GetSnapshotRequest* req,
                                        v1::PlantState* resp) override;
  grpc::ServerWriteReactor<v1::PlantState>* StreamTelemetry(
    grpc::CallbackServerContext* ctx, const v1::StreamTelemetryRequest* req) override;

private:
  std::shared_ptr<store::store> db_;
  std::shared_ptr<actors::state_hub> hub_;
};

} // namespace plantd::services
