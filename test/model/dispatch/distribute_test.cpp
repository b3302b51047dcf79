// rules::split and rules::distribute: the plant total over the cabinets.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("split: by weight, none above its cap, the rest to the others", "[dispatch][rules]") {
  struct row {
    const char* what;
    double total;
    std::vector<double> cap;
    std::vector<double> weight;
    std::vector<double> expect;
  };
  const row rows[] = {
    {"equal", 90, {100, 100, 100}, {1, 1, 1}, {30, 30, 30}},
    {"by weight", 90, {100, 100, 100}, {1, 2, 3}, {15, 30, 45}},
    {"one full: its rest to the others", 90, {10, 100, 100}, {1, 1, 1}, {10, 40, 40}},
    {"two full in turn", 90, {10, 20, 100}, {1, 1, 1}, {10, 20, 60}},
    {"more than all can take", 500, {10, 20, 30}, {1, 1, 1}, {10, 20, 30}},
    {"a zero cap takes nothing", 60, {0, 100, 100}, {5, 1, 1}, {0, 30, 30}},
    {"a zero weight takes nothing", 60, {100, 100, 100}, {0, 1, 1}, {0, 30, 30}},
    {"nothing", 0, {100, 100}, {1, 1}, {0, 0}},
    {"no cabinet", 50, {}, {}, {}},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto out = rules::split(r.total, r.cap, r.weight);
    REQUIRE(out.size() == r.expect.size());
    for (std::size_t i = 0; i < out.size(); ++i)
      CHECK(out[i] == Approx(r.expect[i]).margin(1e-9));
  }
}

TEST_CASE("distribute: discharge from the fuller cabinets, charge into the emptier",
          "[dispatch][rules]") {
  auto s = plant_at(0, 2);
  s.cabinets[0].soc = 20;  // 10 % above min, 75 % below max
  s.cabinets[1].soc = 50;  // 40 % above min, 45 % below max
  rules::cabinet_limits lim;
  lim.charge_cap = {100'000, 100'000};
  lim.discharge_cap = {100'000, 100'000};
  plant::soc_bounds soc;  // 10..95
  struct row {
    double w;
    double first_w;
    double second_w;
  };
  const row rows[] = {
    {52'000, 52'000.0 * 11 / 52, 52'000.0 * 41 / 52},          // weights 1 + 10, 1 + 40
    {-122'000, -122'000.0 * 76 / 122, -122'000.0 * 46 / 122},  // weights 1 + 75, 1 + 45
    {0, 0, 0},
    {250'000, 100'000, 100'000},
  };
  for (const auto& r : rows) {
    INFO(r.w);
    auto out = rules::distribute(r.w, lim, s, soc);
    CHECK(out[0] == Approx(r.first_w));
    CHECK(out[1] == Approx(r.second_w));
  }
  // A cabinet without headroom takes no share.
  lim.discharge_cap = {0, 100'000};
  auto out = rules::distribute(30'000, lim, s, soc);
  CHECK(out[0] == 0);
  CHECK(out[1] == Approx(30'000));
}
