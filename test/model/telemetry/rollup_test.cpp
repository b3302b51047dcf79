// Rollup buckets in the site's time zone: DST days of 23 and 25 hours, the
// repeated hour, zones with half-hour offsets, month ends and leap years.
#include <catch2/catch.hpp>

#include "model/telemetry/rollup.hpp"

using namespace plantd;
using namespace plantd::telemetry;

namespace {

absl::TimeZone zone(const char* name) {
  absl::TimeZone tz;
  REQUIRE(absl::LoadTimeZone(name, &tz));
  return tz;
}

time_point utc(int y, int mo, int d, int h, int mi = 0) {
  auto t = absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
  return time_point{std::chrono::milliseconds{absl::ToUnixMillis(t)}};
}

double hours(time_point a, time_point b) {
  return std::chrono::duration<double>(b - a).count() / 3600;
}

}  // namespace

TEST_CASE("a local day is 23 or 25 hours around DST changes", "[rollup][dst]") {
  auto berlin = zone("Europe/Berlin");
  // 2026-03-29: clocks go 02:00 -> 03:00. Noon local = 10:00 UTC.
  auto spring = utc(2026, 3, 29, 10);
  CHECK(hours(bucket_start(spring, resolution::day, berlin),
              bucket_end(spring, resolution::day, berlin))
        == 23);
  CHECK(bucket_start(spring, resolution::day, berlin) == utc(2026, 3, 28, 23));
  // 2026-10-25: clocks go 03:00 -> 02:00.
  auto autumn = utc(2026, 10, 25, 11);
  CHECK(hours(bucket_start(autumn, resolution::day, berlin),
              bucket_end(autumn, resolution::day, berlin))
        == 25);
  // An ordinary day.
  auto plain = utc(2026, 6, 10, 10);
  CHECK(
    hours(bucket_start(plain, resolution::day, berlin), bucket_end(plain, resolution::day, berlin))
    == 24);
}

TEST_CASE("the repeated hour of the autumn change is two hour buckets", "[rollup][dst]") {
  auto berlin = zone("Europe/Berlin");
  auto first = utc(2026, 10, 25, 0, 30);   // 02:30 CEST
  auto second = utc(2026, 10, 25, 1, 30);  // 02:30 CET
  auto b1 = bucket_start(first, resolution::hour, berlin);
  auto b2 = bucket_start(second, resolution::hour, berlin);
  CHECK(b1 == utc(2026, 10, 25, 0));
  CHECK(b2 == utc(2026, 10, 25, 1));
  CHECK(bucket_end(first, resolution::hour, berlin) == b2);
  CHECK(hours(b2, bucket_end(second, resolution::hour, berlin)) == 1);
}

TEST_CASE("hours follow the local clock in half-hour zones", "[rollup]") {
  auto adelaide = zone("Australia/Adelaide");  // UTC+9:30 in winter
  auto t = utc(2026, 6, 10, 3, 45);            // 13:15 local
  CHECK(bucket_start(t, resolution::hour, adelaide) == utc(2026, 6, 10, 3, 30));
  CHECK(bucket_start(t, resolution::five_minutes, adelaide) == utc(2026, 6, 10, 3, 45));
  CHECK(bucket_start(t + std::chrono::minutes{4}, resolution::five_minutes, adelaide)
        == utc(2026, 6, 10, 3, 45));
}

TEST_CASE("month and year buckets end at local month and year ends", "[rollup]") {
  auto shanghai = zone("Asia/Shanghai");  // UTC+8, no DST
  // 2028-02-29 12:00 local: a leap-year February.
  auto leap = utc(2028, 2, 29, 4);
  CHECK(bucket_start(leap, resolution::month, shanghai) == utc(2028, 1, 31, 16));
  CHECK(bucket_end(leap, resolution::month, shanghai) == utc(2028, 2, 29, 16));
  // The last minute of January local belongs to January.
  auto jan_end = utc(2026, 1, 31, 15, 59);
  CHECK(bucket_start(jan_end, resolution::month, shanghai) == utc(2025, 12, 31, 16));
  CHECK(bucket_start(jan_end + std::chrono::minutes{1}, resolution::month, shanghai)
        == utc(2026, 1, 31, 16));
  CHECK(bucket_start(jan_end, resolution::year, shanghai) == utc(2025, 12, 31, 16));
  CHECK(bucket_end(jan_end, resolution::year, shanghai) == utc(2026, 12, 31, 16));
}

TEST_CASE("aggregates merge in any order to the same result", "[rollup]") {
  aggregate a, b, all;
  for (int i = 0; i < 10; ++i) {
    (i % 2 ? a : b).add(i * 1000, i * 1.5);
    all.add(i * 1000, i * 1.5);
  }
  aggregate ab = a;
  ab.merge(b);
  aggregate ba = b;
  ba.merge(a);
  for (const auto* x : {&ab, &ba}) {
    CHECK(x->count == all.count);
    CHECK(x->sum == Approx(all.sum));
    CHECK(x->min == all.min);
    CHECK(x->max == all.max);
    CHECK(x->first_ms == 0);
    CHECK(x->last_ms == 9000);
    CHECK(x->last == Approx(13.5));
  }
  char buf[aggregate::encoded_size];
  all.encode(buf);
  auto back = aggregate::decode(buf);
  CHECK(back.count == 10);
  CHECK(back.mean() == Approx(6.75));
  CHECK(back.last_ms == 9000);
}
