#include "model/statistics/statistics.hpp"

#include "model/plant/tou.hpp"

namespace plantd::statistics {

double import_price(const plant::economics& e, int64_t t_ms, const absl::TimeZone& tz) {
  auto cs = absl::ToCivilMinute(absl::FromUnixMillis(t_ms), tz);
  int minute = cs.hour() * 60 + cs.minute();
  auto iso = static_cast<int>(absl::GetWeekday(absl::CivilDay(cs))) + 1;  // Monday = 1
  for (const auto& s : e.import_prices) {
    bool day = s.days.empty();
    for (auto d : s.days)
      day = day || static_cast<int>(d) == iso;
    auto start = plant::parse_hhmm(s.start);
    auto end = plant::parse_hhmm(s.end);
    if (day && start && end && minute >= *start && minute < *end)
      return s.price_per_kwh;
  }
  return 0;
}

revenue revenue_of(const std::vector<hourly_energy>& hours, const plant::economics& e,
                   const absl::TimeZone& tz) {
  revenue r;
  for (const auto& h : hours) {
    double price = import_price(e, h.start_ms, tz);
    r.load_kwh += h.load_wh / 1000;
    r.import_kwh += h.grid_import_wh / 1000;
    r.export_kwh += h.grid_export_wh / 1000;
    r.baseline_cost += h.load_wh / 1000 * price;
    r.actual_cost +=
      h.grid_import_wh / 1000 * price - h.grid_export_wh / 1000 * e.feed_in_price_per_kwh;
  }
  r.savings = r.baseline_cost - r.actual_cost;
  return r;
}

social social_of(double pv_wh, const plant::economics& e) {
  social s;
  s.pv_kwh = pv_wh / 1000;
  s.co2_kg = s.pv_kwh * e.co2_kg_per_kwh;
  s.coal_kg = s.pv_kwh * e.coal_kg_per_kwh;
  s.tree_years = e.co2_kg_per_tree_year > 0 ? s.co2_kg / e.co2_kg_per_tree_year : 0;
  return s;
}

}  // namespace plantd::statistics
