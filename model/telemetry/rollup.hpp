// Telemetry rollups: the buckets a time falls into, in the site's time zone
// (DST included: a local day may be 23 or 25 hours), and the aggregate kept
// per bucket. Pure.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include <absl/time/time.h>

#include "model/common/clock.hpp"

namespace plantd::telemetry {

enum class resolution : uint8_t {
  raw = 0,
  five_minutes = 1,
  hour = 2,
  day = 3,
  month = 4,
  year = 5,
};

inline constexpr resolution rollup_resolutions[] = {
  resolution::five_minutes, resolution::hour, resolution::day, resolution::month, resolution::year};

const char* to_string(resolution r) noexcept;
std::optional<resolution> resolution_from(std::string_view name) noexcept;

// The start of the bucket of `r` containing `t`, as local civil time in `tz`
// converted back to UTC. Five-minute and hour buckets follow the local
// clock too (a zone at UTC+9:30 has hours starting at :30 UTC).
time_point bucket_start(time_point t, resolution r, const absl::TimeZone& tz);
// The start of the next bucket.
time_point bucket_end(time_point t, resolution r, const absl::TimeZone& tz);

// What a bucket keeps of its points. Merging is associative and commutative,
// so buckets can be updated incrementally, in any order.
struct aggregate {
  uint32_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  int64_t first_ms = std::numeric_limits<int64_t>::max();
  double first = 0;
  int64_t last_ms = std::numeric_limits<int64_t>::min();
  double last = 0;

  void add(int64_t t_ms, double v) noexcept;
  void merge(const aggregate& o) noexcept;
  double mean() const noexcept { return count ? sum / count : 0; }

  static constexpr std::size_t encoded_size = 4 + 8 * 7;
  void encode(char* out) const noexcept;
  static aggregate decode(const char* in) noexcept;
};

}  // namespace plantd::telemetry
