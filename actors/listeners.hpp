// Callbacks told that something new was published (the state and alarm
// hubs). Called outside the lock, so a listener may call back into its hub;
// a copy of a listener may still run once after unsubscribe().
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace plantd::actors {

class listeners {
public:
  uint64_t subscribe(std::function<void()> f) {
    std::lock_guard guard{mtx_};
    auto t = next_++;
    fns_[t] = std::move(f);
    return t;
  }

  void unsubscribe(uint64_t token) {
    std::lock_guard guard{mtx_};
    fns_.erase(token);
  }

  void notify() {
    std::vector<std::function<void()>> to_call;
    {
      std::lock_guard guard{mtx_};
      for (const auto& [t, f] : fns_)
        to_call.push_back(f);
    }
    for (auto& f : to_call)
      f();
  }

private:
  std::mutex mtx_;
  uint64_t next_ = 1;
  std::map<uint64_t, std::function<void()>> fns_;
};

}  // namespace plantd::actors
