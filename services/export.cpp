#include "services/export.hpp"

#include "services/workbook.hpp"

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <unistd.h>

#include <fmt/format.h>
#include <xlsxwriter.h>

#include <absl/time/time.h>

namespace plantd::services {

std::string iso_time(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

export_table build_table(const store::store& db, const std::vector<std::string>& series,
                         int64_t from_ms, int64_t to_ms, telemetry::resolution res,
                         std::size_t max_rows) {
  export_table t;
  t.columns = series;
  for (std::size_t c = 0; c < series.size(); ++c) {
    auto id = db.find_series(series[c]);
    if (!id)
      continue;
    auto put = [&](int64_t time, double v) {
      auto it = t.rows.find(time);
      if (it == t.rows.end()) {
        if (t.rows.size() >= max_rows) {
          t.truncated = true;
          return;
        }
        it = t.rows.emplace(time, std::vector<std::optional<double>>(series.size())).first;
      }
      it->second[c] = v;
    };
    if (res == telemetry::resolution::raw) {
      for (const auto& p : db.raw(*id, from_ms, to_ms, max_rows + 1))
        if (p.q == quality::measured || p.q == quality::estimated || p.q == quality::manual)
          put(p.t_ms, p.value);
    } else {
      for (const auto& b : db.rollup(*id, res, from_ms, to_ms))
        put(b.start_ms, b.agg.mean());
    }
  }
  return t;
}

std::string to_csv(const export_table& t) {
  std::string out = "time";
  for (const auto& c : t.columns)
    out += "," + c;
  out += "\n";
  for (const auto& [time, values] : t.rows) {
    out += iso_time(time);
    for (const auto& v : values)
      out += v ? fmt::format(",{}", *v) : ",";
    out += "\n";
  }
  return out;
}

expected<std::string, std::string> to_xlsx(const export_table& t, const std::string& sheet) {
  return write_workbook(sheet, [&t](lxw_worksheet* ws, lxw_format* bold) {
    worksheet_write_string(ws, 0, 0, t.time_header.c_str(), bold);
    for (std::size_t c = 0; c < t.columns.size(); ++c)
      worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c + 1), t.columns[c].c_str(), bold);
    lxw_row_t row = 1;
    for (const auto& [time, values] : t.rows) {
      auto label = t.labels.find(time);
      worksheet_write_string(
        ws, row, 0, label != t.labels.end() ? label->second.c_str() : iso_time(time).c_str(),
        nullptr);
      for (std::size_t c = 0; c < values.size(); ++c)
        if (values[c])
          worksheet_write_number(ws, row, static_cast<lxw_col_t>(c + 1), *values[c], nullptr);
      ++row;
    }
    worksheet_set_column(ws, 0, 0, 26, nullptr);
  });
}

}  // namespace plantd::services
