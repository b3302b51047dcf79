#include "services/workbook.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace plantd::services {

expected<std::string, std::string>
write_workbook(const std::string& sheet,
               const std::function<void(lxw_worksheet*, lxw_format* bold)>& fill) {
  return write_workbook(std::vector<sheet_fill>{{sheet, fill}});
}

expected<std::string, std::string> write_workbook(const std::vector<sheet_fill>& sheets) {
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
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  for (const auto& s : sheets) {
    // Names are cut at 31 bytes, not inside a UTF-8 character.
    std::string name = s.name.substr(0, 31);
    while (!name.empty() && name.size() < s.name.size()
           && (static_cast<unsigned char>(s.name[name.size()]) & 0xC0) == 0x80)
      name.pop_back();
    lxw_worksheet* ws = workbook_add_worksheet(wb, name.c_str());
    if (!ws) {
      workbook_close(wb);
      std::remove(path);
      return unexpected{fmt::format("cannot add the sheet \"{}\"", s.name)};
    }
    s.fill(ws, bold);
  }
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

}  // namespace plantd::services
