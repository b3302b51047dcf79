#include "model/energy/counter.hpp"

#include <algorithm>

namespace plantd::energy {

std::vector<hour_share> spread(int64_t from_ms, int64_t to_ms, double amount, quality q,
                               const absl::TimeZone& tz) {
  std::vector<hour_share> out;
  if (to_ms <= from_ms) {
    out.push_back({absl::ToCivilHour(absl::FromUnixMillis(to_ms), tz), amount, q});
    return out;
  }
  double total = static_cast<double>(to_ms - from_ms);
  int64_t t = from_ms;
  while (t < to_ms) {
    auto hour = absl::ToCivilHour(absl::FromUnixMillis(t), tz);
    int64_t next = absl::ToUnixMillis(tz.At(hour + 1).pre);
    if (next <= t)
      next = t + 3600 * 1000;  // defensive
    int64_t end = std::min(next, to_ms);
    double part = amount * static_cast<double>(end - t) / total;
    if (!out.empty() && out.back().hour == hour)
      out.back().amount += part;
    else
      out.push_back({hour, part, q});
    t = end;
  }
  return out;
}

counter_interval counter_tracker::interval(int64_t t0, double c0, int64_t t1, double c1,
                                           const absl::TimeZone& tz) const {
  counter_interval out;
  double delta = c1 - c0;
  if (delta < 0) {
    double wrapped = rollover_ > 0 ? rollover_ - c0 + c1 : -1;
    if (rollover_ > 0 && wrapped >= 0 && wrapped <= rollover_ * 0.1) {
      delta = wrapped;
      out.rollover = true;
    } else {
      delta = c1;  // reset: counted from 0 again
      out.reset = true;
    }
  }
  out.amount = delta * multiplier_;
  // An interval inside one hour is that hour's exact consumption, however
  // long (hourly readings on the hour; a rollover is exact too). One that
  // crosses an hour is apportioned by time: measured while the interval is
  // short, estimated (and reported as a gap) when the split had to be
  // interpolated over more than max_gap.
  out.shares = spread(t0, t1, out.amount, quality::measured, tz);
  out.interpolated = out.shares.size() > 1 && t1 - t0 > max_gap_ms_;
  if (out.interpolated || out.reset)
    for (auto& s : out.shares)
      s.q = quality::estimated;
  return out;
}

std::vector<hour_share> counter_tracker::reading(int64_t t_ms, double counter,
                                                 const absl::TimeZone& tz,
                                                 std::vector<counter_event>* events) {
  if (!last_) {
    last_ = {t_ms, counter};
    return {};
  }
  auto [t0, c0] = *last_;
  if (t_ms <= t0)
    return {};  // old or repeated reading
  auto iv = interval(t0, c0, t_ms, counter, tz);
  if (events) {
    if (iv.rollover)
      events->push_back({counter_event::rollover, t_ms, c0, counter});
    if (iv.reset)
      events->push_back({counter_event::reset, t_ms, c0, counter});
    if (iv.interpolated)
      events->push_back({counter_event::gap, t_ms, c0, counter});
  }
  last_ = {t_ms, counter};
  return std::move(iv.shares);
}

std::vector<hour_share> counter_tracker::swap(int64_t t_ms, double old_final, double new_initial,
                                              const absl::TimeZone& tz,
                                              std::vector<counter_event>* events) {
  std::vector<hour_share> out;
  if (last_ && t_ms > last_->first && old_final >= last_->second) {
    quality q = t_ms - last_->first > max_gap_ms_ ? quality::estimated : quality::measured;
    out = spread(last_->first, t_ms, (old_final - last_->second) * multiplier_, q, tz);
  }
  if (events)
    events->push_back({counter_event::swap, t_ms, old_final, new_initial});
  last_ = {t_ms, new_initial};
  return out;
}

}  // namespace plantd::energy
