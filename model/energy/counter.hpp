// Meter counters -> hourly consumption.
//
// A counter reading minus the previous one is the consumption between them,
// spread over the civil hours of the site in proportion to time. A gap longer
// than `max_gap` (plantd was down, the meter silent) is spread the same way
// and flagged estimated. A counter that goes backwards either rolled over
// (it wraps at `rollover`: the consumption is rollover - last + new) or was
// reset (the consumption is counted from 0, estimated, and reported as an
// event). A meter swap is told explicitly: the old meter's final reading
// closes its count, the new meter's first reading starts the next.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include "model/common/quality.hpp"

namespace plantd::energy {

struct hour_share {
  absl::CivilHour hour;
  double amount = 0;
  quality q = quality::measured;
};

struct counter_event {
  enum kind { rollover, reset, swap, gap, backwards } kind = rollover;
  int64_t t_ms = 0;
  double before = 0, after = 0;
};

// The consumption between two readings of one meter.
struct counter_interval {
  std::vector<hour_share> shares;  // by hour, in time order
  double amount = 0;               // consumption (x the multiplier)
  bool rollover = false, reset = false;
  bool interpolated = false;  // crossed an hour over more than max_gap: estimated
};

class counter_tracker {
public:
  // rollover: the counter wraps to 0 at this value (0: never wraps);
  // multiplier: CT x PT ratio applied to consumption.
  counter_tracker(double rollover = 0, double multiplier = 1, int64_t max_gap_ms = 15 * 60 * 1000)
    : rollover_(rollover),
      multiplier_(multiplier),
      max_gap_ms_(max_gap_ms) {}

  // A new reading; returns the consumption to add per hour.
  std::vector<hour_share> reading(int64_t t_ms, double counter, const absl::TimeZone& tz,
                                  std::vector<counter_event>* events = nullptr);
  // The meter was replaced at t: the old one ended at old_final, the new one
  // starts at new_initial.
  std::vector<hour_share> swap(int64_t t_ms, double old_final, double new_initial,
                               const absl::TimeZone& tz,
                               std::vector<counter_event>* events = nullptr);

  // The consumption from (t0, c0) to (t1, c1), t0 < t1, by this meter's
  // rules (rollover, reset, gap); the tracker is not changed.
  counter_interval interval(int64_t t0, double c0, int64_t t1, double c1,
                            const absl::TimeZone& tz) const;

  std::optional<std::pair<int64_t, double>> last() const { return last_; }
  void restore(int64_t t_ms, double counter) { last_ = {t_ms, counter}; }

private:
  double rollover_, multiplier_;
  int64_t max_gap_ms_;
  std::optional<std::pair<int64_t, double>> last_;
};

// Spreads `amount` over [from, to) by civil hour in `tz`.
std::vector<hour_share> spread(int64_t from_ms, int64_t to_ms, double amount, quality q,
                               const absl::TimeZone& tz);

}  // namespace plantd::energy
