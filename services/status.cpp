#include "services/status.hpp"

#include <utility>

#include <caf/error.hpp>
#include <grpcpp/server_context.h>

#include "actors/errors.hpp"

namespace plantd::services {

namespace {

// A status message travels in an HTTP/2 header (percent-encoded, so up to
// three bytes per byte), and clients refuse headers above 8 KB: a message
// that echoes a large bad input would reach the client as RESOURCE_EXHAUSTED
// instead of the reason. Each part is cut to a short prefix, the whole to a
// bound that fits.
constexpr std::size_t max_part = 240;
constexpr std::size_t max_message = 2000;

// Cuts at a UTF-8 character boundary, saying how much was left out.
std::string cut(std::string text, std::size_t limit) {
  if (text.size() <= limit)
    return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  auto dropped = text.size() - end;
  text.resize(end);
  text += "... (" + std::to_string(dropped) + " more bytes)";
  return text;
}

}  // namespace

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
    case errc::unauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case errc::permission_denied: return grpc::StatusCode::PERMISSION_DENIED;
    case errc::aborted: return grpc::StatusCode::ABORTED;
  }
  return grpc::StatusCode::UNKNOWN;
}

grpc::Status to_status(errc code, std::string message) {
  return {to_grpc_code(code), cut(std::move(message), max_message)};
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
  std::size_t listed = 0;
  for (const auto& p : found) {
    auto one =
      cut(cut(p.path, max_part / 2) + (p.path.empty() ? "" : ": ") + cut(p.message, max_part),
          2 * max_part);
    if (text.size() + one.size() > max_message)
      break;
    if (!text.empty())
      text += "; ";
    text += one;
    ++listed;
  }
  if (listed < found.size())
    text += "; and " + std::to_string(found.size() - listed) + " more problem"
            + (found.size() - listed == 1 ? "" : "s");
  return {grpc::StatusCode::INVALID_ARGUMENT, text};
}

grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, grpc::Status st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(std::move(st));
  return r;
}

}  // namespace plantd::services
