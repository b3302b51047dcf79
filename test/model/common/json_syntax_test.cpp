#include <catch2/catch.hpp>

#include "model/common/json_syntax.hpp"

using plantd::check_json_syntax;

TEST_CASE("well-formed JSON passes the syntax check", "[json]") {
  CHECK_FALSE(check_json_syntax(R"({"a": [1, -2.5e3, true, false, null, "x\"\u00e9"]})"));
  CHECK_FALSE(check_json_syntax("  {}\n"));
  CHECK_FALSE(check_json_syntax("[]"));
  CHECK_FALSE(check_json_syntax("0"));
}

TEST_CASE("malformed JSON is located by line and column", "[json]") {
  struct row {
    const char* text;
    std::size_t line;
    std::size_t column;
    const char* says;
  };
  auto r = GENERATE(values<row>({
    {"{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "missing comma"},
    {"{\"a\": [1, 2,]}", 1, 13, "trailing comma"},
    {"{\"a\": 1,}", 1, 9, "trailing comma"},
    {"{\"a\" 1}", 1, 6, "expected ':'"},
    {"{\"a\": tru}", 1, 7, "expected a value"},
    {"{\"a\": \"x}", 1, 7, "unterminated string"},
    {"{\"a\": 01}", 1, 8, "leading zero"},
    {"{\"a\": 1} x", 1, 10, "after the end"},
    {"", 1, 1, "unexpected end"},
    {"{'a': 1}", 1, 2, "quoted key"},
  }));
  CAPTURE(r.text);
  auto err = check_json_syntax(r.text);
  REQUIRE(err);
  CHECK(err->line == r.line);
  CHECK(err->column == r.column);
  CHECK_THAT(err->message, Catch::Contains(r.says));
}
