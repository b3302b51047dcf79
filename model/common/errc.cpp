#include "model/common/errc.hpp"

namespace plantd {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::failed_precondition: return "failed_precondition";
    case errc::unavailable: return "unavailable";
    case errc::deadline_exceeded: return "deadline_exceeded";
    case errc::resource_exhausted: return "resource_exhausted";
    case errc::unimplemented: return "unimplemented";
    case errc::internal: return "internal";
    case errc::unauthenticated: return "unauthenticated";
    case errc::permission_denied: return "permission_denied";
    case errc::aborted: return "aborted";
  }
  return "unknown";
}

}  // namespace plantd
