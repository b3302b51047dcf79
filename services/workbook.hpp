// An .xlsx file of one sheet (libxlsxwriter), written row by row to a
// temporary file in constant-memory mode and returned as bytes.
#pragma once

#include <functional>
#include <string>

#include <xlsxwriter.h>

#include "model/common/expected.hpp"

namespace plantd::services {

// The file's bytes once `fill` has written the sheet (given a bold format
// for headers), or why it could not be written.
expected<std::string, std::string>
write_workbook(const std::string& sheet,
               const std::function<void(lxw_worksheet*, lxw_format* bold)>& fill);

}  // namespace plantd::services
