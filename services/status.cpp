#include "services/status.hpp"

#include <caf/error.hpp>

#include "actors/errors.hpp"

namespace plantd::services {

grpc::StatusCode to_grpc_code(errc code) noexcept {
  switch (code) {
    case errc::ok: return grpc::StatusCode::OK;
    case errc::invalid_argument: return grpc::StatusCode::INVALID_ARGUMENT;
    case errc::not_found: return grpc::StatusCode::NOT_FOUND;
    case errc::already_exists: return grpc::StatusCode::ALREADY_EXISTS;
    case errc::failed_precondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case errc::unavailable: return grpc::StatusCode::UNAVAILABLE;
    case errc::deadline_exceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case errc::resource_exhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case errc::unimplemented: return grpc::StatusCode::UNIMPLEMENTED;
    case errc::internal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

grpc::Status to_status(errc code, std::string message) {
  return {to_grpc_code(code), std::move(message)};
}

grpc::Status to_status(const caf::error& err) {
  auto code = actors::to_errc(err);
  auto text = actors::error_text(err);
  if (text.empty())
    text = std::string{to_string(code)};
  return to_status(code, std::move(text));
}

grpc::Status invalid_argument(const problems& found) {
  std::string text;
  for (const auto& p : found) {
    if (!text.empty())
      text += "; ";
    text += p.path.empty() ? p.message : p.path + ": " + p.message;
  }
  return {grpc::StatusCode::INVALID_ARGUMENT, text};
}

} // namespace plantd::services
