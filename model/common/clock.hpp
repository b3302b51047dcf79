// Time as plantd's logic sees it. Logic never reads the wall clock: it is
// handed a clock, so tests and the simulator can step time or run it faster.
// All times are UTC; site-local time goes through absl time zones.
#pragma once

#include <atomic>
#include <chrono>

namespace plantd {

using time_point = std::chrono::sys_time<std::chrono::milliseconds>;

class clock {
public:
  virtual ~clock() = default;
  virtual time_point now() const noexcept = 0;
};

// The wall clock.
class system_clock final : public clock {
public:
  time_point now() const noexcept override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  }
};

// Simulated time: starts at `start` and runs `scale` times faster than the
// wall clock (plantd driving plant-sim in accelerated time). Thread-safe.
class scaled_clock final : public clock {
public:
  scaled_clock(time_point start, double scale)
    : start_(start),
      scale_(scale),
      origin_(std::chrono::steady_clock::now()) {}

  time_point now() const noexcept override {
    auto real = std::chrono::steady_clock::now() - origin_;
    auto ms = std::chrono::duration<double, std::milli>(real).count() * scale_;
    return start_ + std::chrono::milliseconds{static_cast<int64_t>(ms)};
  }

private:
  time_point start_;
  double scale_;
  std::chrono::steady_clock::time_point origin_;
};

// A clock that moves only when told to. Thread-safe.
class manual_clock final : public clock {
public:
  explicit manual_clock(time_point start)
    : now_(start.time_since_epoch().count()) {}

  time_point now() const noexcept override {
    return time_point{std::chrono::milliseconds{now_.load()}};
  }

  void advance(std::chrono::milliseconds d) noexcept { now_ += d.count(); }

  void set(time_point t) noexcept { now_ = t.time_since_epoch().count(); }

private:
  std::atomic<int64_t> now_;
};

}  // namespace plantd
