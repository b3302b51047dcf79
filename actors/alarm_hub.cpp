#include "actors/alarm_hub.hpp"

namespace plantd::actors {

void alarm_hub::publish(const alarms::alarm& a) {
  {
    std::lock_guard guard{mtx_};
    changes_.emplace_back(++seq_, a);
    if (changes_.size() > kept)
      changes_.pop_front();
  }
  listeners_.notify();
}

std::pair<std::vector<alarms::alarm>, uint64_t> alarm_hub::since(uint64_t after) const {
  std::lock_guard guard{mtx_};
  std::vector<alarms::alarm> out;
  uint64_t last = after;
  for (const auto& [seq, a] : changes_)
    if (seq > after) {
      out.push_back(a);
      last = seq;
    }
  return {out, last};
}

uint64_t alarm_hub::last_seq() const {
  std::lock_guard guard{mtx_};
  return seq_;
}

}  // namespace plantd::actors
