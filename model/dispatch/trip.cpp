#include "model/dispatch/rules.hpp"

#include <algorithm>

namespace plantd::dispatch::rules {

bool trip(const snapshot& s, const plant::policies& p, const measured& m, double rated_power_w,
          uint32_t trip_output, state& st) {
  if (m.meter_ok && p.export_limit.enabled) {
    double tolerance =
      p.export_limit.trip_tolerance_w.value_or(std::max(500.0, 0.01 * rated_power_w));
    if (m.grid_w < -(p.export_limit.limit_w + tolerance)) {
      // Counted again from now after the clock was set back (SetTime): a
      // step back must not hold the trip off for as long as the step.
      if (!st.export_exceeded_since || *st.export_exceeded_since > s.now)
        st.export_exceeded_since = s.now;
      else if (s.now - *st.export_exceeded_since
               >= std::chrono::milliseconds{p.export_limit.max_protection_time_ms})
        st.export_trip = true;
    } else {
      st.export_exceeded_since.reset();
    }
  }
  return st.export_trip && trip_output != 0;
}

}  // namespace plantd::dispatch::rules
