#include "drivers/store/energy_curve.hpp"

#include <map>

namespace plantd::store {

using telemetry::resolution;

namespace {

resolution rollup_of(curve_period p) {
  switch (p) {
    case curve_period::hour: return resolution::hour;
    case curve_period::month: return resolution::month;
    case curve_period::year:
    case curve_period::total: return resolution::year;
    default: return resolution::day;
  }
}

// The bucket a rollup bucket belongs to (weeks start on Monday, local time).
int64_t group_start(int64_t start_ms, curve_period p, const absl::TimeZone& tz) {
  if (p == curve_period::total)
    return 0;
  if (p != curve_period::week)
    return start_ms;
  auto day = absl::CivilDay(absl::ToCivilSecond(absl::FromUnixMillis(start_ms), tz));
  auto monday = absl::PrevWeekday(day + 1, absl::Weekday::monday);
  return absl::ToUnixMillis(absl::FromCivil(monday, tz));
}

}  // namespace

energy_curve_result energy_curve(const store& db, curve_period period, int64_t from_ms,
                                 int64_t to_ms, double sample_period_s) {
  energy_curve_result out;
  auto r = rollup_of(period);
  // Buckets that overlap the range: from the start of the one holding `from`.
  from_ms = telemetry::bucket_start(time_point{std::chrono::milliseconds{from_ms}}, r, db.tz())
              .time_since_epoch()
              .count();
  std::map<int64_t, energy_bucket> groups;
  auto bucket_for = [&](int64_t start) -> energy_bucket& {
    auto g = group_start(start, period, db.tz());
    auto& b = groups[g];
    b.start_ms = g;
    return b;
  };
  auto integrate = [&](const char* name, double energy_bucket::*field) {
    auto id = db.find_series(name);
    if (!id)
      return;
    for (const auto& b : db.rollup(*id, r, from_ms, to_ms))
      bucket_for(b.start_ms).*field += b.agg.sum * sample_period_s / 3600.0;
  };
  integrate(series_names::pv, &energy_bucket::pv_wh);
  integrate(series_names::load, &energy_bucket::load_wh);
  integrate(series_names::battery_charge, &energy_bucket::battery_charge_wh);
  integrate(series_names::battery_discharge, &energy_bucket::battery_discharge_wh);
  auto import_id = db.find_series(series_names::import_counter);
  auto export_id = db.find_series(series_names::export_counter);
  if (import_id && export_id) {
    out.grid_from_counters = true;
    auto counter = [&](uint32_t id, double energy_bucket::*field) {
      // Delta between bucket ends; the first bucket starts from its first value.
      std::optional<double> prev;
      for (const auto& b : db.rollup(id, r, INT64_MIN / 2, to_ms)) {
        double base = prev ? *prev : b.agg.first;
        if (b.start_ms >= from_ms)
          bucket_for(b.start_ms).*field += std::max(0.0, b.agg.last - base);
        prev = b.agg.last;
      }
    };
    counter(*import_id, &energy_bucket::grid_import_wh);
    counter(*export_id, &energy_bucket::grid_export_wh);
  } else {
    integrate(series_names::grid_import, &energy_bucket::grid_import_wh);
    integrate(series_names::grid_export, &energy_bucket::grid_export_wh);
  }
  for (auto& [start, b] : groups)
    out.buckets.push_back(b);
  return out;
}

}  // namespace plantd::store
