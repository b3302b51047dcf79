// The latest plant state, shared between the supervisor (writer) and the
// services (readers and streams). Publishing never blocks on a reader: a
// subscriber is told that something new exists and takes the newest state
// when it is ready, so a slow client gets coalesced updates.
//
// Subscribers are told on the hub's own thread (started with the first
// subscription), never on the publisher's: 256 streams each converting and
// writing the state cost the control loop milliseconds per decision.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/listeners.hpp"
#include "actors/plant_messages.hpp"

namespace plantd::actors {

class state_hub {
public:
  using listener = std::function<void()>;

  void publish(plant_state s);

  // The newest state and its sequence number (0: nothing published yet).
  std::pair<std::shared_ptr<const plant_state>, uint64_t> latest() const;

  // `on_new` is called on the hub's thread after a publish (publishes in
  // quick succession may be told once). Returns a token for unsubscribe().
  uint64_t subscribe(listener on_new);
  void unsubscribe(uint64_t token) { listeners_.unsubscribe(token); }

  state_hub() = default;
  state_hub(const state_hub&) = delete;
  state_hub& operator=(const state_hub&) = delete;
  ~state_hub();

private:
  void run();

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  std::shared_ptr<const plant_state> latest_;
  uint64_t seq_ = 0;
  uint64_t told_ = 0;  // the sequence number subscribers were last told of
  bool stop_ = false;
  std::thread teller_;
  listeners listeners_;
};

}  // namespace plantd::actors
