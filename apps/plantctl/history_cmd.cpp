#include "apps/plantctl/history_cmd.hpp"
#include "apps/plantctl/common.hpp"

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "plantd/v1/telemetry.grpc.pb.h"

namespace plantd::apps {

using google::protobuf::util::TimeUtil;

int history(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
            const std::string& series, const std::string& since, const std::string& resolution) {
  auto stub = v1::TelemetryService::NewStub(ch);
  grpc::ClientContext list_ctx;
  list_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{5});
  if (series.empty()) {
    v1::ListSeriesResponse list;
    auto st = stub->ListSeries(&list_ctx, {}, &list);
    if (!st.ok()) {
      std::cerr << fmt::format("plantctl: {}\n", st.error_message());
      return 3;
    }
    for (const auto& s : list.series())
      std::cout << s << "\n";
    return 0;
  }
  auto seconds = parse_duration_s(since);
  if (!seconds) {
    std::cerr << "plantctl: --since takes a duration like 15m, 6h or 7d\n";
    return 2;
  }
  v1::QueryHistoryRequest req;
  req.set_series(series);
  auto now = std::chrono::system_clock::now();
  *req.mutable_from() = TimeUtil::MillisecondsToTimestamp(ms_ago(*seconds));
  req.set_resolution(resolution);
  req.set_compact(!o.json);  // --json prints the points as they always were
  v1::QueryHistoryResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(now + std::chrono::seconds{10});
  auto st = stub->QueryHistory(&ctx, req, &resp);
  if (!st.ok()) {
    std::cerr << fmt::format("plantctl: {}\n", st.error_message());
    return st.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
  }
  if (o.json) {
    std::cout << json_of(resp) << "\n";
    return 0;
  }
  const auto& raw = resp.raw();
  std::cout << fmt::format("{} at {} resolution, {} points{}\n", resp.series(), resp.resolution(),
                           resp.points_size() + raw.time_ms_size(),
                           resp.truncated() ? " (truncated)" : "");
  for (int i = 0; i < raw.time_ms_size(); ++i) {
    auto q = i < raw.quality_size() ? raw.quality(i) : v1::QUALITY_MEASURED;
    std::cout << fmt::format("  {}  {:12.2f}{}\n",
                             TimeUtil::ToString(TimeUtil::MillisecondsToTimestamp(raw.time_ms(i))),
                             i < raw.value_size() ? raw.value(i) : 0.0,
                             q == v1::QUALITY_MEASURED ? "" : "  (not measured)");
  }
  for (const auto& p : resp.points()) {
    auto t = TimeUtil::ToString(p.time());
    if (resp.resolution() == "raw")
      std::cout << fmt::format("  {}  {:12.2f}{}\n", t, p.value(),
                               p.quality() == v1::QUALITY_MEASURED ? "" : "  (not measured)");
    else
      std::cout << fmt::format("  {}  mean {:12.2f}  min {:12.2f}  max {:12.2f}  n {}\n", t,
                               p.value(), p.min(), p.max(), p.count());
  }
  return 0;
}

int export_series(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                  const std::vector<std::string>& series, const std::string& since,
                  const std::string& resolution, const std::string& format,
                  const std::string& out_file) {
  auto seconds = parse_duration_s(since);
  if (!seconds) {
    std::cerr << "plantctl: --since takes a duration like 15m, 6h or 7d\n";
    return 2;
  }
  v1::ExportRequest req;
  for (const auto& s : series)
    req.add_series(s);
  auto now = std::chrono::system_clock::now();
  *req.mutable_from() = TimeUtil::MillisecondsToTimestamp(ms_ago(*seconds));
  req.set_resolution(resolution);
  req.set_format(format == "xlsx" ? v1::EXPORT_FORMAT_XLSX : v1::EXPORT_FORMAT_CSV);
  auto stub = v1::TelemetryService::NewStub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(now + std::chrono::seconds{60});
  auto reader = stub->Export(&ctx, req);
  std::string data;
  v1::ExportChunk chunk;
  while (reader->Read(&chunk))
    data += chunk.data();
  auto st = reader->Finish();
  if (!st.ok()) {
    std::cerr << fmt::format("plantctl: {}\n", st.error_message());
    return st.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 1 : 3;
  }
  std::ofstream out{out_file, std::ios::binary};
  if (!out) {
    std::cerr << fmt::format("plantctl: cannot write {}\n", out_file);
    return 2;
  }
  out << data;
  std::cout << fmt::format("{}: {} bytes\n", out_file, data.size());
  return 0;
}

}  // namespace plantd::apps
