#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

#include "drivers/store/energy_curve.hpp"

using namespace plantd;
using namespace plantd::store;

namespace {

struct temp_store {
  std::filesystem::path dir =
    std::filesystem::temp_directory_path() / ("plantd-curve-" + std::to_string(getpid()));
  std::unique_ptr<store::store> db;
  temp_store() {
    std::filesystem::remove_all(dir);
    absl::TimeZone tz;
    absl::LoadTimeZone("Europe/Berlin", &tz);
    db = std::move(*store::store::open(dir, {tz, false}));
  }
  ~temp_store() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

// Monday 2026-06-08 00:00 in Berlin (CEST) = 22:00 UTC the day before.
const int64_t monday = 1'780'869'600'000;

}  // namespace

TEST_CASE("energy per day from integrated power and from meter counters", "[store][curve]") {
  temp_store s;
  auto pv = *s.db->series_id(series_names::pv);
  auto charge = *s.db->series_id(series_names::battery_charge);
  auto import_counter = *s.db->series_id(series_names::import_counter);
  auto export_counter = *s.db->series_id(series_names::export_counter);
  std::vector<point> batch;
  // Two days, one sample a minute: PV 10 kW, charging 2 kW; the import
  // counter grows 1 kWh an hour from 5,000 kWh, export stays.
  for (int64_t m = 0; m < 2 * 24 * 60; ++m) {
    int64_t t = monday + m * 60'000;
    batch.push_back({pv, t, 10'000, quality::measured});
    batch.push_back({charge, t, 2'000, quality::measured});
    batch.push_back({import_counter, t, 5'000'000 + m * 1000.0 / 60, quality::measured});
    batch.push_back({export_counter, t, 700'000, quality::measured});
  }
  REQUIRE(s.db->write(batch));
  auto days = energy_curve(*s.db, curve_period::day, monday, monday + 2 * 86'400'000, 60.0);
  REQUIRE(days.buckets.size() == 2);
  CHECK(days.grid_from_counters);
  CHECK(days.buckets[0].start_ms == monday);
  CHECK(days.buckets[0].pv_wh == Approx(240'000));
  CHECK(days.buckets[0].battery_charge_wh == Approx(48'000));
  // The first day counts from its first reading (the last minute's delta
  // belongs to the next day); the second day gets a full 24 kWh.
  CHECK(days.buckets[0].grid_import_wh == Approx(24'000 - 1000.0 / 60));
  CHECK(days.buckets[1].grid_import_wh == Approx(24'000));
  CHECK(days.buckets[1].grid_export_wh == 0);
  auto week = energy_curve(*s.db, curve_period::week, monday, monday + 2 * 86'400'000, 60.0);
  REQUIRE(week.buckets.size() == 1);
  CHECK(week.buckets[0].start_ms == monday);
  CHECK(week.buckets[0].pv_wh == Approx(480'000));
  auto total = energy_curve(*s.db, curve_period::total, monday, monday + 2 * 86'400'000, 60.0);
  REQUIRE(total.buckets.size() == 1);
  CHECK(total.buckets[0].battery_charge_wh == Approx(96'000));
}

TEST_CASE("without meter counters grid energy is integrated power", "[store][curve]") {
  temp_store s;
  auto imp = *s.db->series_id(series_names::grid_import);
  std::vector<point> batch;
  for (int64_t m = 0; m < 60; ++m)
    batch.push_back({imp, monday + m * 60'000, 6'000, quality::measured});
  REQUIRE(s.db->write(batch));
  auto c = energy_curve(*s.db, curve_period::day, monday, monday + 86'400'000, 60.0);
  CHECK_FALSE(c.grid_from_counters);
  REQUIRE(c.buckets.size() == 1);
  CHECK(c.buckets[0].grid_import_wh == Approx(6'000));
}
