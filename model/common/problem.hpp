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

// "path: message; message; ..." (a problem without a path is its message).
inline std::string to_text(const problems& found) {
  std::string text;
  for (const auto& p : found) {
    if (!text.empty())
      text += "; ";
    text += p.path.empty() ? p.message : p.path + ": " + p.message;
  }
  return text;
}

}  // namespace plantd
