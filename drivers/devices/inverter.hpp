// A PV string inverter read through its point table, with its active-power
// limit as the one setpoint.
//
// Canonical point names: state (enum), fault_word_1.. (bits), pv1_voltage,
// pv1_current, pv1_power .. pvN_*, ac_power (W, >= 0), total_energy (Wh),
// power_limit (%, rw).
#pragma once

#include <chrono>

#include "drivers/devices/device.hpp"

namespace plantd::devices {

struct inverter_reading {
  reading state;
  std::string state_label;
  uint32_t fault_bits = 0;  // OR of the fault words present, 16 bits each
  std::string faults;       // labels of the set bits, "|"-separated
  reading pv_power_w;       // sum of the strings
  reading ac_power_w;
  reading total_energy_wh;
  reading power_limit_percent;
  std::optional<modbus::failure> failure;
};

class inverter {
public:
  inverter(const pointtables::table& t, modbus::register_bus& bus, uint8_t unit)
    : dev_(t, bus, unit) {}
  // Without a bus: the requests below, answered elsewhere, then decode.
  inverter(const pointtables::table& t, uint8_t unit)
    : dev_(t, unit) {}

  inverter_reading read() { return decode(dev_.read_all()); }
  inverter_reading decode(const snapshot& s) const;

  // Active power limit in percent of rated power (0..100).
  modbus::result<void> set_power_limit(double percent);
  modbus::result<modbus::request> power_limit_request(double percent) const;
  // Programs the inverter's own communication-loss fallback: with no
  // request for `timeout` (whole seconds), it limits itself to `percent`.
  // False when the table has no comm_loss_timeout and comm_loss_limit
  // points (the inverter keeps its last limit when plantd is gone).
  modbus::result<bool> set_comm_loss_fallback(std::chrono::seconds timeout, double percent);
  // Its two writes, the limit first (a timeout armed before it would fall
  // back to a stale one); none when the table lacks the points.
  std::vector<modbus::request> comm_loss_fallback_requests(std::chrono::seconds timeout,
                                                           double percent) const;

  device& raw() noexcept { return dev_; }
  const device& raw() const noexcept { return dev_; }

private:
  device dev_;
};

}  // namespace plantd::devices
