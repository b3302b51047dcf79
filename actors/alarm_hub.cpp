#include "actors/alarm_hub.hpp"

namespace plantd::actors {

void alarm_hub::publish(const alarms::alarm& a) {
  std::vector<std::function<void()>> to_call;
  {
    std::lock_guard guard{mtx_};
    changes_.emplace_back(++seq_, a);
    if (changes_.size() > kept)
      changes_.pop_front();
    for (const auto& [t, l] : listeners_)
      to_call.push_back(l);
  }
  for (auto& l : to_call)
    l();
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

uint64_t alarm_hub::subscribe(std::function<void()> on_new) {
  std::lock_guard guard{mtx_};
  auto t = next_token_++;
  listeners_[t] = std::move(on_new);
  return t;
}

void alarm_hub::unsubscribe(uint64_t token) {
  std::lock_guard guard{mtx_};
  listeners_.erase(token);
}

} // namespace plantd::actors
