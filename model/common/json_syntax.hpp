// A strict JSON (RFC 8259) syntax check that says where a document breaks:
// line and column of the first error. Config files are checked with it before
// the protobuf parser, whose own errors give no position.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace plantd {

struct json_syntax_error {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
  std::string message;
};

// nullopt when `text` is one well-formed JSON value (whitespace around it
// allowed).
std::optional<json_syntax_error> check_json_syntax(std::string_view text);

} // namespace plantd
