#include "model/common/json_syntax.hpp"

namespace plantd {

namespace {

// Recursive descent over the grammar; records the first error's offset.
class scanner {
public:
  explicit scanner(std::string_view text) : s_(text) {}

  std::optional<json_syntax_error> run() {
    skip_ws();
    if (!value(0))
      return error();
    skip_ws();
    if (pos_ != s_.size()) {
      fail("unexpected text after the end of the document");
      return error();
    }
    return std::nullopt;
  }

private:
  static constexpr int max_depth = 256;

  bool fail(const char* what) {
    if (what_ == nullptr) {
      what_ = what;
      err_pos_ = pos_;
    }
    return false;
  }

  json_syntax_error error() const {
    json_syntax_error e;
    for (std::size_t i = 0; i < err_pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++e.line;
        e.column = 1;
      } else {
        ++e.column;
      }
    }
    e.message = what_;
    return e;
  }

  bool eof() const { return pos_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[pos_]; }

  void skip_ws() {
    while (!eof() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word)
      return fail("unexpected token; expected a value");
    pos_ += word.size();
    return true;
  }

  bool value(int depth) {
    if (depth > max_depth)
      return fail("nested too deeply");
    switch (peek()) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      case '\0':
        if (eof())
          return fail("unexpected end of the document; expected a value");
        [[fallthrough]];
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
          return number();
        return fail("unexpected character; expected a value");
    }
  }

  bool object(int depth) {
    ++pos_;  // '{'
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (peek() != '"')
        return fail(peek() == '}' ? "trailing comma before '}'" : "expected a quoted key");
      if (!string())
        return false;
      skip_ws();
      if (peek() != ':')
        return fail("expected ':' after the key");
      ++pos_;
      skip_ws();
      if (!value(depth + 1))
        return false;
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}' after a member (a missing comma?)");
    }
  }

  bool array(int depth) {
    ++pos_;  // '['
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (peek() == ']')
        return fail("trailing comma before ']'");
      if (!value(depth + 1))
        return false;
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']' after an element (a missing comma?)");
    }
  }

  static bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  bool string() {
    auto start = pos_;
    ++pos_;  // '"'
    while (!eof()) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in a string (an unclosed quote?)");
      if (c == '\\') {
        ++pos_;
        char e = peek();
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i)
            if (pos_ + i >= s_.size() || !is_hex(s_[pos_ + i]))
              return fail("bad \\u escape");
          pos_ += 5;
          continue;
        }
        if (std::string_view{"\"\\/bfnrt"}.find(e) == std::string_view::npos || eof())
          return fail("bad escape in a string");
      }
      ++pos_;
    }
    pos_ = start;
    return fail("unterminated string");
  }

  bool digits() {
    auto start = pos_;
    while (peek() >= '0' && peek() <= '9')
      ++pos_;
    return pos_ > start;
  }

  bool number() {
    if (peek() == '-')
      ++pos_;
    if (peek() == '0') {
      ++pos_;
      if (peek() >= '0' && peek() <= '9')
        return fail("leading zero in a number");
    } else if (!digits()) {
      return fail("bad number");
    }
    if (peek() == '.') {
      ++pos_;
      if (!digits())
        return fail("bad number: digits expected after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      if (!digits())
        return fail("bad number: digits expected in the exponent");
    }
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const char* what_ = nullptr;
  std::size_t err_pos_ = 0;
};

} // namespace

std::optional<json_syntax_error> check_json_syntax(std::string_view text) {
  return scanner{text}.run();
}

} // namespace plantd
