#include <catch2/catch.hpp>

#include "model/common/json.hpp"

using plantd::json::check_syntax;
namespace json = plantd::json;

TEST_CASE("well-formed JSON passes the syntax check", "[json]") {
  CHECK_FALSE(check_syntax(R"({"a": [1, -2.5e3, true, false, null, "x\"\u00e9"]})"));
  CHECK_FALSE(check_syntax("  {}\n"));
  CHECK_FALSE(check_syntax("[]"));
  CHECK_FALSE(check_syntax("0"));
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
  auto err = check_syntax(r.text);
  REQUIRE(err);
  CHECK(err->line == r.line);
  CHECK(err->column == r.column);
  CHECK_THAT(err->message, Catch::Contains(r.says));
}

TEST_CASE("a parsed document keeps values, order and positions", "[json]") {
  auto parsed = json::parse("{\n  \"name\": \"dtsu\",\n  \"points\": [1.5, -2e2, true, null,"
                            " \"\\u00e9\\ud83d\\ude00\"]\n}");
  REQUIRE(std::holds_alternative<json::value>(parsed));
  const auto& doc = std::get<json::value>(parsed);
  REQUIRE(doc.is_object());
  CHECK(doc.as_object()[0].first == "name");
  CHECK(doc.find("name")->as_string() == "dtsu");
  const auto* points = doc.find("points");
  REQUIRE(points);
  CHECK(points->line() == 3);
  CHECK(points->column() == 13);
  const auto& items = points->as_array();
  REQUIRE(items.size() == 5);
  CHECK(items[0].as_number() == 1.5);
  CHECK(items[1].as_number() == -200);
  CHECK(items[2].as_bool());
  CHECK(items[3].is_null());
  CHECK(items[4].as_string() == "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(items[4].column() == 37);
  CHECK(doc.find("missing") == nullptr);
}

TEST_CASE("duplicate keys are refused", "[json]") {
  auto err = check_syntax("{\"a\": 1, \"a\": 2}");
  REQUIRE(err);
  CHECK(err->column == 10);
  CHECK_THAT(err->message, Catch::Contains("duplicate key"));
}
