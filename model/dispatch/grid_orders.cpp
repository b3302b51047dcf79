#include "model/dispatch/rules.hpp"

#include <algorithm>

namespace plantd::dispatch::rules {

void grid_orders(target& t, const io::dred_order& dred, double rated_power_w) {
  if (dred.consumption_cap)
    t.apply(std::max(t.w, -*dred.consumption_cap * rated_power_w), rule::grid_order);
  if (dred.generation_cap)
    t.apply(std::min(t.w, *dred.generation_cap * rated_power_w), rule::grid_order);
}

}  // namespace plantd::dispatch::rules
