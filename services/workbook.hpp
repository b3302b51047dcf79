// An .xlsx file of one sheet (libxlsxwriter), written row by row to a
// temporary file in constant-memory mode and returned as bytes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <xlsxwriter.h>

#include "model/common/expected.hpp"

namespace plantd::services {

// A sheet and what writes it (given a bold format for headers).
struct sheet_fill {
  std::string name;  // at most 31 characters are kept
  std::function<void(lxw_worksheet*, lxw_format* bold)> fill;
};

// The file's bytes once each sheet's `fill` has written it, or why it
// could not be written.
expected<std::string, std::string> write_workbook(const std::vector<sheet_fill>& sheets);

// The file's bytes once `fill` has written the sheet (given a bold format
// for headers), or why it could not be written.
expected<std::string, std::string>
write_workbook(const std::string& sheet,
               const std::function<void(lxw_worksheet*, lxw_format* bold)>& fill);

}  // namespace plantd::services
