// Every value carries a quality. Missing is never silently 0.
#pragma once

#include <cstdint>

namespace plantd {

enum class quality : uint8_t {
  measured = 0,  // read from a device just now
  estimated,     // computed or interpolated from other values
  manual,        // entered by a person
  missing,       // no value (device silent, point not in the map)
  stale,         // last known value, older than its freshness limit
  invalid,       // a value arrived but cannot be right (NaN, out of range)
};

constexpr const char* to_string(quality q) noexcept {
  switch (q) {
    case quality::measured: return "measured";
    case quality::estimated: return "estimated";
    case quality::manual: return "manual";
    case quality::missing: return "missing";
    case quality::stale: return "stale";
    case quality::invalid: return "invalid";
  }
  return "unknown";
}

// When values are combined, the worse quality wins: measured < manual <
// estimated < stale < invalid < missing.
constexpr int quality_rank(quality q) noexcept {
  switch (q) {
    case quality::measured: return 0;
    case quality::manual: return 1;
    case quality::estimated: return 2;
    case quality::stale: return 3;
    case quality::invalid: return 4;
    case quality::missing: return 5;
  }
  return 5;
}
constexpr quality worse(quality a, quality b) noexcept {
  return quality_rank(a) >= quality_rank(b) ? a : b;
}

// A value with its quality; `value` means nothing when quality is missing.
struct reading {
  double value = 0;
  enum quality quality = quality::missing;

  bool usable() const noexcept {
    return quality == quality::measured || quality == quality::estimated
           || quality == quality::manual;
  }
};

}  // namespace plantd
