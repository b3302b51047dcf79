#include <catch2/catch.hpp>

#include "model/plant/tou.hpp"

using plantd::plant::parse_hhmm;

TEST_CASE("slot times parse as minutes of the day", "[tou]") {
  CHECK(parse_hhmm("00:00") == 0);
  CHECK(parse_hhmm("08:30") == 510);
  CHECK(parse_hhmm("23:59") == 1439);
  CHECK(parse_hhmm("24:00") == 1440);
}

TEST_CASE("malformed slot times are refused", "[tou]") {
  for (auto bad : {"7:00", "24:01", "12:60", "ab:cd", "12-00", "", "12:000", "25:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_hhmm(bad));
  }
}
