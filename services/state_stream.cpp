#include "services/state_stream.hpp"

#include "services/hub_stream.hpp"

namespace plantd::services {

namespace {

// The newest state, once per publication: a slow reader gets coalesced states.
struct state_source {
  std::shared_ptr<actors::state_hub> hub;
  uint64_t sent = 0;

  uint64_t subscribe(std::function<void()> f) { return hub->subscribe(std::move(f)); }
  void unsubscribe(uint64_t t) { hub->unsubscribe(t); }

  bool next(v1::PlantState& out) {
    auto [latest, seq] = hub->latest();
    if (!latest || seq == sent)
      return false;
    sent = seq;
    to_proto(*latest, &out);
    return true;
  }
};

}  // namespace

grpc::ServerWriteReactor<v1::PlantState>*
make_state_stream(std::shared_ptr<actors::state_hub> hub) {
  return new hub_stream<v1::PlantState, state_source>(state_source{std::move(hub)});
}

}  // namespace plantd::services
