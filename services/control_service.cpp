#include "services/control_service.hpp"

#include "services/access_gate.hpp"

#include <mutex>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "services/ask.hpp"
#include "services/config_codec.hpp"

namespace plantd::services {

namespace {

v1::Quality quality_of(quality q) {
  switch (q) {
    case quality::measured: return v1::QUALITY_MEASURED;
    case quality::estimated: return v1::QUALITY_ESTIMATED;
    case quality::manual: return v1::QUALITY_MANUAL;
    case quality::missing: return v1::QUALITY_MISSING;
    case quality::stale: return v1::QUALITY_STALE;
    case quality::invalid: return v1::QUALITY_INVALID;
  }
  return v1::QUALITY_UNSPECIFIED;
}

void set(v1::Value* out, const reading& r) {
  out->set_value(r.value);
  out->set_quality(quality_of(r.quality));
}

void device_out(const actors::plant_state::device& d, v1::DeviceState* out) {
  out->set_id(d.id);
  out->set_available(d.available);
  out->set_error(d.error);
  out->set_power_w(d.power_w);
  out->set_setpoint_w(d.setpoint_w);
  out->set_soc_percent(d.soc_percent);
  out->set_serial(d.serial);
}

}  // namespace

void to_proto(const actors::plant_state& s, v1::PlantState* out) {
  *out->mutable_time() =
    google::protobuf::util::TimeUtil::MillisecondsToTimestamp(s.time.time_since_epoch().count());
  set(out->mutable_grid_w(), s.grid_w);
  set(out->mutable_pv_w(), s.pv_w);
  set(out->mutable_load_w(), s.load_w);
  out->set_battery_w(s.battery_w);
  out->set_battery_setpoint_w(s.battery_setpoint_w);
  set(out->mutable_soc_percent(), s.soc_percent);
  out->set_mode(static_cast<v1::WorkingMode>(static_cast<int>(s.mode)));
  out->set_binding_rule(dispatch::to_string(s.binding));
  out->set_pv_binding_rule(dispatch::to_string(s.pv_binding));
  out->set_explanation(s.explanation);
  out->set_pv_limit_percent(s.pv_limit_percent);
  out->set_export_trip(s.export_trip);
  out->set_manual_active(s.manual_active);
  out->set_manual_setpoint_w(s.manual_setpoint_w);
  for (const auto& c : s.cabinets)
    device_out(c, out->add_cabinets());
  for (const auto& i : s.inverters)
    device_out(i, out->add_inverters());
  out->set_grid_meter_available(s.grid_meter_available);
  out->set_io_available(s.io_available);
  for (const auto& sm : s.sub_meters) {
    auto* x = out->add_sub_meters();
    x->set_id(sm.id);
    x->set_available(sm.available);
    x->set_error(sm.error);
    set(x->mutable_power_w(), sm.power_w);
    set(x->mutable_import_wh(), sm.import_wh);
    set(x->mutable_export_wh(), sm.export_wh);
  }
  out->set_decisions(s.decisions);
  out->set_latency_p50_us(s.latency_p50_us);
  out->set_latency_p99_us(s.latency_p99_us);
  out->set_latency_window_decisions(s.latency_window);
  out->set_latency_sum_us(s.latency_sum_us);
  for (auto b : actors::latency_bounds_us)
    out->add_latency_bucket_bounds_us(b);
  for (auto c : s.latency_counts)
    out->add_latency_bucket_counts(c);
}

control_service::control_service(caf::actor_system& sys, actors::supervisor_api supervisor,
                                 actors::config_actor config,
                                 std::shared_ptr<actors::state_hub> hub)
  : sys_(sys),
    supervisor_(std::move(supervisor)),
    config_(std::move(config)),
    hub_(std::move(hub)) {}

grpc::ServerUnaryReactor* control_service::GetState(grpc::CallbackServerContext* ctx,
                                                    const v1::GetStateRequest*,
                                                    v1::PlantState* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto [latest, seq] = hub_->latest();
  if (!latest) {
    reactor->Finish(to_status(errc::unavailable, "no control decision yet"));
    return reactor;
  }
  to_proto(*latest, resp);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::PlantState>*
control_service::StreamState(grpc::CallbackServerContext* ctx, const v1::StreamStateRequest*) {
  if (auto* r = refused_stream<v1::PlantState>(ctx))
    return r;
  return make_state_stream(hub_);
}

grpc::ServerUnaryReactor* control_service::SetMode(grpc::CallbackServerContext* ctx,
                                                   const v1::SetModeRequest* req,
                                                   v1::SetModeResponse*) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (req->mode() == v1::WORKING_MODE_UNSPECIFIED) {
    reactor->Finish(to_status(errc::invalid_argument, "mode: give a working mode"));
    return reactor;
  }
  if (!v1::WorkingMode_IsValid(req->mode())) {
    reactor->Finish(
      to_status(errc::invalid_argument, fmt::format("mode: unknown working mode {}", req->mode())));
    return reactor;
  }
  auto mode = req->mode() == v1::WORKING_MODE_TIME_OF_USE ? plant::working_mode::time_of_use
                                                          : plant::working_mode::self_consumption;
  std::vector<plant::tou_slot> slots;
  if (req->has_tou()) {
    // Reuse the config codec: the template is the config's.
    v1::PlantConfig wrapper;
    *wrapper.mutable_policies()->mutable_tou() = req->tou();
    problems found;
    auto model = to_model(wrapper, found);
    if (!found.empty()) {
      reactor->Finish(invalid_argument(found));
      return reactor;
    }
    slots = std::move(model.policies.tou);
    if (slots.empty()) {
      reactor->Finish(to_status(errc::invalid_argument, "tou.slots: the template is empty"));
      return reactor;
    }
  }
  // A config change: the config actor validates, stores and applies it, so
  // GetConfig shows it and it survives a restart.
  auto describe = [](plant::working_mode m, std::size_t tou_slots, uint64_t version) {
    return fmt::format("mode {}{} (config version {})",
                       m == plant::working_mode::time_of_use ? "time-of-use" : "self-consumption",
                       tou_slots ? fmt::format(", {} TOU slots", tou_slots) : "", version);
  };
  actors::change_info info;
  info.by = caller_of(ctx).who.name;
  info.origin = "mode";
  ask<actors::apply_result>(
    sys_, config_, reactor,
    [ctx, describe](const actors::apply_result& res) {
      const auto& before = res.before;
      const auto& after = res.after;
      if (before.config && after.config) {
        const auto& p = before.config->policies;
        const auto& q = after.config->policies;
        note_change(ctx,
                    describe(p.mode, p.mode == plant::working_mode::time_of_use ? p.tou.size() : 0,
                             before.version),
                    describe(q.mode, q.mode == plant::working_mode::time_of_use ? q.tou.size() : 0,
                             after.version));
      }
      return grpc::Status::OK;
    },
    actors::mode_atom_v, mode, slots, info);
  return reactor;
}

grpc::ServerUnaryReactor*
control_service::SetManualSetpoint(grpc::CallbackServerContext* ctx,
                                   const v1::SetManualSetpointRequest* req,
                                   v1::SetManualSetpointResponse*) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (req->duration_s() > 86'400) {
    reactor->Finish(to_status(errc::invalid_argument, "duration_s: 1 .. 86400, or 0 to clear"));
    return reactor;
  }
  ask<bool>(
    sys_, supervisor_, reactor, [](bool) { return grpc::Status::OK; }, actors::manual_atom_v,
    req->power_w(), static_cast<int64_t>(req->duration_s()) * 1000, caller_of(ctx).who.name);
  return reactor;
}

}  // namespace plantd::services
