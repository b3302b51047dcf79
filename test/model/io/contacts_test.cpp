#include <catch2/catch.hpp>

#include "model/io/contacts.hpp"

using namespace plantd;

namespace {

plant::digital_input input(uint32_t ch, plant::input_function f, bool nc, std::string name) {
  return {ch, f, nc, std::move(name)};
}

}  // namespace

TEST_CASE("a generic alarm input raises a major alarm named after it while active", "[model][io]") {
  std::vector<plant::digital_input> ins{
    input(1, plant::input_function::generic_alarm, false, "Door open"),
    input(2, plant::input_function::generic_alarm, true, "Coolant level")};
  // DI1 closed (active, normally open); DI2 closed (inactive, normally closed).
  auto a = io::input_alarms(ins, {true, true});
  REQUIRE(a.size() == 1);
  CHECK(a[0].code == "digital_input");
  CHECK(a[0].device == "DI1");
  CHECK(a[0].level == alarms::severity::major);
  CHECK(a[0].text == "Door open active (DI1)");
  // Both open: DI2's normally-closed contact is active.
  auto b = io::input_alarms(ins, {false, false});
  REQUIRE(b.size() == 1);
  CHECK(b[0].device == "DI2");
  CHECK(b[0].text == "Coolant level active (DI2)");
  // Other functions are the dispatcher's, not alarms here.
  std::vector<plant::digital_input> stop{
    input(1, plant::input_function::emergency_stop, false, "E-stop")};
  CHECK(io::input_alarms(stop, {true, false}).empty());
}

TEST_CASE("the alarm lamp shows critical conditions, the fault relay major and critical ones",
          "[model][io]") {
  std::vector<plant::digital_output> outs{{1, plant::output_function::alarm_lamp, "Lamp"},
                                          {2, plant::output_function::fault_relay, "Relay"}};
  using sev = alarms::severity;
  auto with = [](sev s) { return std::vector<alarms::condition>{{"x", "C01", s, "t"}}; };
  using out = std::vector<std::pair<uint32_t, bool>>;
  CHECK(io::alarm_outputs(outs, {}) == out{{1, false}, {2, false}});
  CHECK(io::alarm_outputs(outs, with(sev::warning)) == out{{1, false}, {2, false}});
  CHECK(io::alarm_outputs(outs, with(sev::major)) == out{{1, false}, {2, true}});
  CHECK(io::alarm_outputs(outs, with(sev::critical)) == out{{1, true}, {2, true}});
  // The export-limit trip output is the dispatcher's.
  std::vector<plant::digital_output> trip{{1, plant::output_function::export_limit_trip, ""}};
  CHECK(io::alarm_outputs(trip, with(sev::critical)).empty());
}
