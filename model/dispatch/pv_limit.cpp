#include "model/dispatch/rules.hpp"

#include <algorithm>

namespace plantd::dispatch::rules {

pv_decision pv_limit(const snapshot& s, const plant::policies& p, const measured& m,
                     double battery_w, double charge_max_w, bool stopped, state& st) {
  pv_decision out;
  auto cap = [&](double f, rule r) {
    f = std::clamp(f, 0.0, 1.0);
    if (f < out.fraction - 1e-9)
      out = {f, r};
  };
  if (m.pv_rated_w > 0) {
    if (m.meter_ok && p.export_limit.enabled) {
      double grid = m.balance_w - battery_w;
      double excess = -p.export_limit.limit_w - grid;             // > 0: too much export
      double headroom = std::max(0.0, charge_max_w + battery_w);  // more the battery could take
      double pv_cap = excess > 0 ? m.pv_at_sample_w - excess : m.pv_at_sample_w - excess + headroom;
      cap(pv_cap / m.pv_rated_w, rule::export_limit);
    }
    cap(s.rcr_fraction, rule::grid_order);
    if (s.dred.generation_cap)
      cap(*s.dred.generation_cap, rule::grid_order);
    if (!m.meter_ok)
      cap(p.fail_safe.pv_export_w / m.pv_rated_w, rule::fail_safe);
    if (stopped)
      cap(0, rule::safety);
  }
  // The export limit raises a PV limit it set only on a grid reading taken
  // a settling time after the limit's last change: an earlier one may not
  // show that change yet, and a raise on it would count the headroom twice
  // (export overshoots the limit). Lowering is never held.
  if (st.pv_changed_at > s.now)
    st.pv_changed_at = s.now;  // the clock was set back
  if (st.initialized && st.last_pv_rule == rule::export_limit && m.meter_ok
      && out.fraction > st.last_pv_fraction + 1e-9 && s.grid_time < st.pv_changed_at + pv_settle)
    out = {st.last_pv_fraction, rule::export_limit};
  if (out.fraction > st.last_pv_fraction + 1e-9)  // only a raise waits for the meter
    st.pv_changed_at = s.now;
  st.last_pv_rule = out.binding;
  return out;
}

}  // namespace plantd::dispatch::rules
