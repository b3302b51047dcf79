// rules::grid_limits: export limit and demand limit on the mode's target.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("grid limits: export and demand", "[dispatch][rules]") {
  struct row {
    const char* what;
    bool export_on;
    double export_w;
    bool demand_on;
    double demand_w;
    double recharge_below_w;
    double balance_w;  // net load before the battery
    double target_w;   // the mode's
    double expect_w;
    rule binding;
  };
  const auto m = rule::manual;
  const row rows[] = {
    {"no limits", false, 0, false, 0, 0, -30'000, 0, 0, m},
    {"export within the limit", true, 5'000, false, 0, 0, -4'000, 0, 0, m},
    {"export above: charge the rest", true, 5'000, false, 0, 0, -30'000, 0, -25'000,
     rule::export_limit},
    {"zero export, discharging into export", true, 0, false, 0, 0, 2'000, 10'000, 2'000,
     rule::export_limit},
    {"demand within", false, 0, true, 50'000, 0, 40'000, 0, 0, m},
    {"demand above: discharge the rest", false, 0, true, 50'000, 0, 80'000, 0, 30'000,
     rule::demand_limit},
    {"demand: charging pushes over", false, 0, true, 50'000, 0, 40'000, -20'000, -10'000,
     rule::demand_limit},
    {"recharge below the threshold", false, 0, true, 50'000, 20'000, 5'000, 0, -15'000,
     rule::demand_limit},
    {"recharge: the mode charges more already", false, 0, true, 50'000, 20'000, 5'000, -30'000,
     -30'000, m},
    {"no recharge while discharging", false, 0, true, 50'000, 20'000, 5'000, 3'000, 3'000, m},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    plant::policies p;
    p.export_limit.enabled = r.export_on;
    p.export_limit.limit_w = r.export_w;
    p.demand_limit = {r.demand_on, r.demand_w, r.recharge_below_w};
    rules::target t{r.target_w, m};
    rules::grid_limits(t, p, r.balance_w);
    CHECK(t.w == r.expect_w);
    CHECK(t.binding == r.binding);
  }
}
