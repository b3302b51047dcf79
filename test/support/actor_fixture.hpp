// Deterministic actor tests inside Catch2: CAF's test coordinator runs every
// actor on the test's thread; time moves only by advance_time(). Link the
// test executable with support/caf_main.cpp.
#pragma once

#include <catch2/catch.hpp>

#include <caf/test/dsl.hpp>

#include "actors/errors.hpp"
#include "actors/system.hpp"
#include "actors/type_ids.hpp"

namespace plantd::test {

struct plantd_test_config : caf::actor_system_config {
  plantd_test_config() { plantd::actors::configure(*this); }
};

class actor_fixture : public test_coordinator_fixture<plantd_test_config> {
public:
  // Sends a request from the fixture's scoped actor, runs every actor until
  // no message is left (timers do not fire: time moves only by
  // sched.advance_time) and returns the reply, or the actor's error.
  template <class Reply, class Handle, class... Ts>
  caf::expected<Reply> ask(const Handle& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    caf::expected<Reply> result{caf::sec::request_timeout};
    handle.receive([&](Reply& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

}  // namespace plantd::test
