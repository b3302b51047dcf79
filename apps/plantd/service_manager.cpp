#include "apps/plantd/service_manager.hpp"

#include <chrono>

#include <systemd/sd-daemon.h>

namespace plantd::app {

service_manager::service_manager(std::shared_ptr<actors::state_hub> hub)
  : hub_(std::move(hub)) {
  thread_ = std::thread{[this] {
    uint64_t watchdog_us = 0;
    bool watchdog = sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0;
    // Pings at a third of systemd's timeout; the decisions are checked as often.
    auto period =
      watchdog ? std::chrono::microseconds{watchdog_us / 3} : std::chrono::microseconds{500'000};
    bool ready = false;
    uint64_t last = 0;
    auto next = std::chrono::steady_clock::now();
    while (!stop_) {
      auto [state, seq] = hub_->latest();
      uint64_t decisions = state ? state->decisions : 0;
      if (!ready && decisions > 0) {
        sd_notify(0, "READY=1\nSTATUS=controlling the plant");
        ready = true;
      }
      if (watchdog && decisions > last)
        sd_notify(0, "WATCHDOG=1");
      last = decisions;
      next += period;
      while (!stop_ && std::chrono::steady_clock::now() < next)
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
  }};
}

void service_manager::stopping() {
  sd_notify(0, "STOPPING=1");
  stop_ = true;
}

service_manager::~service_manager() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

}  // namespace plantd::app
