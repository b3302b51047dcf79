// rules::explain: the sentence PlantState and the web show for a decision.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("explain: one sentence per binding rule", "[dispatch][rules]") {
  struct row {
    const char* what;
    rule binding;
    rule pv_binding;
    quality grid_quality;
    bool protection_limited;
    const char* notes;
    const char* expect;
  };
  const row rows[] = {
    {"self-consumption", rule::self_consumption, rule::idle, quality::measured, false, "",
     "self-consumption: battery 12.3 kW (grid -1.5 kW, PV 40.0 kW)"},
    {"PV curtailed", rule::export_limit, rule::export_limit, quality::measured, false, "",
     "export limit: battery 12.3 kW (grid -1.5 kW, PV 40.0 kW), PV limited to 35 % by export "
     "limit"},
    {"battery limits", rule::time_of_use, rule::idle, quality::measured, true, "",
     "time of use: battery 12.3 kW (grid -1.5 kW, PV 40.0 kW); battery limits apply"},
    {"battery protection binds", rule::battery_protection, rule::idle, quality::measured, true, "",
     "battery protection: battery 12.3 kW (grid -1.5 kW, PV 40.0 kW)"},
    {"a cabinet stopped", rule::manual, rule::idle, quality::measured, false,
     "; cabinet 2 stopped (fire alarm)",
     "manual setpoint: battery 12.3 kW (grid -1.5 kW, PV 40.0 kW); cabinet 2 stopped (fire "
     "alarm)"},
    {"safety", rule::safety, rule::safety, quality::measured, false, "",
     "safety: plant stopped, DI1 (E-stop) active"},
    {"fail-safe, meter stale", rule::fail_safe, rule::fail_safe, quality::measured, false, "",
     "fail-safe: grid meter stale; batteries to 0 W, PV at 35 %"},
    {"fail-safe, meter missing", rule::fail_safe, rule::fail_safe, quality::missing, false, "",
     "fail-safe: grid meter missing; batteries to 0 W, PV at 35 %"},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    decision d;
    d.binding = r.binding;
    d.pv_binding = r.pv_binding;
    d.battery_w = 12'345;
    d.pv_limit_fraction = 0.35;
    auto s = plant_at(-1'500);
    s.grid_w.quality = r.grid_quality;
    rules::measured m;
    m.grid_w = -1'500;
    m.pv_w = 40'000;
    rules::stop stop{true, "DI1 (E-stop) active"};
    CHECK(rules::explain(d, s, m, stop, r.protection_limited, r.notes) == r.expect);
  }
}
