// Alarm changes for streaming: the alarm actor publishes every raised,
// cleared or acknowledged alarm; readers take what came after the sequence
// number they last saw. The last 1,000 changes are kept: a reader that falls
// further behind skips to the oldest kept (the alarm actor never waits).
//
// Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "actors/listeners.hpp"
#include "model/alarms/alarm_book.hpp"

namespace plantd::actors {

class alarm_hub {
public:
  static constexpr std::size_t kept = 1000;

  void publish(const alarms::alarm& a);

  // Changes with a sequence number above `after`, oldest first, and the
  // sequence number of the last one returned.
  std::pair<std::vector<alarms::alarm>, uint64_t> since(uint64_t after) const;
  uint64_t last_seq() const;

  uint64_t subscribe(std::function<void()> on_new) {
    return listeners_.subscribe(std::move(on_new));
  }
  void unsubscribe(uint64_t token) { listeners_.unsubscribe(token); }

private:
  mutable std::mutex mtx_;
  std::deque<std::pair<uint64_t, alarms::alarm>> changes_;
  uint64_t seq_ = 0;
  listeners listeners_;
};

}  // namespace plantd::actors
