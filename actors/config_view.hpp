// The configuration in force, for readers outside the actors (the gRPC
// services): the config actor sets it with every change; a reader takes
// the pointer and keeps an immutable config for as long as it needs it.
#pragma once

#include <memory>
#include <mutex>

#include "actors/messages.hpp"

namespace plantd::actors {

class config_view {
public:
  config_view() = default;
  explicit config_view(config_snapshot initial)
    : snap_(std::move(initial)) {}

  // The config in force and its version.
  config_snapshot snapshot() const {
    std::lock_guard lock{mutex_};
    return snap_;
  }
  std::shared_ptr<const plant::config> get() const { return snapshot().config; }

  void set(config_snapshot next) {
    std::lock_guard lock{mutex_};
    snap_ = std::move(next);
  }

private:
  mutable std::mutex mutex_;
  config_snapshot snap_;
};

}  // namespace plantd::actors
