// Plant statistics as pure functions: revenue (what PV and storage saved
// against buying the same load from the grid, at the site's TOU tariff and
// feed-in price) and social contribution (CO2 and coal avoided by the PV
// energy, in tree-years).
#pragma once

#include <cstdint>
#include <vector>

#include <absl/time/time.h>

#include "model/plant/config.hpp"

namespace plantd::statistics {

struct hourly_energy {
  int64_t start_ms = 0;
  double load_wh = 0;
  double pv_wh = 0;
  double grid_import_wh = 0;
  double grid_export_wh = 0;
};

// The import price (per kWh) at `t_ms` (site local time); 0 without a tariff.
double import_price(const plant::economics& e, int64_t t_ms, const absl::TimeZone& tz);

struct revenue {
  double baseline_cost = 0;  // the load bought from the grid, no PV, no storage
  double actual_cost = 0;    // import bought - export sold
  double savings = 0;        // baseline - actual
  double import_kwh = 0;
  double export_kwh = 0;
  double load_kwh = 0;
};

// Revenue of the hours given (each at its own price).
revenue revenue_of(const std::vector<hourly_energy>& hours, const plant::economics& e,
                   const absl::TimeZone& tz);

struct social {
  double pv_kwh = 0;
  double co2_kg = 0;
  double coal_kg = 0;
  double tree_years = 0;  // trees that would absorb the CO2 in one year
};

social social_of(double pv_wh, const plant::economics& e);

}  // namespace plantd::statistics
