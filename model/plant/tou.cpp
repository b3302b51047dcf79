#include "model/plant/tou.hpp"

namespace plantd::plant {

std::optional<int> parse_hhmm(std::string_view text) noexcept {
  if (text.size() != 5 || text[2] != ':')
    return std::nullopt;
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (!digit(0) || !digit(1) || !digit(3) || !digit(4))
    return std::nullopt;
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0))
    return std::nullopt;
  return hours * 60 + minutes;
}

}  // namespace plantd::plant
