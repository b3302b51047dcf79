#include "services/entry_table.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include <expat.h>
#include <xlsxwriter.h>
#include <fmt/format.h>
#include <zip.h>

#include "services/workbook.hpp"

namespace plantd::services {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

namespace {

std::optional<double> parse_number(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// ---- xlsx: a zip of XML parts ----

std::optional<std::string> zip_part(zip_t* z, const char* name) {
  zip_stat_t st;
  if (zip_stat(z, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    return std::nullopt;
  if (st.size > (64u << 20))
    return std::nullopt;  // a part over 64 MB unpacked: not a sheet we read
  std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(zip_fopen(z, name, 0), &zip_fclose);
  if (!f)
    return std::nullopt;
  std::string out(st.size, '\0');
  zip_int64_t n = zip_fread(f.get(), out.data(), st.size);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size)
    return std::nullopt;
  return out;
}

// An element name without its namespace prefix.
std::string_view local(const XML_Char* name) {
  std::string_view n(name);
  auto colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

const XML_Char* attr(const XML_Char** atts, std::string_view name) {
  for (int i = 0; atts[i]; i += 2)
    if (local(atts[i]) == name)
      return atts[i + 1];
  return nullptr;
}

template <class Handler>
expected<void, std::string> parse_xml(const std::string& text, Handler& h) {
  std::unique_ptr<std::remove_pointer_t<XML_Parser>, decltype(&XML_ParserFree)> p(
    XML_ParserCreate("UTF-8"), &XML_ParserFree);
  XML_SetUserData(p.get(), &h);
  XML_SetElementHandler(
    p.get(),
    [](void* u, const XML_Char* n, const XML_Char** a) {
      static_cast<Handler*>(u)->start(local(n), a);
    },
    [](void* u, const XML_Char* n) { static_cast<Handler*>(u)->end(local(n)); });
  XML_SetCharacterDataHandler(p.get(), [](void* u, const XML_Char* s, int len) {
    static_cast<Handler*>(u)->text(std::string_view(s, static_cast<std::size_t>(len)));
  });
  if (XML_Parse(p.get(), text.data(), static_cast<int>(text.size()), XML_TRUE) == XML_STATUS_ERROR)
    return unexpected{fmt::format("not well-formed XML at line {}: {}",
                                  XML_GetCurrentLineNumber(p.get()),
                                  XML_ErrorString(XML_GetErrorCode(p.get())))};
  return {};
}

// sharedStrings.xml: <si> items, each the text of its <t> elements.
struct shared_strings {
  std::vector<std::string> items;
  bool in_t = false;
  void start(std::string_view n, const XML_Char**) {
    if (n == "si")
      items.emplace_back();
    if (n == "t")
      in_t = true;
  }
  void end(std::string_view n) {
    if (n == "t")
      in_t = false;
  }
  void text(std::string_view s) {
    if (in_t && !items.empty())
      items.back() += s;
  }
};

// A worksheet: rows of cells placed by their reference ("C7").
struct sheet_reader {
  const std::vector<std::string>* strings = nullptr;
  std::map<int, std::map<int, std::string>> cells;  // row -> column -> text
  int row = 0, col = -1, next_row = 1, next_col = 0;
  std::string type, value;
  bool in_v = false, in_t = false;
  std::string error;

  void start(std::string_view n, const XML_Char** a) {
    if (n == "row") {
      auto r = attr(a, "r");
      row = next_row;
      if (r) {
        auto [p, ec] = std::from_chars(r, r + std::strlen(r), row);
        if (ec != std::errc{})
          row = 0;
      }
      // Rows come in order, within a sheet's 1,048,576.
      if (row < next_row || row > 1'048'576) {
        if (error.empty())
          error = fmt::format("a row numbered {} after row {}", r ? r : "?", next_row - 1);
        row = next_row;
      }
      next_row = row + 1;
      next_col = 0;
    } else if (n == "c") {
      col = next_col;
      if (auto r = attr(a, "r")) {
        int c = 0, letters = 0;
        for (const char* p = r; *p && std::isalpha(static_cast<unsigned char>(*p)) && letters < 4;
             ++p, ++letters)
          c = c * 26 + (std::toupper(static_cast<unsigned char>(*p)) - 'A' + 1);
        col = c - 1;
      }
      // Within a sheet's 16,384 columns (XFD).
      if (col < 0 || col >= 16'384) {
        if (error.empty())
          error = fmt::format("row {}: a cell beyond the sheet's columns", row);
        col = -1;
        return;
      }
      next_col = col + 1;
      auto t = attr(a, "t");
      type = t ? t : "n";
      value.clear();
    } else if (n == "v") {
      in_v = true;
    } else if (n == "t") {
      in_t = true;
    }
  }
  void end(std::string_view n) {
    if (n == "v")
      in_v = false;
    if (n == "t")
      in_t = false;
    if (n != "c" || col < 0)
      return;
    if (row < 1) {  // a cell outside any row
      if (error.empty())
        error = "a cell outside a row";
      col = -1;
      return;
    }
    std::string text = value;
    if (type == "s") {
      std::size_t i = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), i);
      if (ec != std::errc{} || !strings || i >= strings->size()) {
        error = fmt::format("row {}: a shared string that is not there", row);
        return;
      }
      text = (*strings)[i];
    } else if (type == "b") {
      text = value == "1" ? "TRUE" : "FALSE";
    }
    if (!text.empty() && !cells[row].emplace(col, std::move(text)).second && error.empty())
      error = fmt::format("row {}: a cell given twice", row);
    col = -1;
  }
  void text(std::string_view s) {
    if (in_v || (in_t && type == "inlineStr"))
      value += s;
  }
};

}  // namespace

expected<std::vector<table_row>, std::string> read_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);  // Excel's UTF-8 mark
  std::vector<table_row> out;
  table_row row;
  std::string cell;
  int line = 1;
  row.line = 1;
  bool quoted = false, any = false;
  int quote_line = 0;
  auto end_row = [&] {
    row.cells.push_back(std::move(cell));
    cell.clear();
    bool blank = std::all_of(row.cells.begin(), row.cells.end(),
                             [](const std::string& c) { return trim(c).empty(); });
    if (!blank)
      out.push_back(std::move(row));
    row = table_row{};
    any = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n')
          ++line;
        cell += c;
      }
      continue;
    }
    if (!any)
      row.line = line, any = true;
    if (c == '"') {
      quoted = true;
      quote_line = line;
    } else if (c == ',') {
      row.cells.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      end_row();
      ++line;
    } else if (c != '\r') {
      cell += c;
    }
  }
  if (quoted)
    return unexpected{fmt::format("line {}: a quote that is never closed", quote_line)};
  if (any)
    end_row();
  return out;
}

namespace {

// workbook.xml: the sheets in order, by name and relationship id.
struct workbook_sheets {
  std::vector<std::pair<std::string, std::string>> sheets;  // name, r:id
  void start(std::string_view n, const XML_Char** a) {
    if (n != "sheet")
      return;
    auto name = attr(a, "name");
    auto id = attr(a, "id");  // r:id (the prefix dropped)
    sheets.emplace_back(name ? name : "", id ? id : "");
  }
  void end(std::string_view) {}
  void text(std::string_view) {}
};

// workbook.xml.rels: relationship id -> part.
struct relationships {
  std::map<std::string, std::string> target;
  void start(std::string_view n, const XML_Char** a) {
    if (n != "Relationship")
      return;
    auto id = attr(a, "Id");
    auto t = attr(a, "Target");
    if (id && t)
      target[id] = t;
  }
  void end(std::string_view) {}
  void text(std::string_view) {}
};

using archive_ptr = std::unique_ptr<zip_t, decltype(&zip_discard)>;

expected<archive_ptr, std::string> open_xlsx(std::string_view bytes) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  if (!src)
    return unexpected{std::string("not an .xlsx file")};
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &err);
  if (!z) {
    zip_source_free(src);
    zip_error_fini(&err);
    return unexpected{std::string("not an .xlsx file (not a zip archive)")};
  }
  zip_error_fini(&err);
  return archive_ptr(z, &zip_discard);
}

expected<std::vector<table_row>, std::string> read_part(zip_t* z, const std::string& name,
                                                        const shared_strings& ss) {
  auto sheet = zip_part(z, name.c_str());
  if (!sheet)
    return unexpected{name + ": not in the file"};
  sheet_reader rd;
  rd.strings = &ss.items;
  if (auto r = parse_xml(*sheet, rd); !r)
    return unexpected{name + ": " + r.error()};
  if (!rd.error.empty())
    return unexpected{name + ": " + rd.error};
  std::vector<table_row> out;
  for (auto& [r, cols] : rd.cells) {
    table_row row;
    row.line = r;
    int width = cols.empty() ? 0 : cols.rbegin()->first + 1;
    row.cells.resize(static_cast<std::size_t>(width));
    for (auto& [c, text] : cols)
      row.cells[static_cast<std::size_t>(c)] = std::move(text);
    out.push_back(std::move(row));
  }
  return out;
}

// An .xlsx file opened, with its shared strings read.
struct open_workbook {
  archive_ptr archive;
  shared_strings strings;
};

expected<open_workbook, std::string> open_book(std::string_view bytes) {
  auto archive = open_xlsx(bytes);
  if (!archive)
    return unexpected{archive.error()};
  open_workbook out{std::move(*archive), {}};
  if (auto part = zip_part(out.archive.get(), "xl/sharedStrings.xml"))
    if (auto r = parse_xml(*part, out.strings); !r)
      return unexpected{"xl/sharedStrings.xml: " + r.error()};
  return out;
}

}  // namespace

expected<std::vector<table_row>, std::string> read_xlsx(std::string_view bytes) {
  auto book = open_book(bytes);
  if (!book)
    return unexpected{book.error()};
  zip_t* z = book->archive.get();
  const auto* ss = &book->strings;
  // The first worksheet: sheet1 as every spreadsheet program writes it,
  // else the first part under xl/worksheets/.
  std::string name = "xl/worksheets/sheet1.xml";
  bool found = zip_name_locate(z, name.c_str(), 0) >= 0;
  for (zip_int64_t i = 0, n = zip_get_num_entries(z, 0); !found && i < n; ++i) {
    const char* e = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
    if (e && std::string_view(e).starts_with("xl/worksheets/")
        && std::string_view(e).ends_with(".xml"))
      name = e, found = true;
  }
  if (!found)
    return unexpected{std::string("the .xlsx file has no worksheet")};
  return read_part(z, name, *ss);
}

namespace {
constexpr std::size_t max_sheets = 64;
constexpr zip_uint64_t max_unpacked = 64u << 20;
}  // namespace

expected<std::vector<named_table>, std::string> read_xlsx_sheets(std::string_view bytes) {
  auto book = open_book(bytes);
  if (!book)
    return unexpected{book.error()};
  zip_t* z = book->archive.get();
  const auto* ss = &book->strings;
  auto wb_part = zip_part(z, "xl/workbook.xml");
  auto rels_part = zip_part(z, "xl/_rels/workbook.xml.rels");
  if (!wb_part || !rels_part)
    return unexpected{std::string("not an .xlsx file (no xl/workbook.xml and its relationships)")};
  workbook_sheets wb;
  if (auto r = parse_xml(*wb_part, wb); !r)
    return unexpected{"xl/workbook.xml: " + r.error()};
  relationships rels;
  if (auto r = parse_xml(*rels_part, rels); !r)
    return unexpected{"xl/_rels/workbook.xml.rels: " + r.error()};
  // A small file may unpack to much more: at most 64 sheets, each its own
  // part, 64 MB unpacked in all.
  if (wb.sheets.size() > max_sheets)
    return unexpected{
      fmt::format("{} sheets in the workbook; at most {}", wb.sheets.size(), max_sheets)};
  std::vector<named_table> out;
  std::set<std::string> parts;
  zip_uint64_t unpacked = 0;  // the shared strings counted too
  if (zip_stat_t st; zip_stat(z, "xl/sharedStrings.xml", 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE))
    unpacked += st.size;
  for (const auto& [name, id] : wb.sheets) {
    auto it = rels.target.find(id);
    if (it == rels.target.end())
      return unexpected{fmt::format("sheet \"{}\": no part in the file", name)};
    // Relative to xl/, or absolute within the archive.
    std::string part = it->second.starts_with("/") ? it->second.substr(1) : "xl/" + it->second;
    if (!parts.insert(part).second)
      return unexpected{fmt::format("sheet \"{}\": its part is another sheet's", name)};
    zip_stat_t st;
    if (zip_stat(z, part.c_str(), 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE))
      unpacked += st.size;
    if (unpacked > max_unpacked)
      return unexpected{fmt::format("the sheets unpack to more than {} MB", max_unpacked >> 20)};
    auto rows = read_part(z, part, *ss);
    if (!rows)
      return unexpected{fmt::format("sheet \"{}\": {}", name, rows.error())};
    out.push_back({name, std::move(*rows)});
  }
  return out;
}

std::string to_csv(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i)
        out += ',';
      const auto& c = row[i];
      if (c.find_first_of(",\"\r\n") == std::string::npos) {
        out += c;
        continue;
      }
      out += '"';
      for (char ch : c)
        out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      out += '"';
    }
    out += "\n";
  }
  return out;
}

namespace {

void fill_sheet(lxw_worksheet* ws, lxw_format* bold,
                const std::vector<std::vector<std::string>>& rows,
                const std::vector<std::size_t>& text_columns) {
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      auto row = static_cast<lxw_row_t>(r);
      auto col = static_cast<lxw_col_t>(c);
      const auto& text = rows[r][c];
      bool as_text =
        r == 0 || std::find(text_columns.begin(), text_columns.end(), c) != text_columns.end();
      if (auto v = as_text ? std::nullopt : parse_number(text))
        worksheet_write_number(ws, row, col, *v, nullptr);
      else if (!text.empty())
        worksheet_write_string(ws, row, col, text.c_str(), r == 0 ? bold : nullptr);
    }
}

}  // namespace

expected<std::string, std::string> to_xlsx_sheet(const std::vector<std::vector<std::string>>& rows,
                                                 const std::string& sheet,
                                                 const std::vector<std::size_t>& text_columns) {
  return write_workbook(
    sheet, [&](lxw_worksheet* ws, lxw_format* bold) { fill_sheet(ws, bold, rows, text_columns); });
}

expected<std::string, std::string> to_xlsx_sheets(const std::vector<table_sheet>& sheets) {
  std::vector<sheet_fill> fills;
  for (const auto& s : sheets)
    fills.push_back({s.name, [&s](lxw_worksheet* ws, lxw_format* bold) {
                       fill_sheet(ws, bold, s.rows, s.text_columns);
                     }});
  return write_workbook(fills);
}

std::optional<absl::CivilDay> parse_date(std::string_view s) {
  auto t = trim(s);
  if (t.empty())
    return std::nullopt;
  // An Excel serial day (days since 1899-12-30), as an .xlsx date cell holds.
  // (A date-time cell has the time as its fraction: the day is its floor.)
  if (auto v = parse_number(t); v && t.find_first_of("eE+-") == std::string::npos) {
    if (*v < 1 || *v >= 2958466)
      return std::nullopt;  // up to 9999-12-31
    return absl::CivilDay(1899, 12, 30) + static_cast<int64_t>(std::floor(*v));
  }
  int y = 0, m = 0, d = 0;
  char sep = 0;
  for (char c : t)
    if (c == '-' || c == '/' || c == '.') {
      sep = c;
      break;
    }
  auto a = t.find(sep), b = t.find(sep, a + 1);
  if (b == std::string::npos || t.find(sep, b + 1) != std::string::npos)
    return std::nullopt;
  auto num = [](std::string_view x, int& out, std::size_t min_len, std::size_t max_len) {
    if (x.size() < min_len || x.size() > max_len)
      return false;
    auto [p, ec] = std::from_chars(x.data(), x.data() + x.size(), out);
    return ec == std::errc{} && p == x.data() + x.size();
  };
  std::string_view v(t);
  if (!num(v.substr(0, a), y, 4, 4) || !num(v.substr(a + 1, b - a - 1), m, 1, 2)
      || !num(v.substr(b + 1), d, 1, 2))
    return std::nullopt;
  absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d)
    return std::nullopt;  // 2026-02-30
  return day;
}

expected<entry_rows, std::string> entries_from(const std::vector<table_row>& table) {
  if (table.empty())
    return unexpected{std::string("the table is empty")};
  const auto& header = table.front().cells;
  std::vector<std::string> h;
  for (const auto& c : header)
    h.push_back(lower(trim(c)));
  if (h.empty() || (h[0] != "date" && h[0] != "日期"))
    return unexpected{
      fmt::format("line {}: the first column's header must be \"date\" (or 日期), then "
                  "\"id,value[,note]\" or one column per indicator or product id",
                  table.front().line)};
  bool long_layout = h.size() >= 3 && h[1] == "id" && h[2] == "value";
  entry_rows out;
  auto refuse = [&](int line, std::string why) { out.refused.push_back({line, std::move(why)}); };
  for (std::size_t r = 1; r < table.size(); ++r) {
    const auto& row = table[r];
    auto cell = [&](std::size_t i) {
      return i < row.cells.size() ? trim(row.cells[i]) : std::string();
    };
    auto day = parse_date(cell(0));
    if (!day) {
      refuse(row.line, fmt::format("\"{}\" is not a date (YYYY-MM-DD)", cell(0)));
      continue;
    }
    if (long_layout) {
      auto id = cell(1);
      auto value = parse_number(cell(2));
      if (id.empty())
        refuse(row.line, "no id");
      else if (!value)
        refuse(row.line, fmt::format("\"{}\" is not a number", cell(2)));
      else
        out.rows.push_back({row.line, id, *day, *value, h.size() > 3 ? cell(3) : std::string()});
      continue;
    }
    for (std::size_t c = 1; c < std::max(header.size(), row.cells.size()); ++c) {
      auto text = cell(c);
      if (text.empty())
        continue;  // no entry for that one this day
      auto id = c < header.size() ? trim(header[c]) : std::string();
      auto value = parse_number(text);
      if (id.empty())
        refuse(row.line, fmt::format("a value in column {} that has no id in its header", c + 1));
      else if (!value)
        refuse(row.line, fmt::format("{}: \"{}\" is not a number", id, text));
      else
        out.rows.push_back({row.line, id, *day, *value, {}});
    }
  }
  return out;
}

}  // namespace plantd::services
