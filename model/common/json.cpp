#include "model/common/json.hpp"

#include <charconv>
#include <string_view>
#include <unordered_set>

namespace plantd::json {

const value* value::find(std::string_view key) const noexcept {
  if (!is_object())
    return nullptr;
  for (const auto& [k, v] : as_object())
    if (k == key)
      return &v;
  return nullptr;
}

const char* value::type_name() const noexcept {
  switch (data_.index()) {
    case 0: return "null";
    case 1: return "true/false";
    case 2: return "number";
    case 3: return "string";
    case 4: return "array";
    default: return "object";
  }
}

namespace {

// Recursive descent over RFC 8259; stops at the first error.
class parser {
public:
  explicit parser(std::string_view text)
    : s_(text) {}

  std::variant<value, syntax_error> run() {
    skip_ws();
    value v;
    if (parse_value(v, 0)) {
      skip_ws();
      if (pos_ == s_.size())
        return v;
      fail("unexpected text after the end of the document");
    }
    return error();
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

  std::pair<std::size_t, std::size_t> position(std::size_t offset) {
    // Incremental: positions are asked for in increasing order while parsing.
    if (offset < mark_pos_) {
      mark_pos_ = 0;
      mark_line_ = 1;
      mark_col_ = 1;
    }
    for (; mark_pos_ < offset && mark_pos_ < s_.size(); ++mark_pos_) {
      if (s_[mark_pos_] == '\n') {
        ++mark_line_;
        mark_col_ = 1;
      } else {
        ++mark_col_;
      }
    }
    return {mark_line_, mark_col_};
  }

  syntax_error error() {
    auto [line, col] = position(err_pos_);
    return {line, col, what_};
  }

  template <class T>
  value make(T x, std::size_t start) {
    auto [line, col] = position(start);
    return value{std::move(x), line, col};
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

  bool parse_value(value& out, int depth) {
    if (depth > max_depth)
      return fail("nested too deeply");
    auto start = pos_;
    switch (peek()) {
      case '{': return parse_object(out, depth);
      case '[': return parse_array(out, depth);
      case '"': {
        std::string s;
        if (!parse_string(s))
          return false;
        out = make(std::move(s), start);
        return true;
      }
      case 't':
        if (!literal("true"))
          return false;
        out = make(true, start);
        return true;
      case 'f':
        if (!literal("false"))
          return false;
        out = make(false, start);
        return true;
      case 'n':
        if (!literal("null"))
          return false;
        out = make(std::monostate{}, start);
        return true;
      default:
        if (eof())
          return fail("unexpected end of the document; expected a value");
        if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
          return parse_number(out);
        return fail("unexpected character; expected a value");
    }
  }

  bool parse_object(value& out, int depth) {
    // The position is taken before the members: asked for afterwards it
    // would go back over them (quadratic in the document).
    auto [line, col] = position(pos_);
    ++pos_;  // '{'
    value::object members;
    // Duplicate keys: a linear look for small objects, a set beyond.
    std::unordered_set<std::string> keys;  // copies: members move as they grow
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      out = value{std::move(members), line, col};
      return true;
    }
    for (;;) {
      skip_ws();
      if (peek() != '"')
        return fail(peek() == '}' ? "trailing comma before '}'" : "expected a quoted key");
      auto key_pos = pos_;
      std::string key;
      if (!parse_string(key))
        return false;
      bool duplicate = false;
      if (members.size() < 16) {
        for (const auto& m : members)
          duplicate = duplicate || m.first == key;
      } else {
        if (keys.empty())
          for (const auto& m : members)
            keys.insert(m.first);
        duplicate = keys.count(key) != 0;
      }
      if (duplicate) {
        pos_ = key_pos;
        return fail("duplicate key in an object");
      }
      skip_ws();
      if (peek() != ':')
        return fail("expected ':' after the key");
      ++pos_;
      skip_ws();
      value v;
      if (!parse_value(v, depth + 1))
        return false;
      members.emplace_back(std::move(key), std::move(v));
      if (!keys.empty())
        keys.insert(members.back().first);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        out = value{std::move(members), line, col};
        return true;
      }
      return fail("expected ',' or '}' after a member (a missing comma?)");
    }
  }

  bool parse_array(value& out, int depth) {
    auto [line, col] = position(pos_);
    ++pos_;  // '['
    value::array items;
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      out = value{std::move(items), line, col};
      return true;
    }
    for (;;) {
      skip_ws();
      if (peek() == ']')
        return fail("trailing comma before ']'");
      value v;
      if (!parse_value(v, depth + 1))
        return false;
      items.push_back(std::move(v));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        out = value{std::move(items), line, col};
        return true;
      }
      return fail("expected ',' or ']' after an element (a missing comma?)");
    }
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  }

  bool hex4(unsigned& out) {
    out = 0;
    for (int i = 1; i <= 4; ++i) {
      int d = pos_ + i < s_.size() ? hex_digit(s_[pos_ + i]) : -1;
      if (d < 0)
        return fail("bad \\u escape");
      out = out * 16 + static_cast<unsigned>(d);
    }
    pos_ += 5;
    return true;
  }

  static void append_utf8(std::string& s, unsigned cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parse_string(std::string& out) {
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
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      char e = peek();
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp))
            return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            ++pos_;
            unsigned lo = 0;
            if (!hex4(lo))
              return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          continue;
        }
        default: return fail("bad escape in a string");
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

  bool parse_number(value& out) {
    auto start = pos_;
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
    double x = 0;
    auto res = std::from_chars(s_.data() + start, s_.data() + pos_, x);
    if (res.ec != std::errc{}) {
      pos_ = start;
      return fail("number out of range");
    }
    out = make(x, start);
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const char* what_ = nullptr;
  std::size_t err_pos_ = 0;
  std::size_t mark_pos_ = 0;
  std::size_t mark_line_ = 1;
  std::size_t mark_col_ = 1;
};

}  // namespace

std::variant<value, syntax_error> parse(std::string_view text) {
  return parser{text}.run();
}

std::optional<syntax_error> check_syntax(std::string_view text) {
  auto result = parse(text);
  if (auto* err = std::get_if<syntax_error>(&result))
    return *err;
  return std::nullopt;
}

}  // namespace plantd::json
