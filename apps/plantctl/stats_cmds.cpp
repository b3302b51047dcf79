#include "apps/plantctl/stats_cmds.hpp"
#include "apps/plantctl/common.hpp"

#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "plantd/v1/statistics.grpc.pb.h"
#include "plantd/v1/telemetry.grpc.pb.h"

namespace plantd::apps {

using google::protobuf::util::TimeUtil;

namespace {

int fail(const grpc::Status& st) {
  std::cerr << fmt::format("plantctl: {}\n", st.error_message());
  return st.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
}

}  // namespace

int curve(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
          const std::string& period, const std::string& since) {
  auto seconds = parse_duration_s(since);
  std::optional<int64_t> from = seconds ? std::optional<int64_t>{ms_ago(*seconds)} : std::nullopt;
  if (!from) {
    std::cerr << "plantctl: --since takes a duration like 15m, 6h or 7d\n";
    return 2;
  }
  v1::EnergyCurveRequest req;
  req.set_period(period == "week"    ? v1::CURVE_PERIOD_WEEK
                 : period == "month" ? v1::CURVE_PERIOD_MONTH
                 : period == "year"  ? v1::CURVE_PERIOD_YEAR
                 : period == "total" ? v1::CURVE_PERIOD_TOTAL
                                     : v1::CURVE_PERIOD_DAY);
  *req.mutable_from() = TimeUtil::MillisecondsToTimestamp(*from);
  v1::EnergyCurveResponse resp;
  auto st = v1::TelemetryService::NewStub(ch)->EnergyCurve(context(o).get(), req, &resp);
  if (!st.ok())
    return fail(st);
  if (o.json) {
    std::cout << json_of(resp) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<22} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}   kWh (grid: {})\n",
                           "start", "PV", "load", "import", "export", "charge", "discharge",
                           resp.grid_source());
  for (const auto& b : resp.buckets())
    std::cout << fmt::format("{:<22} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f}\n",
                             TimeUtil::ToString(b.start()), b.pv_wh() / 1000, b.load_wh() / 1000,
                             b.grid_import_wh() / 1000, b.grid_export_wh() / 1000,
                             b.battery_charge_wh() / 1000, b.battery_discharge_wh() / 1000);
  return 0;
}

int stats(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
          const std::string& period, const std::string& since) {
  auto seconds = parse_duration_s(since);
  std::optional<int64_t> from = seconds ? std::optional<int64_t>{ms_ago(*seconds)} : std::nullopt;
  if (!from) {
    std::cerr << "plantctl: --since takes a duration like 15m, 6h or 7d\n";
    return 2;
  }
  auto stub = v1::StatisticsService::NewStub(ch);
  v1::Overview ov;
  auto st = stub->GetOverview(context(o).get(), {}, &ov);
  if (!st.ok())
    return fail(st);
  v1::GetSocialContributionRequest sreq;
  v1::SocialContribution social;
  st = stub->GetSocialContribution(context(o).get(), sreq, &social);
  if (!st.ok())
    return fail(st);
  v1::GetRevenueRequest rreq;
  rreq.set_period(period == "month"  ? v1::STATISTICS_PERIOD_MONTH
                  : period == "year" ? v1::STATISTICS_PERIOD_YEAR
                                     : v1::STATISTICS_PERIOD_DAY);
  *rreq.mutable_from() = TimeUtil::MillisecondsToTimestamp(*from);
  v1::GetRevenueResponse rev;
  auto rst = stub->GetRevenue(context(o).get(), rreq, &rev);
  if (o.json) {
    std::cout << json_of(ov) << "\n" << json_of(social) << "\n";
    if (rst.ok())
      std::cout << json_of(rev) << "\n";
    return 0;
  }
  std::cout << fmt::format("{} — {}\n", ov.site_name(), ov.address())
            << fmt::format("  capacity   {:.0f} kW / {:.0f} kWh\n", ov.rated_power_w() / 1000,
                           ov.rated_energy_wh() / 1000)
            << fmt::format("  now        PV {:.1f} kW, grid import {:.1f} / export {:.1f} kW, "
                           "battery discharge {:.1f} / charge {:.1f} kW\n",
                           ov.pv_to_site_w() / 1000, ov.grid_import_w() / 1000,
                           ov.grid_export_w() / 1000, ov.battery_discharge_w() / 1000,
                           ov.battery_charge_w() / 1000)
            << fmt::format("  today      PV {:.1f} kWh, load {:.1f} kWh, import {:.1f} kWh, "
                           "export {:.1f} kWh\n",
                           ov.pv_today_wh() / 1000, ov.load_today_wh() / 1000,
                           ov.grid_import_today_wh() / 1000, ov.grid_export_today_wh() / 1000)
            << fmt::format("  social     {:.1f} kWh PV: {:.1f} kg CO2 avoided, {:.1f} kg coal "
                           "saved, {:.1f} tree-years\n",
                           social.pv_kwh(), social.co2_avoided_kg(), social.coal_saved_kg(),
                           social.tree_years());
  if (!rst.ok()) {
    std::cout << fmt::format("  revenue    {}\n", rst.error_message());
    return 0;
  }
  std::cout << fmt::format("  revenue    {:.2f} {} saved\n", rev.total_savings(), rev.currency());
  for (const auto& b : rev.buckets())
    std::cout << fmt::format("    {}  saved {:.2f} (would have paid {:.2f}, paid {:.2f})\n",
                             TimeUtil::ToString(b.start()), b.savings(), b.baseline_cost(),
                             b.actual_cost());
  return 0;
}

}  // namespace plantd::apps
