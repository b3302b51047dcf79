// The one mapping from plantd's errors to gRPC status codes.
#pragma once

#include <string>

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "model/common/errc.hpp"
#include "model/common/problem.hpp"

namespace caf {
class error;
}

namespace grpc {
class CallbackServerContext;
}

namespace plantd::services {

grpc::StatusCode to_grpc_code(errc code) noexcept;

grpc::Status to_status(errc code, std::string message);

// An actor's error as a status (its context text becomes the message).
grpc::Status to_status(const caf::error& err);

// INVALID_ARGUMENT listing every problem ("path: message; ...").
grpc::Status invalid_argument(const problems& found);

// Finishes a unary call at once with `st` (answered or refused before any
// actor is asked).
grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, grpc::Status st);

}  // namespace plantd::services
