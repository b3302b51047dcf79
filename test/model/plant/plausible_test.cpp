// A meter reading no meter can produce is invalid, never a measurement.
#include <catch2/catch.hpp>

#include <limits>

#include "model/plant/plausible.hpp"

using namespace plantd;

TEST_CASE("a meter's range is its rated power, or 100 MW when the config leaves it 0",
          "[plant][plausible]") {
  plant::serial_device d;
  CHECK(plant::meter_range_w(d) == plant::default_meter_range_w);
  d.rated_power_w = 250'000;
  CHECK(plant::meter_range_w(d) == 250'000);
}

TEST_CASE("an impossible grid power is invalid with a reason, a plausible one is kept",
          "[plant][plausible]") {
  struct row {
    double value;
    bool invalid;
    const char* says;
  };
  auto r = GENERATE(values<row>({
    {-68'900, false, ""},
    {249'999, false, ""},
    {-250'001, true, "beyond the meter's range"},
    {std::numeric_limits<double>::infinity(), true, "not a finite number"},
    {std::numeric_limits<double>::quiet_NaN(), true, "not a finite number"},
  }));
  CAPTURE(r.value);
  reading x{r.value, quality::measured};
  auto why = plant::implausible_power(x, 250'000);
  CHECK(why.has_value() == r.invalid);
  if (r.invalid) {
    CHECK(x.quality == quality::invalid);
    CHECK_FALSE(x.usable());
    CHECK_THAT(*why, Catch::Contains(r.says));
  } else {
    CHECK(x.quality == quality::measured);
    CHECK(x.value == r.value);
  }
}

TEST_CASE("a reading that is already missing stays missing", "[plant][plausible]") {
  reading x{0, quality::missing};
  CHECK_FALSE(plant::implausible_power(x, 1000).has_value());
  CHECK(x.quality == quality::missing);
}
