#include "model/plant/plausible.hpp"

#include <cmath>

#include <fmt/format.h>

namespace plantd::plant {

double meter_range_w(const serial_device& d) noexcept {
  return std::isfinite(d.rated_power_w) && d.rated_power_w > 0 ? d.rated_power_w
                                                               : default_meter_range_w;
}

std::optional<std::string> implausible_power(reading& r, double range_w) {
  if (!r.usable())
    return std::nullopt;
  if (!std::isfinite(r.value)) {
    r = {0, quality::invalid};
    return "active power is not a finite number";
  }
  if (std::abs(r.value) > range_w) {
    auto text = fmt::format("active power {:.0f} W is beyond the meter's range of +-{:.0f} W",
                            r.value, range_w);
    r = {0, quality::invalid};
    return text;
  }
  return std::nullopt;
}

}  // namespace plantd::plant
