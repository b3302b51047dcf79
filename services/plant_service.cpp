#include "services/plant_service.hpp"

#include "services/access_gate.hpp"

#include <fmt/format.h>
#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include "services/ask.hpp"
#include "services/clock.hpp"
#include "services/config_codec.hpp"
#include "services/config_history.hpp"
#include "model/plant/grid_profiles.hpp"

namespace plantd::services {

using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::TimeUtil;

namespace {

std::string no_report(uint64_t config_version) {
  return config_version == 0
           ? std::string{"no commissioning report yet (Commission)"}
           : fmt::format("no commissioning report for config version {}", config_version);
}

// An apply may start and stop device actors: more than a read.
constexpr std::chrono::milliseconds apply_timeout{10'000};

int64_t to_ms(time_point t) {
  return t.time_since_epoch().count();
}

grpc::Status no_history() {
  return to_status(errc::unavailable, "no config history here");
}

grpc::Status not_kept(std::string_view field, uint64_t version) {
  return to_status(
    errc::not_found,
    fmt::format("{}: config version {} is not kept (ListConfigVersions)", field, version));
}

// The cellular password is write-only and lives in the config file on the
// unit only (the history keeps no secret, so one set through the API would
// be lost at the next start): a change keeps the one in force, and one that
// names another is refused.
std::optional<problem> keep_secrets(v1::PlantConfig& next, const plant::config* running) {
  std::string in_force = running ? running->networks.cellular.password : std::string{};
  auto* cell = next.mutable_networks()->mutable_cellular();
  if (!cell->password().empty() && cell->password() != in_force)
    return problem{"networks.cellular.password",
                   "set in the config file on the unit (secrets are not kept in the config "
                   "history); leave it empty here to keep the one in force"};
  cell->set_password(in_force);
  cell->clear_password_set();
  return std::nullopt;
}

}  // namespace

plant_service::plant_service(caf::actor_system& sys, actors::config_actor config,
                             std::shared_ptr<const actors::config_view> view,
                             std::shared_ptr<store::store> db, std::string tls_fingerprint)
  : sys_(sys),
    config_(std::move(config)),
    view_(std::move(view)),
    db_(std::move(db)),
    tls_fingerprint_(std::move(tls_fingerprint)) {}

grpc::ServerUnaryReactor* plant_service::GetInfo(grpc::CallbackServerContext* ctx,
                                                 const v1::GetInfoRequest*,
                                                 v1::GetInfoResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  ask<actors::plant_info>(
    sys_, config_, reactor,
    [resp, fp = tls_fingerprint_, uplink = uplink_](const actors::plant_info& info) {
      resp->set_tls_fingerprint_sha256(fp);
      if (uplink) {
        auto u = uplink->get();
        auto* out = resp->mutable_uplink();
        out->set_enabled(u.enabled);
        out->set_connected(u.connected);
        if (u.cursor_ms > 0)
          *out->mutable_cursor() = TimeUtil::MillisecondsToTimestamp(u.cursor_ms);
        out->set_lag_s(static_cast<double>(u.lag_ms) / 1000.0);
        out->set_backlog_samples(u.backlog_samples);
        out->set_sent_samples(u.sent_samples);
        out->set_sent_requests(u.sent_requests);
        out->set_failed_requests(u.failed_requests);
        out->set_rejected_samples(u.rejected_samples);
        out->set_lost_samples(u.lost_samples);
        if (u.last_success_ms > 0)
          *out->mutable_last_success() = TimeUtil::MillisecondsToTimestamp(u.last_success_ms);
        out->set_last_error(u.last_error);
        if (u.last_error_ms > 0)
          *out->mutable_last_error_at() = TimeUtil::MillisecondsToTimestamp(u.last_error_ms);
      }
      resp->set_version(info.version);
      resp->set_role(info.role);
      resp->set_site_name(info.site_name);
      resp->set_cabinet_count(info.cabinet_count);
      resp->set_config_version(info.config_version);
      *resp->mutable_started_at() = TimeUtil::MillisecondsToTimestamp(info.started_at_ms);
      resp->set_uptime_s(static_cast<double>(info.uptime_ms) / 1000.0);
      return grpc::Status::OK;
    },
    caf::get_atom_v, actors::info_atom_v);
  return reactor;
}

grpc::ServerUnaryReactor* plant_service::GetConfig(grpc::CallbackServerContext* ctx,
                                                   const v1::GetConfigRequest* req,
                                                   v1::GetConfigResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto running = view_ ? view_->snapshot() : actors::config_snapshot{};
  if (req->version() != 0 && req->version() != running.version) {
    // A stored version, from the history.
    if (!db_) {
      reactor->Finish(no_history());
      return reactor;
    }
    auto stored = stored_config(*db_, req->version());
    if (!stored) {
      reactor->Finish(not_kept("version", req->version()));
      return reactor;
    }
    *resp->mutable_config() = std::move(*stored);
    resp->set_version(req->version());
    auto meta = config_versions(*db_, req->version() + 1, 1);
    if (!meta.empty() && meta.front().version() == req->version())
      *resp->mutable_applied_at() = meta.front().applied_at();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  ask<actors::config_snapshot>(
    sys_, config_, reactor,
    [resp](const actors::config_snapshot& snap) {
      if (!snap.config)
        return to_status(errc::unavailable, "no configuration is loaded");
      *resp->mutable_config() = to_proto(*snap.config);
      redact_secrets(*resp->mutable_config());
      resp->set_version(snap.version);
      *resp->mutable_applied_at() =
        TimeUtil::MillisecondsToTimestamp(snap.applied_at.time_since_epoch().count());
      return grpc::Status::OK;
    },
    caf::get_atom_v);
  return reactor;
}

grpc::ServerUnaryReactor* plant_service::ValidateConfig(grpc::CallbackServerContext* ctx,
                                                        const v1::ValidateConfigRequest* req,
                                                        v1::ValidateConfigResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  // Pure and fast (well under 1 ms for 20 cabinets): answered on this thread.
  auto* reactor = ctx->DefaultReactor();
  loaded_config checked;
  switch (req->source_case()) {
    case v1::ValidateConfigRequest::kConfig: checked = check_config(req->config()); break;
    case v1::ValidateConfigRequest::kConfigJson:
      checked = load_config_text(req->config_json());
      break;
    default:
      reactor->Finish(
        to_status(errc::invalid_argument, "source: give either config or config_json"));
      return reactor;
  }
  resp->set_valid(checked.problems.empty());
  for (const auto& p : checked.problems) {
    auto* out = resp->add_problems();
    out->set_field_path(p.path);
    out->set_message(p.message);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void plant_service::apply(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor,
                          v1::PlantConfig next, actors::change_info info,
                          v1::ApplyConfigResponse* resp) {
  auto running = view_ ? view_->get() : nullptr;
  if (auto bad = keep_secrets(next, running.get())) {
    reactor->Finish(invalid_argument({*bad}));
    return;
  }
  if (next.ByteSizeLong() > max_config_bytes) {
    reactor->Finish(to_status(errc::invalid_argument,
                              fmt::format("config: {} bytes, more than the {} a config may have",
                                          next.ByteSizeLong(), max_config_bytes)));
    return;
  }
  // Choosing a grid profile fills what it fixes (the answer's changed
  // fields show what it filled); validation then holds the rest to it.
  {
    problems unused;
    auto chosen = to_model(next, unused);
    if (unused.empty() && running && chosen.site.profile != running->site.profile) {
      plant::apply_grid_profile(chosen);
      next = to_proto(chosen);
    }
  }
  auto checked = check_config(next);
  if (!checked.problems.empty()) {
    reactor->Finish(invalid_argument(checked.problems));
    return;
  }
  // The store keeps its calendar (rollups, energy days) in the zone it was
  // opened in: the zone changes with the config file, at a start.
  if (running && checked.model.site.time_zone != running->site.time_zone) {
    reactor->Finish(invalid_argument(
      {{"site.time_zone", fmt::format("the site's zone ({}) changes in the config file on the "
                                      "unit, at a start: the recorded calendar is kept in it",
                                      running->site.time_zone)}}));
    return;
  }
  // The hook is a command plantd runs: one set through the API would run
  // the caller's code on the unit.
  if (running && checked.model.networks.apply_hook != running->networks.apply_hook) {
    reactor->Finish(invalid_argument(
      {{"networks.apply_hook",
        fmt::format("the command that applies the network settings changes in the config file "
                    "on the unit only (in force: \"{}\")",
                    running->networks.apply_hook)}}));
    return;
  }
  info.by = caller_of(ctx).who.name;
  auto model = std::make_shared<const plant::config>(std::move(checked.model));
  ask_within<actors::apply_result>(
    sys_, config_, reactor, apply_timeout,
    [ctx, resp](const actors::apply_result& res) {
      resp->set_version(res.after.version);
      resp->set_previous_version(res.before.version);
      resp->set_changed(res.after.version != res.before.version);
      *resp->mutable_applied_at() = TimeUtil::MillisecondsToTimestamp(to_ms(res.after.applied_at));
      for (const auto& d : res.devices.started)
        resp->add_devices_started(d);
      for (const auto& d : res.devices.restarted)
        resp->add_devices_restarted(d);
      for (const auto& d : res.devices.stopped)
        resp->add_devices_stopped(d);
      for (const auto& f : res.at_restart)
        resp->add_at_restart(f);
      if (res.before.config && res.after.config && resp->changed()) {
        auto a = to_proto(*res.before.config);
        auto b = to_proto(*res.after.config);
        redact_secrets(a);
        redact_secrets(b);
        std::string summary;
        for (auto& c : diff_configs(a, b)) {
          if (resp->changed_fields_size() < 8)
            summary += fmt::format("{}{}: {} -> {}", summary.empty() ? "" : "; ", c.path,
                                   c.before.substr(0, 80), c.after.substr(0, 80));
          resp->add_changed_fields(std::move(c.path));
        }
        if (resp->changed_fields_size() > 8)
          summary += fmt::format("; and {} more", resp->changed_fields_size() - 8);
        note_change(ctx, fmt::format("config version {}", res.before.version),
                    fmt::format("config version {}: {}", res.after.version, summary));
      }
      return grpc::Status::OK;
    },
    actors::apply_atom_v, std::shared_ptr<const plant::config>{std::move(model)}, std::move(info));
}

grpc::ServerUnaryReactor* plant_service::ApplyConfig(grpc::CallbackServerContext* ctx,
                                                     const v1::ApplyConfigRequest* req,
                                                     v1::ApplyConfigResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (!req->has_config()) {
    reactor->Finish(to_status(errc::invalid_argument, "config: give the whole configuration"));
    return reactor;
  }
  actors::change_info info;
  info.origin = "apply";
  info.comment = req->comment();
  info.based_on = req->base_version();
  apply(ctx, reactor, req->config(), std::move(info), resp);
  return reactor;
}

grpc::ServerUnaryReactor* plant_service::PatchConfig(grpc::CallbackServerContext* ctx,
                                                     const v1::PatchConfigRequest* req,
                                                     v1::ApplyConfigResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (req->update_mask().paths_size() == 0) {
    reactor->Finish(to_status(errc::invalid_argument,
                              "update_mask: name the fields to change, e.g. "
                              "\"policies.export_limit.limit_w\""));
    return reactor;
  }
  for (const auto& path : req->update_mask().paths())
    if (!FieldMaskUtil::GetFieldDescriptors(v1::PlantConfig::descriptor(), path, nullptr)) {
      reactor->Finish(
        to_status(errc::invalid_argument,
                  fmt::format("update_mask: \"{}\" is not a field of PlantConfig (a path of field "
                              "names such as \"policies.export_limit.limit_w\"; a list is replaced "
                              "whole: \"cabinets\")",
                              path)));
      return reactor;
    }
  auto running = view_ ? view_->snapshot() : actors::config_snapshot{};
  if (!running.config) {
    reactor->Finish(to_status(errc::unavailable, "no configuration is loaded"));
    return reactor;
  }
  if (req->base_version() != 0 && req->base_version() != running.version) {
    reactor->Finish(to_status(
      errc::aborted, fmt::format("the change was made on config version {}, but version {} is "
                                 "in force now: read it again and make the change on top of it",
                                 req->base_version(), running.version)));
    return reactor;
  }
  // The patch is made on the version read here: applied only on that one.
  auto next = to_proto(*running.config);
  FieldMaskUtil::MergeOptions opt;
  opt.set_replace_message_fields(true);
  opt.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(req->config(), req->update_mask(), opt, &next);
  actors::change_info info;
  info.origin = "patch";
  info.comment = req->comment();
  info.based_on = running.version;
  apply(ctx, reactor, std::move(next), std::move(info), resp);
  return reactor;
}

grpc::ServerUnaryReactor* plant_service::RollbackConfig(grpc::CallbackServerContext* ctx,
                                                        const v1::RollbackConfigRequest* req,
                                                        v1::ApplyConfigResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (!db_) {
    reactor->Finish(no_history());
    return reactor;
  }
  if (req->version() == 0) {
    reactor->Finish(to_status(errc::invalid_argument,
                              "version: the stored version to restore (ListConfigVersions)"));
    return reactor;
  }
  auto stored = stored_config(*db_, req->version());
  if (!stored) {
    reactor->Finish(not_kept("version", req->version()));
    return reactor;
  }
  actors::change_info info;
  info.origin = "rollback";
  info.comment = req->comment();
  info.based_on = req->base_version();
  info.rollback_of = req->version();
  // The hook is the config file's, as the secrets are: a rollback keeps
  // the one in force.
  if (auto running = view_ ? view_->get() : nullptr)
    stored->mutable_networks()->set_apply_hook(running->networks.apply_hook);
  apply(ctx, reactor, std::move(*stored), std::move(info), resp);
  return reactor;
}

grpc::ServerUnaryReactor*
plant_service::ListConfigVersions(grpc::CallbackServerContext* ctx,
                                  const v1::ListConfigVersionsRequest* req,
                                  v1::ListConfigVersionsResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (!db_) {
    reactor->Finish(no_history());
    return reactor;
  }
  std::size_t limit = req->page_size() == 0 ? 50 : std::min<std::size_t>(req->page_size(), 1000);
  auto versions = config_versions(*db_, req->before_version(), limit + 1);
  resp->set_more(versions.size() > limit);
  if (versions.size() > limit)
    versions.pop_back();
  for (auto& v : versions)
    *resp->add_versions() = std::move(v);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* plant_service::DiffConfig(grpc::CallbackServerContext* ctx,
                                                    const v1::DiffConfigRequest* req,
                                                    v1::DiffConfigResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (!db_ || !view_) {
    reactor->Finish(no_history());
    return reactor;
  }
  auto to_version = req->to_version() ? req->to_version() : view_->snapshot().version;
  if (req->from_version() == 0) {
    reactor->Finish(to_status(errc::invalid_argument, "from_version: give a stored version"));
    return reactor;
  }
  auto a = stored_config(*db_, req->from_version());
  auto b = stored_config(*db_, to_version);
  if (!a || !b) {
    reactor->Finish(a ? not_kept("to_version", to_version)
                      : not_kept("from_version", req->from_version()));
    return reactor;
  }
  resp->set_from_version(req->from_version());
  resp->set_to_version(to_version);
  for (auto& c : diff_configs(*a, *b)) {
    auto* out = resp->add_changes();
    out->set_field_path(std::move(c.path));
    out->set_before(std::move(c.before));
    out->set_after(std::move(c.after));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::CommissionUpdate>*
plant_service::Commission(grpc::CallbackServerContext* ctx, const v1::CommissionRequest* req) {
  if (auto* r = refused_stream<v1::CommissionUpdate>(ctx))
    return r;
  if (!commissioning_)
    return new refused_writer<v1::CommissionUpdate>(
      to_status(errc::unavailable, "commissioning is not offered here"));
  return commissioning_->start(ctx, *req, caller_of(ctx).who.name);
}

grpc::ServerUnaryReactor*
plant_service::GetCommissionReport(grpc::CallbackServerContext* ctx,
                                   const v1::GetCommissionReportRequest* req,
                                   v1::CommissionReport* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto report = commissioning_ ? commissioning_->report(req->config_version()) : std::nullopt;
  if (!report)
    reactor->Finish(to_status(errc::not_found, no_report(req->config_version())));
  else {
    *resp = std::move(*report);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor*
plant_service::ExportCommissionReport(grpc::CallbackServerContext* ctx,
                                      const v1::ExportCommissionReportRequest* req,
                                      v1::CommissionReportFile* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto report = commissioning_ ? commissioning_->report(req->config_version()) : std::nullopt;
  if (!report) {
    reactor->Finish(to_status(errc::not_found, no_report(req->config_version())));
    return reactor;
  }
  auto snap = view_ ? view_->snapshot() : actors::config_snapshot{};
  auto file = commission_file(*report, snap.config ? snap.config->site.name : "",
                              snap.config ? snap.config->site.time_zone : "UTC", req->format());
  if (!file)
    reactor->Finish(to_status(errc::invalid_argument, file.error()));
  else {
    *resp = std::move(*file);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor* plant_service::SetTime(grpc::CallbackServerContext* ctx,
                                                 const v1::SetTimeRequest* req,
                                                 v1::SetTimeResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto set = set_system_time(
    req->has_time() ? std::optional{TimeUtil::TimestampToMilliseconds(req->time())} : std::nullopt);
  if (!set) {
    reactor->Finish(to_status(set.error().code, set.error().message));
    return reactor;
  }
  resp->set_step_ms(set->step_ms);
  note_change(ctx, fmt::format("clock {}", set->before),
              fmt::format("clock {} (step {} ms, hardware clock {})", set->after, set->step_ms,
                          set->rtc_written ? "set" : "not set: " + set->rtc_error));
  spdlog::warn("the system clock was set to {} by {} (step {} ms); hardware clock {}", set->after,
               caller_of(ctx).who.name, set->step_ms,
               set->rtc_written ? "set" : "not set: " + set->rtc_error);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace plantd::services
