// plantd's one error enum. Every failure that crosses an actor boundary or
// reaches a client is one of these codes plus a message; services map it to
// a gRPC status code through one function (services/status.hpp), actors carry
// it as a caf::error (actors/errors.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace plantd {

enum class errc : uint8_t {
  ok = 0,
  // The request or the data is wrong; every problem is listed.
  invalid_argument,
  // A named thing does not exist.
  not_found,
  // It exists already.
  already_exists,
  // Refused in the current state, e.g. deleting something still in use.
  failed_precondition,
  // A device or a peer does not answer; trying again may help.
  unavailable,
  // No answer within the deadline.
  deadline_exceeded,
  // Overloaded: too many requests, a full queue or disk.
  resource_exhausted,
  // Not implemented on this unit or in this role.
  unimplemented,
  // A bug or a broken invariant.
  internal,
  // No valid credentials came with the call.
  unauthenticated,
  // The caller is known but its role lacks the permission.
  permission_denied,
  // Lost a race with another change (compare-and-set on a version).
  aborted,
};

std::string_view to_string(errc code) noexcept;

}  // namespace plantd
