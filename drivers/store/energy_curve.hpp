// Energy per day / week / month / year / total from the recorded series: PV
// production, load consumption, grid import and export, battery charge and
// discharge (Wh). Grid energy comes from the grid meter's counters when they
// were recorded (the delta of the counter between bucket ends), otherwise
// from integrated power; the others from integrated power (the sum of the
// once-a-second samples).
#pragma once

#include <string>
#include <vector>

#include "drivers/store/store.hpp"

namespace plantd::store {

enum class curve_period { hour, day, week, month, year, total };

struct energy_bucket {
  int64_t start_ms = 0;
  double pv_wh = 0;
  double load_wh = 0;
  double grid_import_wh = 0;
  double grid_export_wh = 0;
  double battery_charge_wh = 0;
  double battery_discharge_wh = 0;
};

struct energy_curve_result {
  std::vector<energy_bucket> buckets;
  bool grid_from_counters = false;
};

// Series names the store actor records (and this reads).
namespace series_names {
inline constexpr const char* pv = "plant.pv_w";
inline constexpr const char* load = "plant.load_w";
inline constexpr const char* grid_import = "plant.grid_import_w";
inline constexpr const char* grid_export = "plant.grid_export_w";
inline constexpr const char* battery_charge = "plant.battery_charge_w";
inline constexpr const char* battery_discharge = "plant.battery_discharge_w";
inline constexpr const char* import_counter = "meter.grid.import_wh";
inline constexpr const char* export_counter = "meter.grid.export_wh";
}  // namespace series_names

// `sample_period_s`: the recording period of the power series.
energy_curve_result energy_curve(const store& db, curve_period period, int64_t from_ms,
                                 int64_t to_ms, double sample_period_s = 1.0);

}  // namespace plantd::store
