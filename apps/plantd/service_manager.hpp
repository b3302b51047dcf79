// plantd and systemd (Type=notify): READY=1 once the control loop has made
// its first decision, WATCHDOG=1 only while it keeps deciding - a stuck
// supervisor stops the pings and systemd restarts plantd (WatchdogSec=).
// STOPPING=1 at a stop. Without NOTIFY_SOCKET (not under systemd) it only
// watches.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "actors/state_hub.hpp"

namespace plantd::app {

class service_manager {
public:
  explicit service_manager(std::shared_ptr<actors::state_hub> hub);
  ~service_manager();
  void stopping();

private:
  std::shared_ptr<actors::state_hub> hub_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace plantd::app
