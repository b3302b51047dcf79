// rules::grid_orders: DRM caps as a share of the plant's rated power.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("grid orders: DRM caps on charge and discharge", "[dispatch][rules]") {
  struct row {
    const char* what;
    std::optional<double> consumption_cap;
    std::optional<double> generation_cap;
    double target_w;
    double expect_w;
    rule binding;
  };
  const auto m = rule::self_consumption;
  // Rated 200 kW.
  const row rows[] = {
    {"no order", {}, {}, -150'000, -150'000, m},
    {"charge capped at 50 %", 0.5, {}, -150'000, -100'000, rule::grid_order},
    {"charge under the cap", 0.5, {}, -80'000, -80'000, m},
    {"no charge (DRM1)", 0.0, {}, -80'000, 0, rule::grid_order},
    {"a charge cap leaves discharge", 0.0, {}, 80'000, 80'000, m},
    {"discharge capped at 75 %", {}, 0.75, 180'000, 150'000, rule::grid_order},
    {"no discharge (DRM5)", {}, 0.0, 10'000, 0, rule::grid_order},
    {"a discharge cap leaves charge", {}, 0.0, -10'000, -10'000, m},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    io::dred_order dred;
    dred.consumption_cap = r.consumption_cap;
    dred.generation_cap = r.generation_cap;
    rules::target t{r.target_w, m};
    rules::grid_orders(t, dred, 200'000);
    CHECK(t.w == r.expect_w);
    CHECK(t.binding == r.binding);
  }
}
