// Answering a gRPC call from an actor's reply without blocking a thread:
// a short-lived actor sends the request and finishes the reactor when the
// reply (or an error, or the timeout) arrives.
#pragma once

#include <algorithm>
#include <chrono>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <grpcpp/support/server_callback.h>

#include "services/status.hpp"

namespace plantd::services {

// Default time an actor has to answer a gRPC call.
inline constexpr std::chrono::milliseconds ask_timeout{2000};

template <class Reply, class Handle, class OnReply, class... Ts>
void ask_within(caf::actor_system& sys, const Handle& dest, grpc::ServerUnaryReactor* reactor,
                std::chrono::milliseconds timeout, OnReply on_reply, Ts... xs);

// The time a call may take: what the client's deadline leaves, at least
// `floor` and at most `cap` (no deadline: the cap).
inline std::chrono::milliseconds time_left(const grpc::ServerContextBase& ctx,
                                           std::chrono::milliseconds floor,
                                           std::chrono::milliseconds cap) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    ctx.deadline() - std::chrono::system_clock::now());
  return std::clamp(left, floor, cap);
}

// Sends `xs...` to `dest`, which answers with one `Reply`; `on_reply(reply)`
// fills the response and returns the status to finish with. `reactor` is
// finished exactly once.
template <class Reply, class Handle, class OnReply, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, grpc::ServerUnaryReactor* reactor,
         OnReply on_reply, Ts... xs) {
  ask_within<Reply>(sys, dest, reactor, ask_timeout, std::move(on_reply), std::move(xs)...);
}

// The same with its own time limit.
template <class Reply, class Handle, class OnReply, class... Ts>
void ask_within(caf::actor_system& sys, const Handle& dest, grpc::ServerUnaryReactor* reactor,
                std::chrono::milliseconds timeout, OnReply on_reply, Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(dest, timeout, xs...)
      .then([=](Reply& reply) { reactor->Finish(on_reply(reply)); },
            [=](caf::error& err) { reactor->Finish(to_status(err)); });
  });
}

}  // namespace plantd::services
