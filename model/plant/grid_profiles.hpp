// Grid profiles as data: what a country's grid code fixes in the config,
// each value with the source it comes from. Only values a public source
// backs are here; a profile without any fixes nothing (and says so).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "model/common/problem.hpp"
#include "model/plant/config.hpp"

namespace plantd::plant {

struct grid_profile_rules {
  grid_profile profile = grid_profile::unspecified;
  std::string_view name;  // "AS/NZS 4777.2"
  // The demand-response interface the code requires.
  std::optional<demand_response_kind> demand_response;
  // Export back under the limit (the trip output at the latest) within.
  std::optional<uint32_t> export_within_ms;
  // Fail-safe within, once the grid meter is lost (plantd goes fail-safe
  // when the meter has been silent policies.fail_safe.meter_stale_ms).
  std::optional<uint32_t> fail_safe_within_ms;
  std::string_view source;  // where the values above come from
};

// The rules of every profile plantd knows.
const std::vector<grid_profile_rules>& grid_profiles();
const grid_profile_rules* rules_of(grid_profile p);

// Where `cfg` departs from its site's grid profile: one problem per value,
// naming the profile and its source.
problems grid_profile_departures(const config& cfg);

// Sets what the site's grid profile fixes (the demand-response interface,
// times no longer than the code allows); the rest is left as it is.
// A start refuses a config file that departs (as --check-config says).
void apply_grid_profile(config& cfg);

}  // namespace plantd::plant
