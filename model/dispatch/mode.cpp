#include "model/dispatch/rules.hpp"

#include <algorithm>
#include <cmath>

namespace plantd::dispatch::rules {

target mode(const snapshot& s, const plant::policies& p, const plant::tou_slot* slot,
            double balance_w, double dt_s, state& st) {
  target t;
  if (st.manual && st.manual->expires <= s.now)
    st.manual.reset();
  if (st.manual) {
    t = {st.manual->power_w, rule::manual};
  } else if (p.mode == plant::working_mode::time_of_use) {
    t.binding = rule::time_of_use;
    if (slot) {
      switch (slot->action) {
        case plant::slot_action::charge: {
          double want = slot->power_w;
          if (!slot->grid_charge)  // only what would otherwise be exported
            want = std::min(want, std::max(0.0, -balance_w));
          t.w = -want;
          break;
        }
        case plant::slot_action::discharge: t.w = slot->power_w; break;
        case plant::slot_action::self_consume: t.w = balance_w; break;
        default: t.w = 0; break;
      }
    }
  } else {
    t = {balance_w, rule::self_consumption};
  }

  // Self-consumption never discharges the battery while PV is curtailed:
  // releasing PV covers the load first (the PV limit does that).
  bool self_consuming = !st.manual
                        && (p.mode == plant::working_mode::self_consumption
                            || (slot && slot->action == plant::slot_action::self_consume));
  if (self_consuming && st.last_pv_fraction < 0.999 && t.w > 0)
    t.w = 0;

  // Ramp and deadband smooth the working mode only; the rules above it act
  // on the smoothed value at once.
  if (st.initialized) {
    if (p.distribution.ramp_w_per_s > 0 && dt_s > 0) {
      double step = p.distribution.ramp_w_per_s * dt_s;
      t.w = std::clamp(t.w, st.last_battery_w - step, st.last_battery_w + step);
    }
    if (std::abs(t.w - st.last_battery_w) < p.distribution.deadband_w)
      t.w = st.last_battery_w;
  }
  return t;
}

}  // namespace plantd::dispatch::rules
