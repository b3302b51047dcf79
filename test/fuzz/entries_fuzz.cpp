// Fuzzes the daily-entry tables an energy manager uploads
// (services/entry_table.hpp): any bytes as CSV and as .xlsx (its first
// sheet, and every sheet by name). Whatever is
// read must hold together: every entry and refusal names a line of the
// table, every entry a real day and a finite value; nothing crashes,
// hangs or reads out of bounds (ASan).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "services/entry_table.hpp"

using namespace plantd::services;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "entry tables: %s\n", what);
  std::abort();
}

void check(const plantd::expected<std::vector<table_row>, std::string>& t) {
  if (!t)
    return;
  int last = 0;
  for (const auto& r : *t) {
    if (r.line <= last)
      broken("rows out of order");
    last = r.line;
  }
  auto e = entries_from(*t);
  if (!e)
    return;
  for (const auto& row : e->rows) {
    if (row.line < 1 || row.line > last)
      broken("an entry on a line the table does not have");
    if (!std::isfinite(row.value))
      broken("an entry that is not a number");
    if (row.id.empty())
      broken("an entry without an id");
  }
  for (const auto& r : e->refused)
    if (r.line < 1 || r.line > last || r.reason.empty())
      broken("a refusal without its line or reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(read_csv(bytes));
  check(read_xlsx(bytes));
  // Every sheet of a workbook (the model workbook's reader).
  if (auto sheets = read_xlsx_sheets(bytes))
    for (const auto& s : *sheets)
      check(s.rows);
  (void)parse_date(bytes.substr(0, 32));
  return 0;
}
