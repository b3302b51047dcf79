// rules::pv_limit: curtail PV only as far as the limits require, and raise
// an export-limit curtailment only once the meter has seen it.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("PV limit: what each limit leaves the inverters", "[dispatch][rules]") {
  struct row {
    const char* what;
    bool export_on;
    double export_w;
    bool meter_ok;
    double balance_w;   // net load before the battery
    double battery_w;   // decided
    double charge_max;  // the battery's charge headroom
    double rcr;
    std::optional<double> generation_cap;
    bool stopped;
    double fraction;
    rule binding;
  };
  // PV rated 100 kW producing 60 kW at the grid sample; fail-safe PV export 10 kW.
  const row rows[] = {
    {"no limit", false, 0, true, -50'000, 0, 0, 1, {}, false, 1, rule::idle},
    {"zero export, battery takes it all",
     true,
     0,
     true,
     -50'000,
     -50'000,
     100'000,
     1,
     {},
     false,
     1,
     rule::idle},
    {"zero export, battery full",
     true,
     0,
     true,
     -50'000,
     0,
     0,
     1,
     {},
     false,
     0.1,
     rule::export_limit},
    {"zero export, battery takes 20 kW",
     true,
     0,
     true,
     -50'000,
     -20'000,
     20'000,
     1,
     {},
     false,
     0.3,
     rule::export_limit},
    {"5 kW export allowed",
     true,
     5'000,
     true,
     -50'000,
     0,
     0,
     1,
     {},
     false,
     0.15,
     rule::export_limit},
    {"importing 20 kW: PV may rise by that much",
     true,
     0,
     true,
     20'000,
     0,
     0,
     1,
     {},
     false,
     0.8,
     rule::export_limit},
    {"importing more than PV could add", true, 0, true, 50'000, 0, 0, 1, {}, false, 1, rule::idle},
    {"ripple control 60 %", false, 0, true, 0, 0, 0, 0.6, {}, false, 0.6, rule::grid_order},
    {"DRM generation cap 30 %", false, 0, true, 0, 0, 0, 1, 0.3, false, 0.3, rule::grid_order},
    {"meter lost: fail-safe export", true, 0, false, 0, 0, 0, 1, {}, false, 0.1, rule::fail_safe},
    {"stopped", false, 0, true, 0, 0, 0, 1, {}, true, 0, rule::safety},
    {"the tightest wins", true, 0, true, -50'000, 0, 0, 0.05, {}, false, 0.05, rule::grid_order},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto s = plant_at(0);
    s.inverters = {{true, 100'000, 60'000}};
    s.rcr_fraction = r.rcr;
    s.dred.generation_cap = r.generation_cap;
    plant::policies p;
    p.export_limit.enabled = r.export_on;
    p.export_limit.limit_w = r.export_w;
    p.fail_safe.pv_export_w = 10'000;
    rules::measured m;
    m.meter_ok = r.meter_ok;
    m.balance_w = r.balance_w;
    m.pv_rated_w = 100'000;
    m.pv_w = m.pv_at_sample_w = 60'000;
    auto st = state_for();
    auto pv = rules::pv_limit(s, p, m, r.battery_w, r.charge_max, r.stopped, st);
    CHECK(pv.fraction == Approx(r.fraction));
    CHECK(pv.binding == r.binding);
    CHECK(st.last_pv_rule == r.binding);
  }
}

TEST_CASE("PV limit: an export-limit curtailment is raised only on a settled reading",
          "[dispatch][rules]") {
  struct row {
    const char* what;
    rule last_rule;
    std::chrono::milliseconds grid_after_change;  // grid_time - pv_changed_at
    double fraction;                              // decided (was 0.2; 1.0 wanted)
    bool change_stamped;                          // pv_changed_at moved to now
  };
  const row rows[] = {
    {"a reading before the settling time", rule::export_limit, 999ms, 0.2, false},
    {"a reading at the settling time", rule::export_limit, 1000ms, 1.0, true},
    {"a limit set by another rule", rule::grid_order, 0ms, 1.0, true},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto s = plant_at(80'000);  // importing: nothing to curtail
    s.inverters = {{true, 100'000, 20'000}};
    plant::policies p;
    p.export_limit.enabled = true;
    rules::measured m;
    m.meter_ok = true;
    m.balance_w = 100'000;
    m.pv_rated_w = 100'000;
    m.pv_w = m.pv_at_sample_w = 20'000;
    auto st = state_for();
    st.initialized = true;
    st.last_pv_fraction = 0.2;
    st.last_pv_rule = r.last_rule;
    st.pv_changed_at = s.grid_time - r.grid_after_change;
    auto before = st.pv_changed_at;
    auto pv = rules::pv_limit(s, p, m, 0, 0, false, st);
    CHECK(pv.fraction == Approx(r.fraction));
    CHECK((st.pv_changed_at == s.now) == r.change_stamped);
    if (!r.change_stamped)
      CHECK(st.pv_changed_at == before);
  }
  // A change stamped after now (the clock was set back) counts from now.
  auto s = plant_at(80'000);
  s.inverters = {{true, 100'000, 20'000}};
  plant::policies p;
  p.export_limit.enabled = true;
  rules::measured m{0, 20'000, 100'000, true, 80'000, 100'000, 20'000};
  auto st = state_for();
  st.initialized = true;
  st.last_pv_fraction = 0.2;
  st.last_pv_rule = rule::export_limit;
  st.pv_changed_at = s.now + 1h;
  CHECK(rules::pv_limit(s, p, m, 0, 0, false, st).fraction == Approx(0.2));
  CHECK(st.pv_changed_at == s.now);
}
