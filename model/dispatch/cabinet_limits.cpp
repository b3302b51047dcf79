#include "model/dispatch/rules.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace plantd::dispatch::rules {

namespace {

// 1 at or below `full`, 0 at or above `zero`, linear between.
double taper(double x, double full, double zero) {
  return std::clamp((zero - x) / (zero - full), 0.0, 1.0);
}

}  // namespace

cabinet_limits limit_cabinets(const snapshot& s, const plant::policies& p,
                              const plant::tou_slot* slot, state& st) {
  const auto n = s.cabinets.size();
  cabinet_limits lim;
  lim.charge_cap.assign(n, 0);
  lim.discharge_cap.assign(n, 0);
  lim.run.assign(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = s.cabinets[i];
    if (c.fire || c.bms_fault) {
      lim.run[i] = false;
      lim.notes +=
        fmt::format("; cabinet {} stopped ({})", i + 1, c.fire ? "fire alarm" : "BMS fault");
      continue;
    }
    if (!c.fresh || c.contactor_open)
      continue;  // excluded; its share goes to the others
    // SOC bounds with hysteresis: a bound reached locks that direction
    // until the SOC is back by the hysteresis.
    bool low = st.soc_low_lock[i];
    bool high = st.soc_high_lock[i];
    if (c.soc <= p.soc.min_percent)
      low = true;
    else if (c.soc >= p.soc.min_percent + p.soc.hysteresis_percent)
      low = false;
    if (c.soc >= p.soc.max_percent)
      high = true;
    else if (c.soc <= p.soc.max_percent - p.soc.hysteresis_percent)
      high = false;
    st.soc_low_lock[i] = low;
    st.soc_high_lock[i] = high;
    double derate = taper(c.cell_temp_max_c, p.thermal.derate_from_c, p.thermal.derate_to_c)
                    * (c.cooling_fault ? p.thermal.cooling_fault_factor : 1.0);
    double ch = std::min(c.allowed_charge_w, c.rated_power_w) * derate;
    double dis = std::min(c.allowed_discharge_w, c.rated_power_w) * derate;
    if (low)
      dis = 0;
    if (high)
      ch = 0;
    if (slot && (slot->soc_min_percent != 0 || slot->soc_max_percent != 0)) {
      if (c.soc <= slot->soc_min_percent)
        dis = 0;
      if (c.soc >= slot->soc_max_percent)
        ch = 0;
    }
    lim.charge_cap[i] = std::max(0.0, ch);
    lim.discharge_cap[i] = std::max(0.0, dis);
    lim.charge_max += lim.charge_cap[i];
    lim.discharge_max += lim.discharge_cap[i];
  }
  return lim;
}

}  // namespace plantd::dispatch::rules
