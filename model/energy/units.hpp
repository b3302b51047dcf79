// Units of energy-carbon quantities: "kWh", "m3", "t", "kgce", "tCO2",
// "CNY/kWh", "kgce/t". A unit is a scale onto base units and the exponents of
// those base units, so tce and kgce are one dimension (scale 1000) and a
// formula adding kWh to m3 is rejected at save time.
//
// Base units: MJ (energy: kWh = 3.6 MJ, GJ, MWh), m3 (volume, L), kg (mass:
// t, g), kgce (standard coal: tce), kgCO2 (carbon: tCO2, kgCO2e, tCO2e) and
// h (time). Any other name (a currency such as CNY, a product unit such as
// pcs) is its own base unit.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/common/expected.hpp"

namespace plantd::energy {

struct unit {
  double scale = 1;  // one of this unit in base units
  // Base unit -> exponent, sorted by name, no zero exponents.
  std::vector<std::pair<std::string, int>> dims;

  bool dimensionless() const noexcept { return dims.empty(); }
  // Same dimension (scale may differ: kgce and tce are the same dimension).
  bool same_dimension(const unit& o) const noexcept { return dims == o.dims; }

  unit operator*(const unit& o) const;
  unit operator/(const unit& o) const;
};

// Parses "kWh", "CNY/kWh", "kgce/t", "kgCO2/(kWh)" is not supported: a unit is
// factors joined by '*' and '/', each a name with an optional ^N; "1" is
// dimensionless. The error names what is wrong.
expected<unit, std::string> parse_unit(std::string_view text);

// The dimension in base units, e.g. "MJ", "kgce/MJ" (for messages).
std::string dimension_text(const unit& u);

}  // namespace plantd::energy
