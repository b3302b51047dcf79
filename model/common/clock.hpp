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

// A clock that moves only when told to. Thread-safe.
class manual_clock final : public clock {
public:
  explicit manual_clock(time_point start) : now_(start.time_since_epoch().count()) {}

  time_point now() const noexcept override {
    return time_point{std::chrono::milliseconds{now_.load()}};
  }

  void advance(std::chrono::milliseconds d) noexcept { now_ += d.count(); }

  void set(time_point t) noexcept { now_ = t.time_since_epoch().count(); }

private:
  std::atomic<int64_t> now_;
};

} // namespace plantd
