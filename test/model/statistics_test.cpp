#include <catch2/catch.hpp>

#include "model/statistics/statistics.hpp"

using namespace plantd;
using namespace plantd::statistics;

namespace {

absl::TimeZone sydney() {
  absl::TimeZone tz;
  absl::LoadTimeZone("Australia/Sydney", &tz);
  return tz;
}

int64_t local_ms(int y, int m, int d, int h) {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilHour(y, m, d, h), sydney()));
}

plant::economics tariff() {
  plant::economics e;
  e.currency = "AUD";
  // Peak 14:00-20:00 on weekdays, off-peak otherwise; feed-in 0.05.
  std::vector<plant::weekday> weekdays{plant::weekday::monday, plant::weekday::tuesday,
                                       plant::weekday::wednesday, plant::weekday::thursday,
                                       plant::weekday::friday};
  e.import_prices = {{weekdays, "00:00", "14:00", 0.20},
                     {weekdays, "14:00", "20:00", 0.50},
                     {weekdays, "20:00", "24:00", 0.20},
                     {{plant::weekday::saturday, plant::weekday::sunday}, "00:00", "24:00", 0.15}};
  e.feed_in_price_per_kwh = 0.05;
  return e;
}

}  // namespace

TEST_CASE("the import price follows the weekly tariff in site time", "[statistics]") {
  auto e = tariff();
  // 2026-06-10 is a Wednesday.
  CHECK(import_price(e, local_ms(2026, 6, 10, 13), sydney()) == 0.20);
  CHECK(import_price(e, local_ms(2026, 6, 10, 14), sydney()) == 0.50);
  CHECK(import_price(e, local_ms(2026, 6, 10, 20), sydney()) == 0.20);
  CHECK(import_price(e, local_ms(2026, 6, 13, 15), sydney()) == 0.15);  // Saturday
  CHECK(import_price(plant::economics{}, local_ms(2026, 6, 10, 15), sydney()) == 0);
}

TEST_CASE("revenue: savings against buying the same load from the grid", "[statistics]") {
  auto e = tariff();
  // Wednesday: a peak hour where the battery covers the load, a midday hour
  // where PV exports.
  std::vector<hourly_energy> hours{
    {local_ms(2026, 6, 10, 15), 100'000, 0, 10'000, 0},      // peak: 100 kWh load, 10 imported
    {local_ms(2026, 6, 10, 12), 50'000, 80'000, 0, 30'000},  // PV 80, exports 30
  };
  auto r = revenue_of(hours, e, sydney());
  CHECK(r.baseline_cost == Approx(100 * 0.50 + 50 * 0.20));
  CHECK(r.actual_cost == Approx(10 * 0.50 - 30 * 0.05));
  CHECK(r.savings == Approx(60 - 3.5));
  CHECK(r.load_kwh == Approx(150));
  CHECK(r.export_kwh == Approx(30));
}

TEST_CASE("social contribution from PV energy with the configured factors", "[statistics]") {
  plant::economics e;                // defaults
  auto s = social_of(1'000'000, e);  // 1 MWh
  CHECK(s.pv_kwh == 1000);
  CHECK(s.co2_kg == Approx(570.3));
  CHECK(s.coal_kg == Approx(305));
  CHECK(s.tree_years == Approx(570.3 / 18.3));
  e.co2_kg_per_kwh = 0.7;
  CHECK(social_of(1'000'000, e).co2_kg == Approx(700));
}
