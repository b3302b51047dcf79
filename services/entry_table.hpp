// Daily entries and production from a table an energy manager fills in:
// CSV (UTF-8, with or without Excel's byte-order mark; comma separated,
// quotes as RFC 4180) or .xlsx (the first worksheet), in one of two layouts:
//
//   long:  date,id,value[,note]            one entry a row
//   wide:  date,<id>,<id>,...              a row a day, a column an indicator
//                                          or product (an empty cell: none)
//
// Dates are YYYY-MM-DD (also with '/' or '.', month and day of one or two
// digits: 2026/11/3) or, in .xlsx, a date cell. Every row that cannot be
// read is refused with its line (the CSV line, the sheet's row number) and
// why; the others are kept.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/time/civil_time.h>

#include "model/common/expected.hpp"

namespace plantd::services {

// A cell without the spaces around it; ASCII letters in lower case.
std::string trim(std::string_view s);
std::string lower(std::string s);

struct table_row {
  int line = 0;  // 1-based, as an editor or spreadsheet shows it
  std::vector<std::string> cells;
};

// The rows of a CSV text; an error for an unterminated quote.
expected<std::vector<table_row>, std::string> read_csv(std::string_view text);
// The rows of the first worksheet of an .xlsx file (numbers as written in
// the file; a date cell is its serial number, which parse_date reads).
expected<std::vector<table_row>, std::string> read_xlsx(std::string_view bytes);

// Every worksheet of an .xlsx file, in the workbook's order, by name (at
// most 64, unpacking to at most 64 MB in all).
struct named_table {
  std::string name;
  std::vector<table_row> rows;
};
expected<std::vector<named_table>, std::string> read_xlsx_sheets(std::string_view bytes);

struct entry_row {
  int line = 0;
  std::string id;
  absl::CivilDay day;
  double value = 0;
  std::string note;
};
struct refused_row {
  int line = 0;
  std::string reason;
};
struct entry_rows {
  std::vector<entry_row> rows;
  std::vector<refused_row> refused;
};

// The entries of a table in either layout; an error when the header is
// neither.
expected<entry_rows, std::string> entries_from(const std::vector<table_row>& table);

// A table of text cells as CSV (quoted where needed) or as an .xlsx sheet
// (cells that read as numbers written as numbers, except in `text_columns`).
std::string to_csv(const std::vector<std::vector<std::string>>& rows);
expected<std::string, std::string> to_xlsx_sheet(const std::vector<std::vector<std::string>>& rows,
                                                 const std::string& sheet,
                                                 const std::vector<std::size_t>& text_columns = {});

// Several sheets in one .xlsx file, in order (cells as to_xlsx_sheet writes
// them; the first row is the header).
struct table_sheet {
  std::string name;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> text_columns;
};
expected<std::string, std::string> to_xlsx_sheets(const std::vector<table_sheet>& sheets);

// "2026-11-03", "2026/11/3", "2026.11.03", or an Excel serial day number
// (45964 = 2025-11-03).
std::optional<absl::CivilDay> parse_date(std::string_view s);

}  // namespace plantd::services
