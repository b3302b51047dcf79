#include "model/dispatch/rules.hpp"

#include <algorithm>

namespace plantd::dispatch::rules {

void grid_limits(target& t, const plant::policies& p, double balance_w) {
  // The grid the target would leave: > 0 import.
  if (p.export_limit.enabled && balance_w - t.w < -p.export_limit.limit_w)
    t.apply(balance_w + p.export_limit.limit_w, rule::export_limit);
  if (!p.demand_limit.enabled)
    return;
  double grid = balance_w - t.w;
  if (grid > p.demand_limit.limit_w)
    t.apply(balance_w - p.demand_limit.limit_w, rule::demand_limit);
  else if (t.w <= 0 && grid < p.demand_limit.recharge_below_w)
    t.apply(std::min(t.w, balance_w - p.demand_limit.recharge_below_w), rule::demand_limit);
}

}  // namespace plantd::dispatch::rules
