// A small strict JSON (RFC 8259) reader: a document tree whose every value
// knows the line and column it starts at, so data files (point tables, config
// imports) can be checked with messages that point into the file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace plantd::json {

struct syntax_error {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
  std::string message;
};

class value {
public:
  using array = std::vector<value>;
  using member = std::pair<std::string, value>;
  using object = std::vector<member>;  // in document order

  value() = default;
  template <class T>
  value(T x, std::size_t line, std::size_t column)
    : data_(std::move(x)),
      line_(line),
      column_(column) {}

  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(data_); }
  bool is_bool() const noexcept { return std::holds_alternative<bool>(data_); }
  bool is_number() const noexcept { return std::holds_alternative<double>(data_); }
  bool is_string() const noexcept { return std::holds_alternative<std::string>(data_); }
  bool is_array() const noexcept { return std::holds_alternative<array>(data_); }
  bool is_object() const noexcept { return std::holds_alternative<object>(data_); }

  // Precondition: the matching is_*() holds.
  bool as_bool() const { return std::get<bool>(data_); }
  double as_number() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const array& as_array() const { return std::get<array>(data_); }
  const object& as_object() const { return std::get<object>(data_); }

  // The member `key` of an object; nullptr when absent or not an object.
  const value* find(std::string_view key) const noexcept;

  // "object", "array", "string", "number", "true/false" or "null".
  const char* type_name() const noexcept;

  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }

private:
  std::variant<std::monostate, bool, double, std::string, array, object> data_;
  std::size_t line_ = 1;
  std::size_t column_ = 1;
};

// Parses one JSON document (whitespace around it allowed). Duplicate keys in
// an object are an error.
std::variant<value, syntax_error> parse(std::string_view text);

// nullopt when `text` is one well-formed JSON document.
std::optional<syntax_error> check_syntax(std::string_view text);

}  // namespace plantd::json
