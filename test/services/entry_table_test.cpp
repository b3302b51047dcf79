// Daily entries from the tables an energy manager fills in: CSV as editors
// and Excel write it, .xlsx as a spreadsheet program writes it (the e2e
// test reads one written by openpyxl), both layouts, and every row that
// cannot be read refused with its line.
#include <catch2/catch.hpp>

#include "services/entry_table.hpp"

using namespace plantd;
using namespace plantd::services;

TEST_CASE("entry tables: CSV as Excel and editors write it", "[services][energy]") {
  // Excel's byte-order mark, CRLF, a quoted note with a comma, a quote and
  // a line break, a blank line.
  std::string csv = "\xEF\xBB\xBF"
                    "date,id,value,note\r\n"
                    "2026-11-03,b1.elec,540,\"checked, by \"\"Li\"\"\nagain\"\r\n"
                    "\r\n"
                    "2026/11/4,b1.elec,  560 ,\r\n";
  auto t = read_csv(csv);
  REQUIRE(t);
  REQUIRE(t->size() == 3);
  CHECK((*t)[0].cells == std::vector<std::string>{"date", "id", "value", "note"});
  CHECK((*t)[1].line == 2);
  CHECK((*t)[1].cells[3] == "checked, by \"Li\"\nagain");
  CHECK((*t)[2].line == 5);  // the quoted line break counts
  auto e = entries_from(*t);
  REQUIRE(e);
  REQUIRE(e->rows.size() == 2);
  CHECK(e->rows[0].day == absl::CivilDay(2026, 11, 3));
  CHECK(e->rows[0].note == "checked, by \"Li\"\nagain");
  CHECK(e->rows[1].day == absl::CivilDay(2026, 11, 4));
  CHECK(e->rows[1].value == 560);
  CHECK(e->refused.empty());
  CHECK_FALSE(read_csv("date,id,value\n2026-11-03,\"b1,540\n"));
}

TEST_CASE("entry tables: the wide layout, a row a day, a column an id, bad cells refused by line",
          "[services][energy]") {
  auto t = read_csv("日期,b1.elec,steel\n"
                    "2026-11-01,540,12.5\n"
                    "2026-11-02,,13\n"     // no electricity entry that day
                    "2026-11-31,500,1\n"   // no such day
                    "2026-11-03,5x0,14\n"  // not a number; steel still entered
                    "45964,600,15\n");     // an Excel serial day: 2025-11-03
  REQUIRE(t);
  auto e = entries_from(*t);
  REQUIRE(e);
  REQUIRE(e->rows.size() == 6);
  CHECK(e->rows[0].id == "b1.elec");
  CHECK(e->rows[1].id == "steel");
  CHECK(e->rows[1].value == 12.5);
  CHECK(e->rows[2].id == "steel");
  CHECK(e->rows[2].day == absl::CivilDay(2026, 11, 2));
  CHECK(e->rows[3].id == "steel");
  CHECK(e->rows[3].line == 5);
  CHECK(e->rows[4].day == absl::CivilDay(2025, 11, 3));
  REQUIRE(e->refused.size() == 2);
  CHECK(e->refused[0].line == 4);
  CHECK(e->refused[0].reason == "\"2026-11-31\" is not a date (YYYY-MM-DD)");
  CHECK(e->refused[1].line == 5);
  CHECK(e->refused[1].reason == "b1.elec: \"5x0\" is not a number");
  // A value in a column without an id in the header: refused, never dropped.
  auto extra = entries_from(*read_csv("date,b1.elec\n2026-11-01,540,7\n"));
  REQUIRE(extra);
  CHECK(extra->rows.size() == 1);
  REQUIRE(extra->refused.size() == 1);
  CHECK(extra->refused[0].reason == "a value in column 3 that has no id in its header");
  // A header that is neither layout.
  auto bad = entries_from(*read_csv("day,value\n2026-11-01,5\n"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("line 1: the first column's header must be \"date\"")
        != std::string::npos);
}

TEST_CASE("entry tables: dates in the forms spreadsheets write them", "[services][energy]") {
  CHECK(parse_date("2026-11-03") == absl::CivilDay(2026, 11, 3));
  CHECK(parse_date("2026/1/9") == absl::CivilDay(2026, 1, 9));
  CHECK(parse_date("2026.01.09") == absl::CivilDay(2026, 1, 9));
  CHECK(parse_date(" 2026-11-03 ") == absl::CivilDay(2026, 11, 3));
  CHECK(parse_date("46329") == absl::CivilDay(2026, 11, 3));
  CHECK(parse_date("46329.75") == absl::CivilDay(2026, 11, 3));  // a date-time cell
  CHECK_FALSE(parse_date("2026-02-30"));
  CHECK_FALSE(parse_date("26-11-03"));
  CHECK_FALSE(parse_date("2026-11"));
  CHECK_FALSE(parse_date("20261103"));  // not a serial day of this era, nor a date
  CHECK_FALSE(parse_date(""));
}

TEST_CASE("entry tables: an .xlsx that is not one is refused, never a crash",
          "[services][energy][bad-input]") {
  CHECK_FALSE(read_xlsx(""));
  CHECK_FALSE(read_xlsx("date,id,value\n"));
  CHECK_FALSE(read_xlsx(std::string("PK\x03\x04 truncated", 14)));
}
