#include "model/telemetry/rollup.hpp"

#include <algorithm>
#include <cstring>

namespace plantd::telemetry {

const char* to_string(resolution r) noexcept {
  switch (r) {
    case resolution::raw: return "raw";
    case resolution::five_minutes: return "5m";
    case resolution::hour: return "hour";
    case resolution::day: return "day";
    case resolution::month: return "month";
    case resolution::year: return "year";
  }
  return "?";
}

std::optional<resolution> resolution_from(std::string_view n) noexcept {
  for (auto r : {resolution::raw, resolution::five_minutes, resolution::hour, resolution::day,
                 resolution::month, resolution::year})
    if (n == to_string(r))
      return r;
  return std::nullopt;
}

namespace {

absl::Time to_absl(time_point t) {
  return absl::FromUnixMillis(t.time_since_epoch().count());
}

time_point from_absl(absl::Time t) {
  return time_point{std::chrono::milliseconds{absl::ToUnixMillis(t)}};
}

// Local civil start of the bucket containing `cs`.
absl::CivilSecond floor_civil(absl::CivilSecond cs, resolution r) {
  switch (r) {
    case resolution::five_minutes:
      return absl::CivilSecond(cs.year(), cs.month(), cs.day(), cs.hour(), cs.minute() / 5 * 5, 0);
    case resolution::hour: return absl::CivilHour(cs);
    case resolution::day: return absl::CivilDay(cs);
    case resolution::month: return absl::CivilMonth(cs);
    case resolution::year: return absl::CivilYear(cs);
    case resolution::raw: break;
  }
  return cs;
}

absl::CivilSecond next_civil(absl::CivilSecond start, resolution r) {
  switch (r) {
    case resolution::five_minutes: return start + 300;
    case resolution::hour: return absl::CivilSecond(absl::CivilHour(start) + 1);
    case resolution::day: return absl::CivilSecond(absl::CivilDay(start) + 1);
    case resolution::month: return absl::CivilSecond(absl::CivilMonth(start) + 1);
    case resolution::year: return absl::CivilSecond(absl::CivilYear(start) + 1);
    case resolution::raw: break;
  }
  return start + 1;
}

}  // namespace

time_point bucket_start(time_point t, resolution r, const absl::TimeZone& tz) {
  if (r == resolution::raw)
    return t;
  auto at = to_absl(t);
  auto cs = absl::ToCivilSecond(at, tz);
  auto start = floor_civil(cs, r);
  // A civil time skipped by DST (spring forward) maps to the transition.
  auto info = tz.At(start);
  auto u = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
  // During the repeated hour (fall back), the bucket that contains `at` is
  // the later of the two candidates that does not lie after `at`.
  if (info.kind == absl::TimeZone::TimeInfo::REPEATED && info.post <= at)
    u = info.post;
  return from_absl(u);
}

time_point bucket_end(time_point t, resolution r, const absl::TimeZone& tz) {
  if (r == resolution::raw)
    return t + std::chrono::milliseconds{1};
  auto start = bucket_start(t, r, tz);
  auto cs = absl::ToCivilSecond(to_absl(start), tz);
  auto civil_start = floor_civil(cs, r);
  auto next = next_civil(civil_start, r);
  auto info = tz.At(next);
  auto u = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
  auto end = from_absl(u);
  // The first pass of a repeated local hour ends where the second begins.
  auto here = tz.At(civil_start);
  if (here.kind == absl::TimeZone::TimeInfo::REPEATED && to_absl(start) == here.pre)
    end = std::min(end, from_absl(here.post));
  return end;
}

void aggregate::add(int64_t t_ms, double v) noexcept {
  ++count;
  sum += v;
  min = std::min(min, v);
  max = std::max(max, v);
  if (t_ms < first_ms) {
    first_ms = t_ms;
    first = v;
  }
  if (t_ms >= last_ms) {
    last_ms = t_ms;
    last = v;
  }
}

void aggregate::merge(const aggregate& o) noexcept {
  if (o.count == 0)
    return;
  count += o.count;
  sum += o.sum;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  if (o.first_ms < first_ms) {
    first_ms = o.first_ms;
    first = o.first;
  }
  if (o.last_ms >= last_ms) {
    last_ms = o.last_ms;
    last = o.last;
  }
}

void aggregate::encode(char* out) const noexcept {
  std::memcpy(out, &count, 4);
  const double d[] = {
    sum, min, max, static_cast<double>(first_ms), first, static_cast<double>(last_ms), last};
  std::memcpy(out + 4, d, sizeof d);
}

aggregate aggregate::decode(const char* in) noexcept {
  aggregate a;
  std::memcpy(&a.count, in, 4);
  double d[7];
  std::memcpy(d, in + 4, sizeof d);
  a.sum = d[0];
  a.min = d[1];
  a.max = d[2];
  a.first_ms = static_cast<int64_t>(d[3]);
  a.first = d[4];
  a.last_ms = static_cast<int64_t>(d[5]);
  a.last = d[6];
  return a;
}

}  // namespace plantd::telemetry
