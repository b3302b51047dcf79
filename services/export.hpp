// Table exports of recorded series: the rows, then CSV text or an .xlsx file
// (libxlsxwriter). Used by TelemetryService.Export.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drivers/store/store.hpp"
#include "model/common/expected.hpp"

namespace plantd::services {

struct export_table {
  std::vector<std::string> columns;  // series names
  // time ms -> one optional value per column
  std::map<int64_t, std::vector<std::optional<double>>> rows;
  bool truncated = false;  // the range held more rows than max_rows
  // The first column's header and, by row, its text (a civil period such
  // as "2026-11-21"); rows without one show their time in UTC.
  std::string time_header = "time (UTC)";
  std::map<int64_t, std::string> labels;
};

// Reads the series into rows; `res` raw or a rollup (bucket means).
export_table build_table(const store::store& db, const std::vector<std::string>& series,
                         int64_t from_ms, int64_t to_ms, telemetry::resolution res,
                         std::size_t max_rows);

std::string to_csv(const export_table& t);

// The .xlsx file's bytes, or why it could not be written.
expected<std::string, std::string> to_xlsx(const export_table& t, const std::string& sheet);

std::string iso_time(int64_t ms);

}  // namespace plantd::services
