#include "model/dispatch/rules.hpp"

namespace plantd::dispatch::rules {

measured measure(const snapshot& s, const plant::fail_safe& fs, state& st) {
  measured m;
  for (const auto& c : s.cabinets)
    if (c.fresh)
      m.battery_w += c.power_w;
  for (const auto& inv : s.inverters) {
    m.pv_rated_w += inv.rated_power_w;
    if (inv.fresh)
      m.pv_w += inv.power_w;
  }
  m.meter_ok = s.grid_w.usable() && s.grid_time <= s.now  // stamped later: the clock was set back
               && s.now - s.grid_time <= std::chrono::milliseconds{fs.meter_stale_ms};
  m.grid_w = m.meter_ok ? s.grid_w.value : 0;
  m.balance_w = m.grid_w + m.battery_w;
  m.pv_at_sample_w = m.pv_w;
  if (!m.meter_ok)
    return m;
  // A grid sample is integrated once: a decision that sees the same sample
  // again reuses its balance instead of adding the old grid power to a
  // battery power already moved.
  bool same_sample = st.have_balance && s.grid_time == st.balance_sample_time
                     && s.grid_w.value == st.balance_sample_w;
  if (same_sample) {
    m.balance_w = st.balance_w;
    m.pv_at_sample_w = st.balance_pv_w;
  } else {
    st.have_balance = true;
    st.balance_sample_time = s.grid_time;
    st.balance_sample_w = s.grid_w.value;
    st.balance_w = m.balance_w;
    st.balance_pv_w = m.pv_w;
  }
  return m;
}

}  // namespace plantd::dispatch::rules
