// The latest plant state, shared between the supervisor (writer) and the
// services (readers and streams). Publishing never blocks on a reader: a
// subscriber is told that something new exists and takes the newest state
// when it is ready, so a slow client gets coalesced updates.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "actors/listeners.hpp"
#include "actors/plant_messages.hpp"

namespace plantd::actors {

class state_hub {
public:
  using listener = std::function<void()>;

  void publish(plant_state s);

  // The newest state and its sequence number (0: nothing published yet).
  std::pair<std::shared_ptr<const plant_state>, uint64_t> latest() const;

  // `on_new` is called (on the publisher's thread, keep it short) after each
  // publish. Returns a token for unsubscribe().
  uint64_t subscribe(listener on_new) { return listeners_.subscribe(std::move(on_new)); }
  void unsubscribe(uint64_t token) { listeners_.unsubscribe(token); }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const plant_state> latest_;
  uint64_t seq_ = 0;
  listeners listeners_;
};

} // namespace plantd::actors
