// Time-of-use template helpers: slot times as minutes of the day.
#pragma once

#include <optional>
#include <string_view>

namespace plantd::plant {

inline constexpr int minutes_per_day = 24 * 60;

// "HH:MM" -> minutes after midnight, 0..1440 ("24:00" is the end of the day).
// nullopt for anything else, e.g. "7:00", "24:01", "12:60".
std::optional<int> parse_hhmm(std::string_view text) noexcept;

}  // namespace plantd::plant
