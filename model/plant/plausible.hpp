// Plausibility of device readings: a value no device can produce (infinite,
// NaN, or beyond the range the config gives the meter) is INVALID, never a
// measurement that dispatch acts on. A meter whose readings are invalid is
// treated like a silent one (fail-safe once it is stale) and alarmed.
#pragma once

#include <optional>
#include <string>

#include "model/common/quality.hpp"
#include "model/plant/config.hpp"

namespace plantd::plant {

// No C&I site's meter measures more: the range of a meter whose config
// leaves rated_power_w at 0.
inline constexpr double default_meter_range_w = 100e6;

// The largest power (W, either sign) the meter `d` can measure.
double meter_range_w(const serial_device& d) noexcept;

// When `r` is usable but not plausible for a meter of `range_w`, marks it
// invalid and says why; nullopt when it is fine (or already not usable).
std::optional<std::string> implausible_power(reading& r, double range_w);

}  // namespace plantd::plant
