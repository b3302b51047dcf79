#include "services/export.hpp"

#include <cstdio>
#include <fstream>
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
  char path[] = "/tmp/plantd-export-XXXXXX.xlsx";
  int fd = mkstemps(path, 5);
  if (fd < 0)
    return unexpected{std::string{"cannot create a temporary file"}};
  close(fd);
  // Row by row to temporary files (strings inline, no shared-string table):
  // held whole, a workbook of 2,000,000 cells takes hundreds of MB, and
  // glibc keeps much of it after the export.
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  char tmpdir[] = "/tmp";
  options.tmpdir = tmpdir;
  lxw_workbook* wb = workbook_new_opt(path, &options);
  if (!wb) {
    std::remove(path);
    return unexpected{std::string{"cannot create the workbook"}};
  }
  lxw_worksheet* ws = workbook_add_worksheet(wb, sheet.substr(0, 31).c_str());
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  worksheet_write_string(ws, 0, 0, t.time_header.c_str(), bold);
  for (std::size_t c = 0; c < t.columns.size(); ++c)
    worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c + 1), t.columns[c].c_str(), bold);
  lxw_row_t row = 1;
  for (const auto& [time, values] : t.rows) {
    auto label = t.labels.find(time);
    worksheet_write_string(ws, row, 0, label != t.labels.end() ? label->second.c_str() : iso_time(time).c_str(),
                           nullptr);
    for (std::size_t c = 0; c < values.size(); ++c)
      if (values[c])
        worksheet_write_number(ws, row, static_cast<lxw_col_t>(c + 1), *values[c], nullptr);
    ++row;
  }
  worksheet_set_column(ws, 0, 0, 26, nullptr);
  auto err = workbook_close(wb);
  if (err != LXW_NO_ERROR) {
    std::remove(path);
    return unexpected{fmt::format("cannot write the workbook: {}", lxw_strerror(err))};
  }
  std::ifstream in{path, std::ios::binary};
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::remove(path);
  return bytes.str();
}

} // namespace plantd::services
