#include "apps/plant-sim/sim_service.hpp"

#include <google/protobuf/util/time_util.h>

namespace plantd::apps {

namespace {

grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, grpc::Status st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(std::move(st));
  return r;
}

grpc::Status from(const expected<void, std::string>& r) {
  if (r)
    return grpc::Status::OK;
  return {grpc::StatusCode::INVALID_ARGUMENT, r.error()};
}

}  // namespace

grpc::ServerUnaryReactor* sim_service::GetSimState(grpc::CallbackServerContext* ctx,
                                                   const v1::GetSimStateRequest*,
                                                   v1::SimState* resp) {
  auto s = sim_.snapshot();
  *resp->mutable_sim_time() =
    google::protobuf::util::TimeUtil::MillisecondsToTimestamp(s.now.time_since_epoch().count());
  resp->set_load_w(s.plant.load_w);
  resp->set_pv_w(s.plant.pv_w);
  resp->set_grid_w(s.plant.grid_w);
  resp->set_battery_w(s.plant.battery_w);
  resp->set_import_wh(s.plant.import_wh);
  resp->set_export_wh(s.plant.export_wh);
  for (const auto& c : s.plant.cabinets) {
    auto* out = resp->add_cabinets();
    out->set_id(c.id);
    out->set_soc_percent(c.soc);
    out->set_power_w(c.power_w);
    out->set_setpoint_w(c.setpoint_w);
    out->set_allowed_charge_w(c.allowed_charge_w());
    out->set_allowed_discharge_w(c.allowed_discharge_w());
    out->set_cell_temperature_c(c.cell_temp_c);
  }
  for (const auto& inv : s.plant.inverters) {
    auto* out = resp->add_inverters();
    out->set_id(inv.id);
    out->set_power_w(inv.power_w);
    out->set_available_w(inv.available_w);
    out->set_limit_percent(inv.limit_percent);
  }
  resp->set_do1(s.outputs[0]);
  resp->set_do2(s.outputs[1]);
  resp->set_requests_answered(s.requests_answered);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* sim_service::InjectFault(grpc::CallbackServerContext* ctx,
                                                   const v1::InjectFaultRequest* req,
                                                   v1::InjectFaultResponse*) {
  sim::fault_request f;
  f.device_id = req->device_id();
  switch (req->kind()) {
    case v1::FAULT_KIND_SILENT: f.kind = sim::fault_kind::silent; break;
    case v1::FAULT_KIND_SLOW: f.kind = sim::fault_kind::slow; break;
    case v1::FAULT_KIND_EXCEPTION: f.kind = sim::fault_kind::exception; break;
    case v1::FAULT_KIND_FROZEN: f.kind = sim::fault_kind::frozen; break;
    case v1::FAULT_KIND_CRC_ERROR: f.kind = sim::fault_kind::crc_error; break;
    case v1::FAULT_KIND_BMS_DERATE: f.kind = sim::fault_kind::bms_derate; break;
    case v1::FAULT_KIND_FIRE_ALARM: f.kind = sim::fault_kind::fire_alarm; break;
    case v1::FAULT_KIND_CONTACTOR_TRIP: f.kind = sim::fault_kind::contactor_trip; break;
    case v1::FAULT_KIND_COOLING_FAULT: f.kind = sim::fault_kind::cooling_fault; break;
    case v1::FAULT_KIND_FOREIGN_MASTER: f.kind = sim::fault_kind::foreign_master; break;
    case v1::FAULT_KIND_CT_REVERSED: f.kind = sim::fault_kind::ct_reversed; break;
    case v1::FAULT_KIND_CT_RATIO: f.kind = sim::fault_kind::ct_ratio; break;
    case v1::FAULT_KIND_WRONG_SERIAL: f.kind = sim::fault_kind::wrong_serial; break;
    default: return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT, "kind: give a fault kind"});
  }
  f.delay = std::chrono::milliseconds{req->delay_ms()};
  f.exception_code = static_cast<uint8_t>(std::min<uint32_t>(req->exception_code(), 255));
  f.derate = req->derate_factor();
  f.ct_factor = req->ct_factor();
  f.serial = req->serial();
  if (f.kind == sim::fault_kind::exception && req->exception_code() == 0)
    f.exception_code = 4;
  return finish(ctx, from(sim_.inject(f)));
}

grpc::ServerUnaryReactor* sim_service::ClearFaults(grpc::CallbackServerContext* ctx,
                                                   const v1::ClearFaultsRequest* req,
                                                   v1::ClearFaultsResponse*) {
  return finish(ctx, from(sim_.clear(req->device_id())));
}

grpc::ServerUnaryReactor* sim_service::SetInputs(grpc::CallbackServerContext* ctx,
                                                 const v1::SetInputsRequest* req,
                                                 v1::SetInputsResponse*) {
  sim::io_inputs in;
  in.di = sim_.inputs().di;
  if (req->has_di1())
    in.di[0] = req->di1().value();
  if (req->has_di2())
    in.di[1] = req->di2().value();
  for (auto mode : req->drm_modes()) {
    if (mode == 0)
      in.dred.refgen_to_com = true;
    else if (mode <= 4)
      in.dred.to_com[mode - 1] = true;
    else if (mode <= 8)
      in.dred.to_refgen[mode - 5] = true;
    else
      return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT, "drm_modes: 0..8"});
  }
  if (req->rcr_inputs_size() > 4)
    return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT, "rcr_inputs: at most 4"});
  for (int i = 0; i < req->rcr_inputs_size(); ++i)
    in.rcr[static_cast<std::size_t>(i)] = req->rcr_inputs(i);
  sim_.set_inputs(in);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* sim_service::SetLoad(grpc::CallbackServerContext* ctx,
                                               const v1::SetLoadRequest* req,
                                               v1::SetLoadResponse*) {
  sim_.set_load(req->load_w());
  return finish(ctx, grpc::Status::OK);
}

}  // namespace plantd::apps
