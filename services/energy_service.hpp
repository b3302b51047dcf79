// EnergyCarbonService: the energy-carbon model, entries, values and reports.
// The energy actor makes the changes and answers queries and single
// records; exports, checks and plans read a shared snapshot of the model
// off the actor; reports and files are rendered here.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/energy_actor.hpp"
#include "plantd/v1/energy.grpc.pb.h"

namespace plantd::services {

class energy_service final : public v1::EnergyCarbonService::CallbackService {
public:
  energy_service(caf::actor_system& sys, actors::energy_api energy)
    : sys_(sys),
      energy_(std::move(energy)) {}

  using Ctx = grpc::CallbackServerContext;
  grpc::ServerUnaryReactor* GetModel(Ctx*, const v1::GetModelRequest*, v1::EnergyModel*) override;
  grpc::ServerUnaryReactor* ImportModel(Ctx*, const v1::EnergyModel*,
                                        v1::ImportModelResponse*) override;
  grpc::ServerUnaryReactor* Put(Ctx*, const v1::PutRequest*, v1::PutResponse*) override;
  grpc::ServerUnaryReactor* Delete(Ctx*, const v1::DeleteRequest*, v1::DeleteResponse*) override;
  grpc::ServerUnaryReactor* WhereUsed(Ctx*, const v1::DeleteRequest*,
                                      v1::WhereUsedResponse*) override;
  grpc::ServerUnaryReactor* ValidateFormula(Ctx*, const v1::ValidateFormulaRequest*,
                                            v1::ValidateFormulaResponse*) override;
  grpc::ServerUnaryReactor* EnterDaily(Ctx*, const v1::EnterDailyRequest*,
                                       v1::EnterDailyResponse*) override;
  grpc::ServerUnaryReactor* ListEntries(Ctx*, const v1::ListEntriesRequest*,
                                        v1::ListEntriesResponse*) override;
  grpc::ServerUnaryReactor* RecordReading(Ctx*, const v1::RecordReadingRequest*,
                                          v1::RecordReadingResponse*) override;
  grpc::ServerUnaryReactor* Get(Ctx*, const v1::GetRecordRequest*, v1::Record*) override;
  grpc::ServerUnaryReactor* Update(Ctx*, const v1::UpdateRequest*, v1::PutResponse*) override;
  grpc::ServerUnaryReactor* PutMany(Ctx*, const v1::PutManyRequest*, v1::PutManyResponse*) override;
  grpc::ServerWriteReactor<v1::ReportChunk>*
  ExportEntries(Ctx*, const v1::ExportEntriesRequest*) override;
  grpc::ServerWriteReactor<v1::ReportChunk>*
  ExportModelTable(Ctx*, const v1::ExportModelTableRequest*) override;
  grpc::ServerUnaryReactor* ImportModelTable(Ctx*, const v1::ImportModelTableRequest*,
                                             v1::ImportModelTableResponse*) override;
  grpc::ServerUnaryReactor* ImportEntries(Ctx*, const v1::ImportEntriesRequest*,
                                          v1::ImportEntriesResponse*) override;
  grpc::ServerUnaryReactor* RecordReadings(Ctx*, const v1::RecordReadingsRequest*,
                                           v1::RecordReadingsResponse*) override;
  grpc::ServerReadReactor<v1::RecordReadingsRequest>*
  StreamReadings(Ctx*, v1::RecordReadingsResponse*) override;
  grpc::ServerUnaryReactor* SwapMeter(Ctx*, const v1::SwapMeterRequest*,
                                      v1::RecordReadingResponse*) override;
  grpc::ServerUnaryReactor* Query(Ctx*, const v1::QueryRequest*, v1::QueryResponse*) override;
  grpc::ServerWriteReactor<v1::ReportChunk>* ExportReport(Ctx*,
                                                          const v1::ExportReportRequest*) override;
  grpc::ServerUnaryReactor* GetCoverage(Ctx*, const v1::GetCoverageRequest*,
                                        v1::GetCoverageResponse*) override;
  grpc::ServerUnaryReactor* ListAudit(Ctx*, const v1::ListAuditRequest*,
                                      v1::ListAuditResponse*) override;

private:
  caf::actor_system& sys_;
  actors::energy_api energy_;
};

}  // namespace plantd::services
