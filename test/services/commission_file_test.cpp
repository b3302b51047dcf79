// A commissioning report as a file: named after the config version and the
// site's date of the run, JSON or .xlsx, and an unknown format refused.
#include <catch2/catch.hpp>

#include <google/protobuf/util/time_util.h>

#include "services/commissioning.hpp"

using namespace plantd;
using google::protobuf::util::TimeUtil;

TEST_CASE("a commissioning report's file is named by the site's date of the run", "[services]") {
  v1::CommissionReport r;
  r.set_config_version(7);
  // 20:30 UTC on 30 November is already 1 December in Shanghai.
  REQUIRE(TimeUtil::FromString("2026-11-30T20:30:00Z", r.mutable_started_at()));
  REQUIRE(TimeUtil::FromString("2026-11-30T20:31:00Z", r.mutable_finished_at()));
  auto* c = r.add_checks();
  c->set_name("serial_number");
  c->set_device("C03");
  c->set_result(v1::CHECK_RESULT_FAIL);

  auto json = services::commission_file(r, "Site", "Asia/Shanghai", "json");
  REQUIRE(json);
  CHECK(json->filename() == "commissioning-v7-20261201.json");
  CHECK_THAT(json->data(), Catch::Contains("\"C03\""));
  auto utc = services::commission_file(r, "Site", "UTC", "json");
  REQUIRE(utc);
  CHECK(utc->filename() == "commissioning-v7-20261130.json");

  auto xlsx = services::commission_file(r, "Site", "Asia/Shanghai", "xlsx");
  REQUIRE(xlsx);
  CHECK(xlsx->filename() == "commissioning-v7-20261201.xlsx");
  CHECK(xlsx->data().substr(0, 2) == "PK");  // a zip, as .xlsx files are

  auto pdf = services::commission_file(r, "Site", "UTC", "pdf");
  REQUIRE_FALSE(pdf);
  CHECK_THAT(pdf.error(), Catch::Contains("json or xlsx"));
}
