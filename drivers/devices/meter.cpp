#include "drivers/devices/meter.hpp"

#include <algorithm>

namespace plantd::devices {

meter_reading meter::decode(const snapshot& s) const {
  meter_reading r;
  r.failure = s.failure;
  r.active_power_w = dev_.value(s, "active_power");
  static constexpr std::array<const char*, 3> p{"active_power_l1", "active_power_l2",
                                                "active_power_l3"};
  static constexpr std::array<const char*, 3> v{"voltage_l1", "voltage_l2", "voltage_l3"};
  static constexpr std::array<const char*, 3> c{"current_l1", "current_l2", "current_l3"};
  for (std::size_t i = 0; i < 3; ++i) {
    r.phase_power_w[i] = dev_.value(s, p[i]);
    r.voltage_v[i] = dev_.value(s, v[i]);
    r.current_a[i] = dev_.value(s, c[i]);
  }
  if (!dev_.table().index_of("active_power")
      && std::all_of(r.phase_power_w.begin(), r.phase_power_w.end(),
                     [](const reading& x) { return x.usable(); }))
    r.active_power_w = {r.phase_power_w[0].value + r.phase_power_w[1].value
                          + r.phase_power_w[2].value,
                        quality::estimated};
  r.frequency_hz = dev_.value(s, "frequency");
  r.power_factor = dev_.value(s, "power_factor");
  r.import_wh = dev_.value(s, "import_energy");
  r.export_wh = dev_.value(s, "export_energy");
  return r;
}

}  // namespace plantd::devices
