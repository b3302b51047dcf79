// One all-in-one battery cabinet (PCS, BMS, liquid cooling, fire protection)
// through its point table (cm2-cabinet or a real cabinet's map with the same
// point names). Sign: power > 0 discharge, < 0 charge.
#pragma once

#include <chrono>

#include "drivers/devices/device.hpp"

namespace plantd::devices {

struct cabinet_reading {
  reading pcs_state;
  std::string pcs_state_label;
  uint32_t pcs_faults = 0;
  reading active_power_w;
  reading reactive_power_var;
  reading power_setpoint_w;
  reading allowed_charge_w;
  reading allowed_discharge_w;
  reading soc_percent;
  reading soh_percent;
  reading cycles;
  reading battery_voltage_v;
  reading battery_current_a;
  reading cell_voltage_max_v;
  reading cell_voltage_min_v;
  reading cell_temperature_max_c;
  reading cell_temperature_min_c;
  uint32_t bms_alarms = 0;
  uint32_t bms_faults = 0;
  reading contactor_closed;
  reading coolant_inlet_c;
  reading coolant_outlet_c;
  reading pump_running;
  uint32_t cooling_faults = 0;
  reading fire_state;
  uint32_t fire_alarms = 0;
  reading charged_wh;
  reading discharged_wh;
  std::optional<modbus::failure> failure;
  std::vector<flag> flags;  // set fault and alarm bits, with their labels

  // Any fire alarm or fire state beyond normal.
  bool fire() const noexcept {
    return fire_alarms != 0 || (fire_state.usable() && fire_state.value >= 2);
  }
};

class cabinet {
public:
  cabinet(const pointtables::table& t, modbus::register_bus& bus, uint8_t unit)
    : dev_(t, bus, unit) {}

  cabinet_reading read();

  // Active power command in W (> 0 discharge).
  modbus::result<void> set_power(double watts);
  // Start (true) or stop (false) the PCS.
  modbus::result<void> set_running(bool run);
  // Advances the EMS watchdog counter.
  modbus::result<void> beat(uint16_t counter);
  // Programs the PCS's own fallback: 0 W once the heartbeat stays unchanged
  // for `timeout` (whole seconds). False when the table has no
  // watchdog_timeout point (the device's fixed time applies).
  modbus::result<bool> set_watchdog(std::chrono::seconds timeout);

  device& raw() noexcept { return dev_; }

private:
  device dev_;
};

}  // namespace plantd::devices
