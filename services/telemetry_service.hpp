// TelemetryService over gRPC: history straight from the store's thread-safe
// read path (no actor hop: queries never queue behind the control path).
#pragma once

#include <memory>

#include "actors/state_hub.hpp"
#include "drivers/store/store.hpp"
#include "plantd/v1/telemetry.grpc.pb.h"
#include "services/history_wire.hpp"
#include "services/raw_methods.hpp"

namespace plantd::services {

// QueryHistory is served raw (wire bytes in and out) so that its compact
// answer goes out from warm scratch without a copy (services/history_wire);
// it is listed in services/raw_methods.hpp for the interceptors.
class telemetry_service final : public v1::TelemetryService::WithRawCallbackMethod_QueryHistory<
                                  v1::TelemetryService::CallbackService> {
public:
  telemetry_service(std::shared_ptr<store::store> db, std::shared_ptr<actors::state_hub> hub)
    : db_(std::move(db)),
      hub_(std::move(hub)),
      scratch_(std::make_shared<history_scratch_pool>()) {
    static_assert(raw_request_type("/plantd.v1.TelemetryService/QueryHistory")
                    == "plantd.v1.QueryHistoryRequest",
                  "a raw method is listed in services/raw_methods.hpp");
  }

  grpc::ServerUnaryReactor* ListSeries(grpc::CallbackServerContext* ctx,
                                       const v1::ListSeriesRequest* req,
                                       v1::ListSeriesResponse* resp) override;
  grpc::ServerUnaryReactor* QueryHistory(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* EnergyCurve(grpc::CallbackServerContext* ctx,
                                        const v1::EnergyCurveRequest* req,
                                        v1::EnergyCurveResponse* resp) override;
  grpc::ServerWriteReactor<v1::ExportChunk>* Export(grpc::CallbackServerContext* ctx,
                                                    const v1::ExportRequest* req) override;
  grpc::ServerUnaryReactor* GetSnapshot(grpc::CallbackServerContext* ctx,
                                        const v1::GetSnapshotRequest* req,
                                        v1::PlantState* resp) override;
  grpc::ServerWriteReactor<v1::PlantState>*
  StreamTelemetry(grpc::CallbackServerContext* ctx, const v1::StreamTelemetryRequest* req) override;

private:
  // QueryHistory's answer into `out`, or why not.
  grpc::Status history(const v1::QueryHistoryRequest& req, grpc::ByteBuffer& out);

  std::shared_ptr<store::store> db_;
  std::shared_ptr<actors::state_hub> hub_;
  std::shared_ptr<history_scratch_pool> scratch_;
};

}  // namespace plantd::services
