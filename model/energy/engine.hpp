// The formula graph of the energy-carbon model and its evaluation.
//
// The model is compiled into cells (every indicator and every product's
// production) in dependency order; formulas become a small stack program.
// Values are kept in base units (units.hpp) and shown in the indicator's.
//
// Leaves are the inputs: meter indicators get hourly consumption (from
// counters, counter.hpp), manual indicators and production get daily entries.
// A leaf's day, month and year are the sums of its hours or days; a period
// that has ended is missing when one of its sub-periods has no value —
// missing is never 0. A period in progress (today, the month to date) is
// what has been recorded so far, estimated when a sub-period that has ended
// (before `as_of`) has no value, missing when nothing was recorded. Formula cells are evaluated at
// every resolution on the leaves of that period (so energy per product is a ratio of the period's
// sums, not a sum of ratios) - except a cell reading a coefficient that
// changes within the period (a TOU price within a day, a new standard-coal
// version within a month): it is the sum of its sub-period values, so a
// day's cost is each hour's use at that hour's price. A formula that mixes
// such terms with daily inputs or with fixed ones (kWh x a TOU price + a
// daily entry x its price) is split into its additive terms, each group
// summed its own way (engine.cpp, term_splitter). A summed cell linear in
// its hourly inputs is summed by coefficient class rather than hour by hour
// (options::sum_by_class), with the same value and quality. A day held only as
// its sum (keep_hours_from) has no hours: such a cell is evaluated on the
// day's sums at the average price and flagged estimated.
//
// Frames hold every cell's value for one period; a bounded number is kept.
// A changed leaf re-computes, in the frames kept, only the cells that
// depend on it (incremental); a frame not kept is computed when asked.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include "model/common/quality.hpp"
#include "model/energy/model.hpp"

namespace plantd::energy {

enum class resolution : uint8_t { hour, day, month, year };
std::string_view to_string(resolution r) noexcept;

// A period in the site's civil calendar: index counts hours, days, months or
// years since 1970-01-01 00:00 (civil).
struct period {
  resolution res = resolution::day;
  int64_t index = 0;
  friend bool operator==(const period&, const period&) = default;
  friend auto operator<=>(const period&, const period&) = default;
};
period period_of(resolution r, absl::CivilSecond t);
absl::CivilSecond start_of(const period& p);
absl::CivilSecond end_of(const period& p);
std::string label(const period& p);  // "2026-11-21 13:00", "2026-11-21", "2026-11", "2026"

// Which coefficient, factor or price version a value used.
struct used_version {
  std::string what;  // "coal(natural_gas)"
  std::string version;
  std::string source;
  double value = 0;  // in the energy type's units
};

class engine {
public:
  struct options {
    std::size_t max_frames = 64;  // frames kept (LRU)
    // Memory the kept frames may take (a frame is 9 bytes per cell): a
    // 100,000-cell graph keeps 9 frames, a site's 1,000-cell one 64.
    std::size_t max_frame_bytes = 8u << 20;
    // A summed cell whose hour value is linear in its hourly inputs (a
    // cost: kWh x a TOU price, summed up a tree) is summed by coefficient
    // class: each input's use is added up over the hours of one price,
    // and the formula evaluated once per price, not once per hour (a TOU
    // month of a 100,000-node tree: 3 evaluations, not 720). Off: every
    // hour is evaluated (the reference the tests compare it with).
    bool sum_by_class = true;
  };

  explicit engine(absl::TimeZone tz)
    : engine(tz, options{}) {}
  engine(absl::TimeZone tz, options opts);
  ~engine();

  // (Re)compiles the model: cells, order, programs. Leaf data is kept (by
  // stable id); frames are dropped. The model must have passed its checks.
  // The model's cache of parsed formulas is dropped once they are compiled.
  void load(const model& m);

  // Takes the model's energy types again (a new price, a coefficient's new
  // version, a renamed type) without compiling: frames are dropped, the
  // graph is kept. False (nothing changed) when the graph depends on what
  // changed: a type it reads is gone or has another unit, or a price or
  // coefficient that was one value became several (or back) where a
  // formula is split by it (a formula with daily inputs, term_splitter);
  // then load() is needed.
  bool reload_coefficients(const model& m);

  // Inputs, in the indicator's (or product's) unit. The value replaces the
  // hour's or day's value; add_hour adds to it (counter consumption).
  // Unknown ids or wrong leaf kinds are refused with false.
  // `was`: the hour's value before, as the caller stored it; needed (and
  // used) only for days held as sums (keep_hours_from), where an hour that
  // has a value is refused without it.
  bool set_hour(const std::string& indicator_id, absl::CivilHour h, reading r,
                std::optional<reading> was = std::nullopt);
  bool add_hour(const std::string& indicator_id, absl::CivilHour h, double amount, quality q);
  bool set_day(const std::string& indicator_or_product_id, absl::CivilDay d, reading r);

  // The stored input of a meter indicator for one hour (no evaluation);
  // missing for a day held as its sum.
  reading hour_input(const std::string& indicator_id, absl::CivilHour h) const;

  // Hourly inputs are held hour by hour from `day` on; each day before it
  // is kept as its sum (16 bytes, not 224), so a plant running for years
  // holds a bounded window of hours. Days, months and years still add up;
  // an hour of such a day reads missing. The day only moves forward; inputs
  // for earlier days go straight into their sums.
  void keep_hours_from(absl::CivilDay day);
  std::optional<absl::CivilDay> hours_kept_from() const;

  // A value in the indicator's unit (products: production in its unit), at
  // `as_of` (sub-periods not yet ended are not required).
  reading value(const std::string& id, const period& p, absl::Time as_of);
  // Every cell of a period, computing the frame when it is not kept.
  // Returned values are in base units; use scale_of to convert.
  const std::vector<double>& frame_values(const period& p, absl::Time as_of);

  // The versions of coefficients, factors and prices an indicator's formula
  // uses in a period: every one valid on a day of it (a new standard-coal
  // version from the 15th gives both in the month). A TOU price's value is
  // the hour's price for an hour, else the price outside the bands.
  std::vector<used_version> versions(const std::string& indicator_id, const period& p) const;

  std::size_t cells() const noexcept;
  std::size_t frames_kept() const noexcept;
  // Evaluations done (for tests and benchmarks of incremental work).
  uint64_t evaluations() const noexcept;
  // Times the model was compiled (load).
  uint64_t compilations() const noexcept;
  // Leaf kind of an id: "meter", "manual", "production", "formula" or "".
  std::string_view leaf_kind(const std::string& id) const;
  // What the given indicators read, directly or through formulas
  // (themselves included; unknown ids are skipped): meter indicators
  // (hourly), manual indicators and products (daily, products as
  // "product:ID"), and whether a coefficient may change within a period
  // (a TOU price, a price or coal coefficient with several versions).
  struct inputs {
    std::vector<std::string> hourly, daily;
    bool time_varying_coefficients = false;
  };
  inputs inputs_of(const std::vector<std::string>& ids) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace plantd::energy
