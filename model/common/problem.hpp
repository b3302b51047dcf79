// One thing wrong with an input, named by the path of the field it is about
// ("cabinets[3].modbus.port"; empty for the input as a whole). Validators
// return every problem they find, not only the first.
#pragma once

#include <string>
#include <vector>

namespace plantd {

struct problem {
  std::string path;
  std::string message;

  friend bool operator==(const problem&, const problem&) = default;
};

using problems = std::vector<problem>;

} // namespace plantd
