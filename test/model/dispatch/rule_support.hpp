// Shared inputs for the rule table tests: a time, and cabinets and
// inverters in good health that a row then changes.
#pragma once

#include <chrono>

#include "model/dispatch/rules.hpp"

namespace plantd::dispatch::test {

using namespace std::chrono_literals;

// 2026-06-03 12:00 UTC.
inline const time_point t0{std::chrono::milliseconds{1'780'488'000'000}};

inline cabinet_input healthy_cabinet(double soc = 50, double power_w = 0) {
  cabinet_input c;
  c.fresh = true;
  c.soc = soc;
  c.power_w = power_w;
  c.allowed_charge_w = 100'000;
  c.allowed_discharge_w = 100'000;
  c.rated_power_w = 100'000;
  return c;
}

// `n` cabinets, a fresh grid reading of `grid_w` taken now.
inline snapshot plant_at(double grid_w, std::size_t n = 1) {
  snapshot s;
  s.now = t0;
  s.grid_w = {grid_w, quality::measured};
  s.grid_time = t0;
  for (std::size_t i = 0; i < n; ++i)
    s.cabinets.push_back(healthy_cabinet());
  return s;
}

// A state ready for `n` cabinets, as decide() sizes it.
inline state state_for(std::size_t n = 1) {
  state st;
  st.soc_low_lock.assign(n, false);
  st.soc_high_lock.assign(n, false);
  return st;
}

}  // namespace plantd::dispatch::test
