#include "actors/state_hub.hpp"

namespace plantd::actors {

void state_hub::publish(plant_state s) {
  {
    std::lock_guard guard{mtx_};
    latest_ = std::make_shared<const plant_state>(std::move(s));
    ++seq_;
  }
  wake_.notify_one();
}

std::pair<std::shared_ptr<const plant_state>, uint64_t> state_hub::latest() const {
  std::lock_guard guard{mtx_};
  return {latest_, seq_};
}

uint64_t state_hub::subscribe(listener on_new) {
  auto token = listeners_.subscribe(std::move(on_new));
  std::lock_guard guard{mtx_};
  if (!teller_.joinable() && !stop_)
    teller_ = std::thread{[this] { run(); }};
  return token;
}

void state_hub::run() {
  std::unique_lock lock{mtx_};
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || seq_ != told_; });
    if (stop_)
      return;
    told_ = seq_;
    lock.unlock();
    listeners_.notify();
    lock.lock();
  }
}

state_hub::~state_hub() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  wake_.notify_one();
  if (teller_.joinable()) {
    if (teller_.get_id() == std::this_thread::get_id())
      teller_.detach();  // the last owner let go from a listener
    else
      teller_.join();
  }
}

}  // namespace plantd::actors
