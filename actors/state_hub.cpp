#include "actors/state_hub.hpp"

#include <vector>

namespace plantd::actors {

void state_hub::publish(plant_state s) {
  std::vector<listener> to_call;
  {
    std::lock_guard guard{mtx_};
    latest_ = std::make_shared<const plant_state>(std::move(s));
    ++seq_;
    for (const auto& [token, l] : listeners_)
      to_call.push_back(l);
  }
  for (auto& l : to_call)
    l();
}

std::pair<std::shared_ptr<const plant_state>, uint64_t> state_hub::latest() const {
  std::lock_guard guard{mtx_};
  return {latest_, seq_};
}

uint64_t state_hub::subscribe(listener on_new) {
  std::lock_guard guard{mtx_};
  auto token = next_token_++;
  listeners_[token] = std::move(on_new);
  return token;
}

void state_hub::unsubscribe(uint64_t token) {
  std::lock_guard guard{mtx_};
  listeners_.erase(token);
}

} // namespace plantd::actors
