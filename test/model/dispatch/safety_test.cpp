// rules::safety: the stop inputs (normally open or closed, unknown while the
// I/O lines are down) and DRM0.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("safety: which inputs stop the plant, and why", "[dispatch][rules]") {
  using fn = plant::input_function;
  struct row {
    const char* what;
    fn function;
    bool normally_closed;
    bool closed;  // DI1
    bool io_known;
    bool drm0;
    bool stops;
    const char* why;
  };
  const row rows[] = {
    {"e-stop open", fn::emergency_stop, false, false, true, false, false, ""},
    {"e-stop closed", fn::emergency_stop, false, true, true, false, true, "DI1 (E-stop) active"},
    {"NC e-stop closed", fn::emergency_stop, true, true, true, false, false, ""},
    {"NC e-stop open (wire cut)", fn::emergency_stop, true, false, true, false, true,
     "DI1 (E-stop) active"},
    {"external trip", fn::external_trip, false, true, true, false, true, "DI1 (E-stop) active"},
    {"fire alarm", fn::fire_alarm, false, true, true, false, true, "DI1 (E-stop) active"},
    {"a generic alarm input never stops", fn::generic_alarm, false, true, true, false, false, ""},
    {"lines unknown", fn::emergency_stop, false, false, false, false, true,
     "DI1 (E-stop) unknown: I/O lines unavailable"},
    {"generic input, lines unknown", fn::generic_alarm, false, false, false, false, false, ""},
    {"DRM0", fn::none, false, false, true, true, true, "DRM0: disconnect ordered"},
    {"DRM0 says last", fn::emergency_stop, false, true, true, true, true,
     "DRM0: disconnect ordered"},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto s = plant_at(0);
    s.di = {r.closed, false};
    s.io_known = r.io_known;
    s.dred.drm0 = r.drm0;
    std::vector<plant::digital_input> inputs;
    if (r.function != fn::none)
      inputs.push_back({1, r.function, r.normally_closed, "E-stop"});
    auto stop = rules::safety(s, inputs);
    CHECK(stop.active == r.stops);
    CHECK(stop.why == r.why);
  }
}

TEST_CASE("safety: an unnamed input and a channel out of range", "[dispatch][rules]") {
  auto s = plant_at(0);
  s.di = {false, true};
  std::vector<plant::digital_input> inputs{
    {2, plant::input_function::emergency_stop, false, ""},
    {3, plant::input_function::emergency_stop, false, "no such channel"},
  };
  auto stop = rules::safety(s, inputs);
  CHECK(stop.active);
  CHECK(stop.why == "DI2 (stop input) active");
}
