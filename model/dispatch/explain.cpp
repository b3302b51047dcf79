#include "model/dispatch/rules.hpp"

#include <fmt/format.h>

namespace plantd::dispatch::rules {

std::string explain(const decision& d, const snapshot& s, const measured& m, const stop& stop,
                    bool protection_limited, const std::string& cabinet_notes) {
  std::string out;
  switch (d.binding) {
    case rule::safety: out = "safety: plant stopped, " + stop.why; break;
    case rule::fail_safe:
      out = fmt::format("fail-safe: grid meter {}; batteries to 0 W, PV at {:.0f} %",
                        s.grid_w.usable() ? "stale" : "missing", d.pv_limit_fraction * 100);
      break;
    default:
      out = fmt::format("{}: battery {:.1f} kW (grid {:.1f} kW, PV {:.1f} kW)",
                        to_string(d.binding), d.battery_w / 1000, m.grid_w / 1000, m.pv_w / 1000);
      if (d.pv_binding != rule::idle)
        out += fmt::format(", PV limited to {:.0f} % by {}", d.pv_limit_fraction * 100,
                           to_string(d.pv_binding));
  }
  if (protection_limited && d.binding != rule::battery_protection)
    out += "; battery limits apply";
  out += cabinet_notes;
  return out;
}

}  // namespace plantd::dispatch::rules
