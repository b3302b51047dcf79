// Telemetry recorded by plantd while it controls plant-sim, queried over gRPC.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "plantd/v1/statistics.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;
using google::protobuf::util::TimeUtil;

namespace {

v1::QueryHistoryResponse query(running_plantd& p, const std::string& series,
                               const std::string& resolution, grpc::Status* st = nullptr,
                               bool compact = false, int64_t to_ms = 0, bool delta = false) {
  v1::QueryHistoryRequest req;
  req.set_series(series);
  *req.mutable_from() = TimeUtil::SecondsToTimestamp(0);
  if (to_ms)
    *req.mutable_to() = TimeUtil::MillisecondsToTimestamp(to_ms);
  req.set_resolution(resolution);
  req.set_compact(compact);
  req.set_delta_times(delta);
  v1::QueryHistoryResponse resp;
  auto s = p.telemetry().QueryHistory(ctx().get(), req, &resp);
  if (st)
    *st = s;
  else
    REQUIRE(s.ok());
  return resp;
}

}  // namespace

TEST_CASE("plantd records the plant and answers history queries", "[e2e][telemetry]") {
  auto config = sim_config("single-cabinet");
  auto data =
    std::filesystem::temp_directory_path() / ("plantd-telemetry-" + std::to_string(getpid()));
  std::filesystem::remove_all(data);
  running_sim sim{config, {"--start", "2026-01-15T01:00:00Z"}};
  sim.set_load(40'000);
  std::size_t raw_before_restart = 0;
  {
    running_plantd plantd{config, {}, data.string()};
    REQUIRE(within(10s, [&] {
      grpc::Status st;
      auto r = query(plantd, "plant.grid_w", "raw", &st);
      return st.ok() && r.points_size() >= 3;
    }));
    v1::ListSeriesResponse list;
    REQUIRE(plantd.telemetry().ListSeries(ctx().get(), {}, &list).ok());
    std::vector<std::string> names(list.series().begin(), list.series().end());
    CHECK_THAT(names, Catch::VectorContains(std::string{"plant.soc_percent"}));
    CHECK_THAT(names, Catch::VectorContains(std::string{"cabinet.C01.power_w"}));
    CHECK_THAT(names, Catch::VectorContains(std::string{"inverter.pv-inv-1.power_w"}));

    auto soc = query(plantd, "plant.soc_percent", "raw");
    REQUIRE(soc.points_size() >= 3);
    const auto& last = soc.points(soc.points_size() - 1);
    CHECK(last.value() == Approx(50).margin(1));
    CHECK(last.quality() == v1::QUALITY_MEASURED);
    // Before the cabinets first answered the SOC was missing: recorded as
    // missing (not 0), and left out of the rollups.
    int measured = 0;
    for (const auto& p : soc.points())
      measured += p.quality() == v1::QUALITY_MEASURED ? 1 : 0;
    auto day = query(plantd, "plant.soc_percent", "day");
    REQUIRE(day.points_size() == 1);
    CHECK(day.points(0).count() >= static_cast<uint32_t>(measured));  // more may arrive meanwhile
    CHECK(day.points(0).min() > 40);
    auto autores = query(plantd, "plant.soc_percent", "auto");
    CHECK(autores.resolution() == "raw");

    grpc::Status st;
    query(plantd, "plant.nothing", "raw", &st);
    CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
    query(plantd, "plant.grid_w", "fortnight", &st);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::Contains("resolution: unknown resolution"));
    raw_before_restart =
      static_cast<std::size_t>(query(plantd, "plant.grid_w", "raw").points_size());
    // Compact: the same raw points as three columns, and no `points`.
    {
      auto full = query(plantd, "plant.grid_w", "raw");
      REQUIRE(full.points_size() > 0);
      auto end = TimeUtil::TimestampToMilliseconds(full.points(full.points_size() - 1).time()) + 1;
      full = query(plantd, "plant.grid_w", "raw", nullptr, false, end);
      auto cols = query(plantd, "plant.grid_w", "raw", nullptr, true, end);
      CHECK(cols.points_size() == 0);
      REQUIRE(cols.raw().time_ms_size() == full.points_size());
      REQUIRE(cols.raw().value_size() == full.points_size());
      REQUIRE(cols.raw().quality_size() == full.points_size());
      for (int i = 0; i < full.points_size(); ++i) {
        CHECK(cols.raw().time_ms(i) == TimeUtil::TimestampToMilliseconds(full.points(i).time()));
        CHECK(cols.raw().value(i) == full.points(i).value());
        CHECK(cols.raw().quality(i) == full.points(i).quality());
      }
      // Delta-coded times: the same times, summed step by step.
      auto delta = query(plantd, "plant.grid_w", "raw", nullptr, true, end, true);
      CHECK(delta.raw().time_ms_size() == 0);
      REQUIRE(delta.raw().time_delta_ms_size() == full.points_size());
      CHECK(delta.raw().value_size() == full.points_size());
      int64_t t = 0;
      for (int i = 0; i < full.points_size(); ++i) {
        t += delta.raw().time_delta_ms(i);
        CHECK(t == cols.raw().time_ms(i));
      }
      // Asked without compact, it would do nothing: refused.
      grpc::Status st;
      query(plantd, "plant.grid_w", "raw", &st, false, end, true);
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(st.error_message(), Catch::Contains("delta_times"));
    }

    v1::EnergyCurveRequest curve_req;
    curve_req.set_period(v1::CURVE_PERIOD_DAY);
    *curve_req.mutable_from() = TimeUtil::SecondsToTimestamp(0);
    v1::EnergyCurveResponse curve;
    REQUIRE(plantd.telemetry().EnergyCurve(ctx().get(), curve_req, &curve).ok());
    REQUIRE(curve.buckets_size() >= 1);
    const auto& today = curve.buckets(curve.buckets_size() - 1);
    CHECK(today.pv_wh() > 0);  // midday sun in the simulation
    CHECK(today.load_wh() > 0);
    CHECK(curve.grid_source() == "meter counters");
    curve_req.set_period(v1::CURVE_PERIOD_UNSPECIFIED);
    CHECK(plantd.telemetry().EnergyCurve(ctx().get(), curve_req, &curve).error_code()
          == grpc::StatusCode::INVALID_ARGUMENT);

    // Export: CSV equal to the query; .xlsx well formed (Python's zipfile and
    // XML parser read it).
    auto csv_path = write_temp_file("", ".csv");
    auto exported = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "export",
                                 "plant.soc_percent", "plant.grid_w", "--since", "1h",
                                 "--resolution", "raw", "--format", "csv", "-o", csv_path});
    INFO(exported.out);
    REQUIRE(exported.exit_code == 0);
    std::ifstream csv_in{csv_path};
    std::string header;
    std::getline(csv_in, header);
    CHECK(header == "time,plant.soc_percent,plant.grid_w");
    std::size_t rows = 0;
    for (std::string line; std::getline(csv_in, line);)
      ++rows;
    auto soc_now = query(plantd, "plant.soc_percent", "raw");
    CHECK(rows >= static_cast<std::size_t>(soc_now.points_size()) - 2);
    CHECK(rows <= static_cast<std::size_t>(soc_now.points_size()) + 2);
    std::remove(csv_path.c_str());
    auto xlsx_path = write_temp_file("", ".xlsx");
    auto xlsx = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "export",
                             "plant.soc_percent", "--since", "1h", "--resolution", "raw",
                             "--format", "xlsx", "-o", xlsx_path});
    REQUIRE(xlsx.exit_code == 0);
    auto check = run_command(
      {"/usr/bin/python3", "-c",
       "import sys, zipfile, xml.etree.ElementTree as ET\n"
       "z = zipfile.ZipFile(sys.argv[1])\n"
       "assert z.testzip() is None\n"
       "ns = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}\n"
       "rows = ET.fromstring(z.read('xl/worksheets/sheet1.xml')).findall('.//m:sheetData/m:row', "
       "ns)\n"
       "sheet = z.read('xl/worksheets/sheet1.xml').decode()\n"
       "assert 'plant.soc_percent' in sheet, sheet[:2000]\n"
       "print('rows', len(rows))\n",
       xlsx_path});
    INFO(check.out);
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Catch::Contains("rows "));
    std::remove(xlsx_path.c_str());

    // Statistics from what was recorded (the example's AUD tariff).
    auto stats = v1::StatisticsService::NewStub(
      grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials()));
    v1::Overview overview;
    REQUIRE(stats->GetOverview(ctx().get(), {}, &overview).ok());
    CHECK(overview.site_name() == "Wollongong Cold Store");
    CHECK(overview.rated_energy_wh() == 215'000);
    CHECK(overview.pv_today_wh() > 0);
    CHECK(overview.pv_to_site_w() > 0);
    v1::GetRevenueRequest rev_req;
    rev_req.set_period(v1::STATISTICS_PERIOD_DAY);
    *rev_req.mutable_from() = TimeUtil::SecondsToTimestamp(0);
    v1::GetRevenueResponse revenue;
    REQUIRE(stats->GetRevenue(ctx().get(), rev_req, &revenue).ok());
    CHECK(revenue.currency() == "AUD");
    REQUIRE(revenue.buckets_size() >= 1);
    CHECK(revenue.buckets(0).baseline_cost() > revenue.buckets(0).actual_cost());
    CHECK(revenue.total_savings() > 0);
    v1::SocialContribution social;
    REQUIRE(stats->GetSocialContribution(ctx().get(), {}, &social).ok());
    CHECK(social.pv_kwh() > 0);
    CHECK(social.co2_avoided_kg() == Approx(social.pv_kwh() * 0.64));
    CHECK(social.co2_kg_per_tree_year() == Approx(18.3));
    v1::DeviceStatistics devices;
    REQUIRE(stats->GetDeviceStatistics(ctx().get(), {}, &devices).ok());
    REQUIRE(devices.cabinets_size() == 1);
    const auto& cab = devices.cabinets(0);
    CHECK(cab.id() == "C01");
    CHECK(cab.soh_percent().value() == Approx(98));
    CHECK(cab.cell_voltage_max_v().value() > cab.cell_voltage_min_v().value());
    CHECK(cab.fire_state() == "normal");
    CHECK(cab.pump_running());
    CHECK(cab.coolant_outlet_c().value() > cab.coolant_inlet_c().value());

    v1::PlantState snapshot;
    REQUIRE(plantd.telemetry().GetSnapshot(ctx().get(), {}, &snapshot).ok());
    REQUIRE(snapshot.cabinets_size() == 1);
    CHECK(snapshot.cabinets(0).available());
    CHECK(snapshot.soc_percent().quality() == v1::QUALITY_MEASURED);
    {
      grpc::ClientContext sctx;
      sctx.set_deadline(std::chrono::system_clock::now() + 10s);
      auto reader = plantd.telemetry().StreamTelemetry(&sctx, {});
      v1::PlantState a, b;
      REQUIRE(reader->Read(&a));
      REQUIRE(reader->Read(&b));
      CHECK(b.decisions() > a.decisions());
      sctx.TryCancel();
      reader->Finish();
    }

    auto curve_cli =
      run_command({bin_dir + "/plantctl", "--target", plantd.target(), "curve", "day"});
    INFO(curve_cli.out);
    CHECK(curve_cli.exit_code == 0);
    CHECK_THAT(curve_cli.out, Catch::Contains("(grid: meter counters)"));
    auto stats_cli = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "stats"});
    INFO(stats_cli.out);
    CHECK(stats_cli.exit_code == 0);
    CHECK_THAT(stats_cli.out, Catch::Contains("Wollongong Cold Store"));
    CHECK_THAT(stats_cli.out, Catch::Contains("AUD saved"));
    CHECK_THAT(stats_cli.out, Catch::Contains("kg CO2 avoided"));

    auto cli = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "history",
                            "plant.soc_percent", "--since", "1h", "--resolution", "hour"});
    INFO(cli.out);
    CHECK(cli.exit_code == 0);
    CHECK_THAT(cli.out, Catch::Contains("plant.soc_percent at hour resolution"));
    auto listed = run_command({bin_dir + "/plantctl", "--target", plantd.target(), "history"});
    CHECK_THAT(listed.out, Catch::Contains("cabinet.C01.power_w"));
  }
  // A restart on the same data directory keeps the history.
  running_plantd again{config, {}, data.string()};
  auto after = query(again, "plant.grid_w", "raw");
  CHECK(static_cast<std::size_t>(after.points_size()) >= raw_before_restart);
  std::filesystem::remove_all(data);
  std::remove(config.c_str());
}
