// The one mapping from plantd's errors to gRPC status codes.
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "model/common/errc.hpp"
#include "model/common/problem.hpp"

namespace caf {
class error;
}

namespace plantd::services {

grpc::StatusCode to_grpc_code(errc code) noexcept;

grpc::Status to_status(errc code, std::string message);

// An actor's error as a status (its context text becomes the message).
grpc::Status to_status(const caf::error& err);

// INVALID_ARGUMENT listing every problem ("path: message; ...").
grpc::Status invalid_argument(const problems& found);

}  // namespace plantd::services
