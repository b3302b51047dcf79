// A hostile client against a running plantd controlling plant-sim: every
// malformed and oversized request of the hardening issue, each answered with
// a clear status, while plantd stays up and keeps the zero-export limit.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "plantd/v1/alarm.grpc.pb.h"
#include "plantd/v1/energy.grpc.pb.h"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

const std::string sydney_noon = "2026-01-15T01:00:00Z";

std::string chain(std::size_t terms) {
  std::string f = "1";
  for (std::size_t i = 1; i < terms; ++i)
    f += "+1";
  return f;
}

// What a status says must reach the client: under its 8 KB header limit.
void clear_status(const grpc::Status& st, grpc::StatusCode want, const std::string& says) {
  INFO("status " << st.error_code() << ": " << st.error_message().substr(0, 300));
  CHECK(st.error_code() == want);
  CHECK(st.error_message().find(says) != std::string::npos);
  CHECK(st.error_message().size() < 4096);
}

}  // namespace

TEST_CASE("hostile requests: each refused with a clear status, plantd up, export held",
          "[e2e][hostile]") {
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", sydney_noon, "--soc", "50"}};
  sim.set_load(5'000);  // PV above the load: zero export is what holds the grid
  running_plantd plantd{config};
  REQUIRE(within(30s, [&] {  // settled (longer under a parallel ctest)
    auto s = sim.state();
    return s.pv_w() > 10'000 && std::abs(s.grid_w()) < 1'500;
  }));
  auto channel = grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials());
  auto energy = v1::EnergyCarbonService::NewStub(channel);
  auto plant = v1::PlantService::NewStub(channel);
  auto alarms = v1::AlarmService::NewStub(channel);
  double worst_grid = 0;
  auto watch = [&] { worst_grid = std::min(worst_grid, sim.state().grid_w()); };

  SECTION("a 40 KB formula and a 5,000-term one") {
    for (std::size_t terms : {20'000u, 5'000u}) {
      v1::ValidateFormulaRequest req;
      req.mutable_indicator()->set_id("x");
      req.mutable_indicator()->set_name("X");
      req.mutable_indicator()->set_template_id("electricity_use");
      req.mutable_indicator()->set_owner("nowhere");
      req.mutable_indicator()->set_source("formula");
      req.mutable_indicator()->set_formula(chain(terms));
      v1::ValidateFormulaResponse resp;
      auto st = energy->ValidateFormula(ctx().get(), req, &resp);
      INFO(terms << " terms: " << st.error_message().substr(0, 200));
      CHECK((!st.ok() || !resp.valid()));
      watch();
    }
  }
  SECTION("unknown working modes and a TOU slot of 1e308 W") {
    for (int mode : {99, -5}) {
      v1::SetModeRequest req;
      req.set_mode(static_cast<v1::WorkingMode>(mode));
      v1::SetModeResponse resp;
      clear_status(plantd.control().SetMode(ctx().get(), req, &resp),
                   grpc::StatusCode::INVALID_ARGUMENT, "unknown working mode");
    }
    v1::SetModeRequest req;
    req.set_mode(v1::WORKING_MODE_TIME_OF_USE);
    auto* slot = req.mutable_tou()->add_slots();
    slot->set_start("00:00");
    slot->set_end("24:00");
    slot->set_action(v1::SLOT_ACTION_DISCHARGE);
    slot->set_power_w(1e308);
    v1::SetModeResponse resp;
    clear_status(plantd.control().SetMode(ctx().get(), req, &resp),
                 grpc::StatusCode::INVALID_ARGUMENT, "power_w");
    CHECK(plantd.state().mode() == v1::WORKING_MODE_SELF_CONSUMPTION);
    watch();
  }
  SECTION("paging tokens of -1 and 2^70") {
    for (const char* token : {"-1", "1180591620717411303424", "12abc"}) {
      v1::ListAlarmsRequest req;
      req.set_page_token(token);
      v1::ListAlarmsResponse resp;
      clear_status(alarms->ListAlarms(ctx().get(), req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                   "page_token");
    }
    watch();
  }
  SECTION("timestamps of +-2^62 s") {
    for (int64_t seconds : {int64_t{1} << 62, -(int64_t{1} << 62)}) {
      v1::QueryHistoryRequest req;
      req.set_series("plant.grid_w");
      req.mutable_from()->set_seconds(seconds);
      v1::QueryHistoryResponse resp;
      auto st = plantd.telemetry().QueryHistory(ctx().get(), req, &resp);
      if (st.error_code() != grpc::StatusCode::NOT_FOUND)  // the series may not exist yet
        clear_status(st, grpc::StatusCode::INVALID_ARGUMENT, "from: must be a time");
      v1::RecordReadingRequest rr;
      rr.set_meter("m1");
      rr.mutable_time()->set_seconds(seconds);
      v1::RecordReadingResponse rresp;
      auto rs = energy->RecordReading(ctx().get(), rr, &rresp);
      CHECK_FALSE(rs.ok());
    }
    watch();
  }
  SECTION("exports beyond the bounds: one series 100,000 times, 65 series, 10^6 rows") {
    REQUIRE(within(10s, [&] {
      v1::ListSeriesResponse list;
      return plantd.telemetry().ListSeries(ctx().get(), {}, &list).ok() && list.series_size() > 0;
    }));
    auto export_status = [&](const v1::ExportRequest& req) {
      auto c = ctx(30s);
      auto reader = plantd.telemetry().Export(c.get(), req);
      v1::ExportChunk chunk;
      while (reader->Read(&chunk)) {
      }
      return reader->Finish();
    };
    auto base = [] {
      v1::ExportRequest req;
      req.mutable_from()->set_seconds(1'700'000'000);
      req.set_format(v1::EXPORT_FORMAT_CSV);
      return req;
    };
    auto repeated = base();
    for (int i = 0; i < 100'000; ++i)
      repeated.add_series("plant.grid_w");
    clear_status(export_status(repeated), grpc::StatusCode::INVALID_ARGUMENT, "at most 64 series");
    auto twice = base();
    twice.add_series("plant.grid_w");
    twice.add_series("plant.grid_w");
    clear_status(export_status(twice), grpc::StatusCode::INVALID_ARGUMENT, "already a column");
    auto rows = base();
    rows.add_series("plant.grid_w");
    rows.set_max_rows(1'000'000);
    clear_status(export_status(rows), grpc::StatusCode::INVALID_ARGUMENT,
                 "max_rows: at most 100000");
    watch();
  }
  SECTION("300 open streams: 256 served, the rest refused, and a slot frees when one closes") {
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < 10; ++i) {
      grpc::ChannelArguments a;
      a.SetInt("plantd.test.connection", i);  // one connection each
      channels.push_back(
        grpc::CreateCustomChannel(plantd.target(), grpc::InsecureChannelCredentials(), a));
    }
    struct open_stream {
      std::unique_ptr<v1::ControlService::Stub> stub;
      std::unique_ptr<grpc::ClientContext> ctx;
      std::unique_ptr<grpc::ClientReader<v1::PlantState>> reader;
    };
    std::vector<open_stream> streams;
    int live = 0;
    int refused = 0;
    for (int i = 0; i < 300; ++i) {  // 30 per connection, within its 32
      open_stream o;
      o.stub = v1::ControlService::NewStub(channels[i % channels.size()]);
      o.ctx = ctx(30s);
      o.reader = o.stub->StreamState(o.ctx.get(), {});
      v1::PlantState st;
      if (o.reader->Read(&st)) {
        ++live;
      } else {
        auto fin = o.reader->Finish();
        CHECK(fin.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
        CHECK_THAT(fin.error_message(), Catch::Contains("too many open streams"));
        ++refused;
        o.reader.reset();
      }
      streams.push_back(std::move(o));
    }
    CHECK(live == 256);
    CHECK(refused == 44);
    watch();
    for (auto& o : streams)
      if (o.reader)
        o.ctx->TryCancel();
    streams.clear();
    CHECK(within(5s, [&] {
      auto c = ctx();
      auto r = plantd.control().StreamState(c.get(), {});
      v1::PlantState st;
      bool ok = r->Read(&st);
      c->TryCancel();
      return ok;
    }));
  }
  SECTION("a 1 MB invalid config: the reason reaches the client, not RESOURCE_EXHAUSTED") {
    v1::ValidateConfigRequest req;
    req.set_config_json("{\"site\": {\"name\": \"" + std::string(1'000'000, 'x')
                        + "\", \"time_zone\": \"Nowhere/" + std::string(100'000, 'y') + "\"}}");
    v1::ValidateConfigResponse resp;
    auto st = plant->ValidateConfig(ctx(30s).get(), req, &resp);
    CHECK(st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED);
    if (st.ok()) {
      CHECK_FALSE(resp.valid());
    }
    watch();
  }

  // plantd is up, answers, and the plant never exported beyond the limit's
  // tolerance while the requests came in.
  auto s = plantd.state();
  CHECK(s.decisions() > 0);
  CHECK(::kill(plantd.process().pid(), 0) == 0);
  CHECK(within(5s, [&] { return sim.state().grid_w() > -1'500; }));
  WARN("worst grid power seen during the hostile requests: " << worst_grid / 1000 << " kW");
}
