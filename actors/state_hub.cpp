#include "actors/state_hub.hpp"

namespace plantd::actors {

void state_hub::publish(plant_state s) {
  {
    std::lock_guard guard{mtx_};
    latest_ = std::make_shared<const plant_state>(std::move(s));
    ++seq_;
  }
  listeners_.notify();
}

std::pair<std::shared_ptr<const plant_state>, uint64_t> state_hub::latest() const {
  std::lock_guard guard{mtx_};
  return {latest_, seq_};
}

} // namespace plantd::actors
