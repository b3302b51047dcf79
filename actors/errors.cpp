#include "actors/errors.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace plantd::actors {

errc to_errc(const caf::error& err) noexcept {
  if (!err)
    return errc::ok;
  if (err.category() == caf::atom("plantd"))
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout: return errc::deadline_exceeded;
      case caf::sec::request_receiver_down:
      case caf::sec::cannot_connect_to_node: return errc::unavailable;
      case caf::sec::unexpected_message: return errc::unimplemented;
      default: break;
    }
  }
  return errc::internal;
}

std::string error_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : to_string(ctx);
}

}  // namespace plantd::actors
