// plantd::errc as a caf::error, so that actors answer requests with it.
// No exception crosses an actor boundary: handlers return caf::result<T>
// holding either the value or make_error(errc::..., "what and where").
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "model/common/errc.hpp"

CAF_ERROR_CODE_ENUM(plantd::errc, "plantd")

namespace plantd::actors {

// The errc inside a caf::error; errc::internal for errors of other
// categories (CAF's own, e.g. a request timeout, map to their nearest code).
errc to_errc(const caf::error& err) noexcept;

// The context message of an error made with make_error(code, "text").
std::string error_text(const caf::error& err);

}  // namespace plantd::actors
