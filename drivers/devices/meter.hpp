// A three-phase meter (grid or PV) read through its point table.
//
// Canonical point names a meter table provides (any subset; what is absent
// reads as missing): active_power (W, > 0 import / forward), active_power_l1..3,
// voltage_l1..3 (V), current_l1..3 (A), frequency (Hz), power_factor,
// import_energy and export_energy (Wh, counters that only grow).
// A table without active_power but with all three phases gets their sum.
#pragma once

#include <array>

#include "drivers/devices/device.hpp"

namespace plantd::devices {

struct meter_reading {
  reading active_power_w;
  std::array<reading, 3> phase_power_w;
  std::array<reading, 3> voltage_v;
  std::array<reading, 3> current_a;
  reading frequency_hz;
  reading power_factor;
  reading import_wh;
  reading export_wh;
  std::optional<modbus::failure> failure;  // set when any request failed
};

class meter {
public:
  meter(const pointtables::table& t, modbus::register_bus& bus, uint8_t unit)
    : dev_(t, bus, unit) {}
  // Without a bus: raw().read_requests(), answered elsewhere, then decode.
  meter(const pointtables::table& t, uint8_t unit)
    : dev_(t, unit) {}

  meter_reading read() { return decode(dev_.read_all()); }
  meter_reading decode(const snapshot& s) const;

  device& raw() noexcept { return dev_; }
  const device& raw() const noexcept { return dev_; }

private:
  device dev_;
};

}  // namespace plantd::devices
