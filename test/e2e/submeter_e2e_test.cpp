// Energy sub-meters polled live: a sub-meter on an RS485 line (plant-sim,
// through its TCP gateway) is read by plantd with the same point tables
// and meter actor as the plant's meters; its counter feeds the
// energy-carbon meter bound to it ("meter.<id>"), hour by hour; silent, it
// raises a comm_lost warning and feeds nothing until it answers again.
#include <catch2/catch.hpp>

#include <absl/time/clock.h>
#include <absl/time/time.h>

#include "plantd/v1/alarm.grpc.pb.h"
#include "plantd/v1/energy.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

const v1::SubMeterState* sub(const v1::PlantState& s, const std::string& id) {
  for (const auto& m : s.sub_meters())
    if (m.id() == id)
      return &m;
  return nullptr;
}

bool comm_lost_open(v1::AlarmService::Stub& alarms, const std::string& device) {
  v1::ListAlarmsRequest req;
  req.set_state(v1::ListAlarmsRequest::STATE_OPEN);
  v1::ListAlarmsResponse r;
  if (!alarms.ListAlarms(ctx().get(), req, &r).ok())
    return false;
  for (const auto& a : r.alarms())
    if (a.code() == "comm_lost" && a.device() == device)
      return true;
  return false;
}

}  // namespace

TEST_CASE("energy sub-meters: read live into their energy meter's hours, and silent a warning",
          "[e2e][energy][submeter]") {
  auto config = sim_config("single-cabinet", "", [](v1::PlantConfig& m) {
    auto* d = m.mutable_rs485_lines(1)->add_devices();  // on RS485-2, with the PV meter
    d->set_id("press-line");
    d->set_role(v1::DEVICE_ROLE_SUB_METER);
    d->set_point_table("chint-dtsu666");
    d->set_unit_id(7);
  });
  running_sim sim{config};
  sim.set_load(36'000);  // the sub-meter sees half: 18 kW
  running_plantd plantd{config};
  plantd.state(1);
  auto channel = grpc::CreateChannel(plantd.target(), grpc::InsecureChannelCredentials());
  auto energy = v1::EnergyCarbonService::NewStub(channel);
  auto alarms = v1::AlarmService::NewStub(channel);

  // The enterprise's meter, bound to the sub-meter.
  v1::PutManyRequest put;
  auto* n = put.add_items()->mutable_node();
  n->set_id("works");
  n->set_name("Works");
  n->set_kind("plant");
  n->set_metering_level(1);
  auto* mt = put.add_items()->mutable_meter();
  mt->set_id("m_press");
  mt->set_name("Press line");
  mt->set_energy_type("electricity");
  mt->set_node("works");
  mt->set_metering_level(2);
  mt->set_live_source("meter.press-line");
  auto* ind = put.add_items()->mutable_indicator();
  ind->set_id("m_press.v");
  ind->set_name("Reading");
  ind->set_template_id("active_energy");
  ind->set_owner("m_press");
  ind->set_source("meter");
  v1::PutManyResponse put_r;
  auto st = energy->PutMany(ctx().get(), put, &put_r);
  INFO(st.error_message());
  REQUIRE(st.ok());
  // A live source that names no sub-meter form is refused.
  {
    v1::PutRequest bad;
    *bad.mutable_meter() = *mt;
    bad.mutable_meter()->set_live_source("press-line");
    v1::PutResponse r;
    auto s = energy->Put(ctx().get(), bad, &r);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message().find("meter.<sub-meter id>") != std::string::npos);
  }

  // plantd reads it: in GetState, with its counter.
  v1::PlantState s;
  REQUIRE(within(10s, [&] {
    s = plantd.state(1);
    auto* m = sub(s, "press-line");
    return m && m->available() && m->import_wh().quality() == v1::QUALITY_MEASURED;
  }));
  CHECK(sub(s, "press-line")->power_w().value() == Approx(18'000).epsilon(0.05));

  // Its consumption reaches the meter's hour (live readings every 10 s).
  auto hour_value = [&] {
    v1::QueryRequest q;
    q.add_indicators("m_press.v");
    q.set_resolution("hour");
    // Yesterday and today in the enterprise's zone (a test at midnight).
    absl::TimeZone tz;
    REQUIRE(absl::LoadTimeZone("Asia/Shanghai", &tz));
    q.set_from(absl::FormatTime("%Y-%m-%d", absl::Now() - absl::Hours(24), tz));
    q.set_to(absl::FormatTime("%Y-%m-%d", absl::Now(), tz));
    v1::QueryResponse r;
    double sum = 0;
    if (!energy->Query(ctx().get(), q, &r).ok() || r.series_size() != 1)
      return -1.0;
    for (int i = 0; i < r.series(0).values_size(); ++i)
      if (r.series(0).quality(i) == v1::QUALITY_MEASURED
          || r.series(0).quality(i) == v1::QUALITY_ESTIMATED)
        sum += r.series(0).values(i);
    return sum;
  };
  REQUIRE(within(40s, [&] { return hour_value() > 0.04; }));  // 18 kW for 10 s: 0.05 kWh
  // Never more than the counter has advanced since plantd started.
  double counter_kwh = sub(plantd.state(1), "press-line")->import_wh().value() / 1000;
  CHECK(hour_value() <= counter_kwh + 1e-9);

  // Silent: a warning, and nothing fed; back: the alarm clears.
  sim.inject("press-line", v1::FAULT_KIND_SILENT);
  REQUIRE(within(15s, [&] { return comm_lost_open(*alarms, "press-line"); }));
  s = plantd.state(1);
  CHECK_FALSE(sub(s, "press-line")->available());
  CHECK(s.grid_meter_available());  // control goes on
  v1::ClearFaultsRequest clear;
  clear.set_device_id("press-line");
  v1::ClearFaultsResponse cleared;
  REQUIRE(sim.sim().ClearFaults(ctx().get(), clear, &cleared).ok());
  REQUIRE(within(15s, [&] { return !comm_lost_open(*alarms, "press-line"); }));
  CHECK(sub(plantd.state(1), "press-line")->available());
}
