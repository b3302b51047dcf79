// Exponential backoff for retries (reconnects, restarts): the delay doubles
// after each failure up to a cap, and resets after a success. Pure: the
// caller supplies the time.
#pragma once

#include <algorithm>
#include <chrono>

#include "model/common/clock.hpp"

namespace plantd {

class backoff {
public:
  using duration = std::chrono::milliseconds;

  explicit backoff(duration initial = duration{100}, duration max = duration{10'000})
    : initial_(initial),
      max_(max),
      next_delay_(initial) {}

  // May an attempt be made at `now`?
  bool ready(time_point now) const noexcept { return now >= not_before_; }

  // An attempt failed at `now`: the next one waits the current delay, which
  // then doubles (up to the cap).
  void failed(time_point now) noexcept {
    not_before_ = now + next_delay_;
    next_delay_ = std::min(next_delay_ * 2, max_);
  }

  void succeeded() noexcept {
    next_delay_ = initial_;
    not_before_ = time_point{};
  }

  time_point not_before() const noexcept { return not_before_; }
  duration next_delay() const noexcept { return next_delay_; }

private:
  duration initial_;
  duration max_;
  duration next_delay_;
  time_point not_before_{};
};

}  // namespace plantd
