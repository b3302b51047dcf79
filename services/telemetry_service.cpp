#include "services/telemetry_service.hpp"

#include "services/access_gate.hpp"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "drivers/store/energy_curve.hpp"
#include "services/export.hpp"
#include "services/file_writer.hpp"
#include "services/state_stream.hpp"
#include "services/request_time.hpp"
#include "services/status.hpp"

namespace plantd::services {

using google::protobuf::util::TimeUtil;
using telemetry::resolution;

namespace {

// Export bounds: a table is built in memory before it is written.
constexpr int max_export_columns = 64;
constexpr std::size_t max_export_rows = 100'000;
constexpr std::size_t max_export_cells = 2'000'000;
constexpr int max_running_exports = 2;
std::atomic<int> running_exports{0};

v1::Quality quality_of(quality q) {
  return static_cast<v1::Quality>(static_cast<int>(q) + 1);
}

// The end of a requested range: `to`, or now when absent.
template <class Request>
int64_t range_end(const Request& req, problems& found) {
  if (req.has_to())
    return request_ms(req.to(), "to", found);
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Nominal bucket lengths, for choosing a resolution.
int64_t nominal_ms(resolution r) {
  switch (r) {
    case resolution::five_minutes: return 300'000;
    case resolution::hour: return 3'600'000;
    case resolution::day: return 86'400'000;
    case resolution::month: return 2'629'746'000;
    case resolution::year: return 31'556'952'000;
    default: return 1'000;
  }
}

}  // namespace

grpc::ServerUnaryReactor* telemetry_service::ListSeries(grpc::CallbackServerContext* ctx,
                                                        const v1::ListSeriesRequest*,
                                                        v1::ListSeriesResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  for (const auto& [name, id] : db_->series())
    resp->add_series(name);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* telemetry_service::QueryHistory(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  if (auto* r = refused(ctx))
    return r;
  v1::QueryHistoryRequest req;  // no bytes at all: every field at its default
  if (request && request->Valid() && request->Length() > 0) {
    grpc::ByteBuffer bytes{*request};  // shares the slices; parsing consumes the copy
    if (!grpc::SerializationTraits<v1::QueryHistoryRequest>::Deserialize(&bytes, &req).ok())
      return finish(ctx, to_status(errc::invalid_argument,
                                   "the request is not a plantd.v1.QueryHistoryRequest"));
  }
  return finish(ctx, history(req, *response));
}

grpc::Status telemetry_service::history(const v1::QueryHistoryRequest& request,
                                        grpc::ByteBuffer& answer) {
  const auto* req = &request;
  problems found;
  auto id = db_->find_series(req->series());
  if (!id)
    return to_status(errc::not_found, fmt::format("series: no series \"{}\"", req->series()));
  auto from = request_ms(req->from(), "from", found);
  auto to = range_end(*req, found);
  if (!req->has_from())
    found.push_back({"from", "is required"});
  else if (found.empty() && from >= to)
    found.push_back({"to", "must be later than from"});
  uint32_t max_points = req->max_points() == 0 ? 1000 : req->max_points();
  if (max_points > 100'000)
    found.push_back({"max_points", fmt::format("at most 100000, got {}", max_points)});
  if (req->delta_times() && !req->compact())
    found.push_back({"delta_times", "applies to compact answers only; ask compact as well"});
  std::string res_name = req->resolution().empty() ? "auto" : req->resolution();
  std::optional<resolution> res;
  if (res_name != "auto") {
    res = telemetry::resolution_from(res_name);
    if (!res)
      found.push_back({"resolution", fmt::format("unknown resolution \"{}\" (auto, raw, 5m, "
                                                 "hour, day, month, year)",
                                                 res_name)});
  }
  if (!found.empty())
    return invalid_argument(found);
  auto scratch = scratch_->take();
  auto& raw = scratch->columns;
  bool read = false;
  if (!res) {
    res = resolution::year;
    for (auto r : {resolution::five_minutes, resolution::hour, resolution::day, resolution::month,
                   resolution::year})
      if ((to - from) / nominal_ms(r) <= max_points) {
        res = r;
        break;
      }
    // Raw when the raw points fit.
    db_->raw_into(*id, from, to, max_points + 1, raw);
    read = true;
    if (raw.size() <= max_points)
      res = resolution::raw;
  }
  v1::QueryHistoryResponse resp;
  resp.set_series(req->series());
  resp.set_resolution(telemetry::to_string(*res));
  if (*res == resolution::raw) {
    if (!read)
      db_->raw_into(*id, from, to, max_points + 1, raw);
    resp.set_truncated(raw.size() > max_points);
    if (raw.size() > max_points) {
      raw.t_ms.resize(max_points);
      raw.value.resize(max_points);
      raw.q.resize(max_points);
    }
    if (req->compact()) {
      answer = compact_answer(resp, std::move(scratch), scratch_, req->delta_times());
      return grpc::Status::OK;
    }
    resp.mutable_points()->Reserve(static_cast<int>(raw.size()));
    for (std::size_t i = 0; i < raw.size(); ++i) {
      auto* out = resp.add_points();
      *out->mutable_time() = TimeUtil::MillisecondsToTimestamp(raw.t_ms[i]);
      out->set_value(raw.value[i]);
      out->set_quality(quality_of(raw.q[i]));
      out->set_last(raw.value[i]);
      out->set_count(1);
    }
  } else {
    auto buckets = db_->rollup(*id, *res, from, to);
    resp.set_truncated(buckets.size() > max_points);
    if (buckets.size() > max_points)
      buckets.resize(max_points);
    for (const auto& b : buckets) {
      auto* out = resp.add_points();
      *out->mutable_time() = TimeUtil::MillisecondsToTimestamp(b.start_ms);
      out->set_value(b.agg.mean());
      out->set_quality(v1::QUALITY_ESTIMATED);
      out->set_min(b.agg.min);
      out->set_max(b.agg.max);
      out->set_last(b.agg.last);
      out->set_count(b.agg.count);
    }
  }
  scratch_->give(std::move(scratch));
  bool own = false;
  return grpc::SerializationTraits<v1::QueryHistoryResponse>::Serialize(resp, &answer, &own);
}

grpc::ServerUnaryReactor* telemetry_service::EnergyCurve(grpc::CallbackServerContext* ctx,
                                                         const v1::EnergyCurveRequest* req,
                                                         v1::EnergyCurveResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  store::curve_period period;
  switch (req->period()) {
    case v1::CURVE_PERIOD_DAY: period = store::curve_period::day; break;
    case v1::CURVE_PERIOD_WEEK: period = store::curve_period::week; break;
    case v1::CURVE_PERIOD_MONTH: period = store::curve_period::month; break;
    case v1::CURVE_PERIOD_YEAR: period = store::curve_period::year; break;
    case v1::CURVE_PERIOD_TOTAL: period = store::curve_period::total; break;
    default:
      return finish(
        ctx, to_status(errc::invalid_argument, "period: give day, week, month, year or total"));
  }
  problems found;
  auto from = request_ms(req->from(), "from", found);
  auto to = range_end(*req, found);
  if (!found.empty())
    return finish(ctx, invalid_argument(found));
  if (from >= to)
    return finish(ctx, to_status(errc::invalid_argument, "to: must be later than from"));
  auto curve = store::energy_curve(*db_, period, from, to);
  resp->set_grid_source(curve.grid_from_counters ? "meter counters" : "integrated power");
  for (const auto& b : curve.buckets) {
    auto* out = resp->add_buckets();
    *out->mutable_start() = TimeUtil::MillisecondsToTimestamp(b.start_ms);
    out->set_pv_wh(b.pv_wh);
    out->set_load_wh(b.load_wh);
    out->set_grid_import_wh(b.grid_import_wh);
    out->set_grid_export_wh(b.grid_export_wh);
    out->set_battery_charge_wh(b.battery_charge_wh);
    out->set_battery_discharge_wh(b.battery_discharge_wh);
  }
  return finish(ctx, grpc::Status::OK);
}

namespace {

// A file_writer that starts at once (or fails with `status`).
grpc::ServerWriteReactor<v1::ExportChunk>* chunk_writer(std::string data, std::string filename,
                                                        grpc::Status status) {
  auto* w = new file_writer<v1::ExportChunk>();
  if (!status.ok())
    w->fail(std::move(status));
  else
    w->start(std::move(data), std::move(filename));
  return w;
}

}  // namespace

grpc::ServerWriteReactor<v1::ExportChunk>*
telemetry_service::Export(grpc::CallbackServerContext* ctx, const v1::ExportRequest* req) {
  if (auto* r = refused_stream<v1::ExportChunk>(ctx))
    return r;
  problems found;
  if (req->series_size() == 0)
    found.push_back({"series", "give at least one series"});
  // An export is built in memory: its size is bounded by columns x rows.
  if (req->series_size() > max_export_columns) {
    found.push_back(
      {"series", fmt::format("at most {} series, got {}", max_export_columns, req->series_size())});
  } else {
    std::set<std::string_view> seen;
    for (int i = 0; i < req->series_size(); ++i) {
      if (!seen.insert(req->series(i)).second)
        found.push_back({fmt::format("series[{}]", i),
                         fmt::format("\"{}\" is already a column", req->series(i))});
      else if (!db_->find_series(req->series(i)))
        found.push_back(
          {fmt::format("series[{}]", i), fmt::format("no series \"{}\"", req->series(i))});
    }
  }
  std::size_t max_rows = req->max_rows() == 0 ? max_export_rows : req->max_rows();
  if (max_rows > max_export_rows)
    found.push_back({"max_rows", fmt::format("at most {}, got {}", max_export_rows, max_rows)});
  // The cells bound the rows of a wide export.
  std::size_t row_limit =
    std::min<std::size_t>(max_rows, max_export_cells / std::max(1, req->series_size()));
  if (req->format() != v1::EXPORT_FORMAT_CSV && req->format() != v1::EXPORT_FORMAT_XLSX)
    found.push_back({"format", "give EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX"});
  auto from = request_ms(req->from(), "from", found);
  auto to = range_end(*req, found);
  if (found.empty() && from >= to)
    found.push_back({"to", "must be later than from"});
  auto res_name = req->resolution().empty() || req->resolution() == "auto" ? std::string{"raw"}
                                                                           : req->resolution();
  auto res = telemetry::resolution_from(res_name);
  if (!res)
    found.push_back({"resolution", fmt::format("unknown resolution \"{}\"", res_name)});
  if (!found.empty())
    return chunk_writer({}, {}, invalid_argument(found));
  // Built and rendered on a thread of its own, never a gRPC thread: an
  // export of 2,000,000 cells takes seconds. Two at a time; the client's
  // deadline and cancellation are honoured between the steps.
  if (running_exports.fetch_add(1) >= max_running_exports) {
    running_exports.fetch_sub(1);
    return chunk_writer({}, {},
                        to_status(errc::resource_exhausted,
                                  fmt::format("{} exports are running: retry when one is done",
                                              max_running_exports)));
  }
  auto* w = new file_writer<v1::ExportChunk>();
  std::vector<std::string> series(req->series().begin(), req->series().end());
  bool caller_cut = req->max_rows() != 0 && row_limit == max_rows;
  bool csv = req->format() == v1::EXPORT_FORMAT_CSV;
  auto deadline = ctx->deadline();
  std::thread{[w, ctx, db = db_, series = std::move(series), from, to, res = *res, row_limit,
               caller_cut, csv, deadline] {
    auto stopped = [&]() -> std::optional<grpc::Status> {
      if (ctx->IsCancelled())
        return grpc::Status::CANCELLED;
      if (std::chrono::system_clock::now() > deadline)
        return to_status(errc::deadline_exceeded, "the export did not finish before the deadline");
      return std::nullopt;
    };
    auto table = build_table(*db, series, from, to, res, row_limit);
    // Rows the caller asked to cut are cut; rows cut by plantd's own bounds
    // are not dropped silently: the export is refused, saying what fits.
    if (table.truncated && !caller_cut) {
      w->fail(to_status(errc::resource_exhausted,
                        fmt::format("the range holds more than {} rows of {} series (at most {} "
                                    "cells per export): export a shorter range, fewer series or "
                                    "a coarser resolution",
                                    row_limit, series.size(), max_export_cells)));
    } else if (auto st = stopped()) {
      w->fail(std::move(*st));
    } else {
      auto stamp = absl::FormatTime("%Y%m%d", absl::FromUnixMillis(from), db->tz());
      if (csv) {
        auto text = to_csv(table);
        table = {};
        w->start(std::move(text), fmt::format("plantd-{}.csv", stamp));
      } else if (auto xlsx = to_xlsx(table, "telemetry"); !xlsx) {
        w->fail(to_status(errc::internal, xlsx.error()));
      } else {
        table = {};
        w->start(std::move(*xlsx), fmt::format("plantd-{}.xlsx", stamp));
      }
    }
    running_exports.fetch_sub(1);
  }}.detach();
  return w;
}

grpc::ServerUnaryReactor* telemetry_service::GetSnapshot(grpc::CallbackServerContext* ctx,
                                                         const v1::GetSnapshotRequest*,
                                                         v1::PlantState* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto [latest, seq] =
    hub_ ? hub_->latest()
         : std::make_pair(std::shared_ptr<const actors::plant_state>{}, uint64_t{0});
  if (!latest)
    return finish(ctx, to_status(errc::unavailable, "no reading yet"));
  to_proto(*latest, resp);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::PlantState>*
telemetry_service::StreamTelemetry(grpc::CallbackServerContext* ctx,
                                   const v1::StreamTelemetryRequest*) {
  if (auto* r = refused_stream<v1::PlantState>(ctx))
    return r;
  return make_state_stream(hub_ ? hub_ : std::make_shared<actors::state_hub>());
}

}  // namespace plantd::services
