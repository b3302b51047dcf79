#include "drivers/devices/cabinet.hpp"

#include <cmath>

namespace plantd::devices {

namespace {

// The bits of a status word. A table may declare the word signed (or scale
// it): its low 32 bits then, as converting a negative or huge double to
// uint32_t directly is undefined behaviour.
uint32_t word(const reading& r) {
  if (!r.usable() || !(std::abs(r.value) < 9.2e18))
    return 0;
  return static_cast<uint32_t>(static_cast<int64_t>(r.value));
}

}  // namespace

cabinet_reading cabinet::read() {
  auto s = dev_.read_all();
  auto v = [&](const char* name) { return dev_.value(s, name); };
  cabinet_reading r;
  r.failure = s.failure;
  r.pcs_state = v("pcs_state");
  if (auto i = dev_.table().index_of("pcs_state"); i && r.pcs_state.usable())
    r.pcs_state_label = pointtables::label(dev_.table().points[*i], r.pcs_state.value);
  r.pcs_faults = word(v("pcs_fault_word"));
  r.active_power_w = v("active_power");
  r.reactive_power_var = v("reactive_power");
  r.power_setpoint_w = v("power_setpoint");
  r.allowed_charge_w = v("allowed_charge_power");
  r.allowed_discharge_w = v("allowed_discharge_power");
  r.soc_percent = v("soc");
  r.soh_percent = v("soh");
  r.cycles = v("cycles");
  r.battery_voltage_v = v("battery_voltage");
  r.battery_current_a = v("battery_current");
  r.cell_voltage_max_v = v("cell_voltage_max");
  r.cell_voltage_min_v = v("cell_voltage_min");
  r.cell_temperature_max_c = v("cell_temperature_max");
  r.cell_temperature_min_c = v("cell_temperature_min");
  r.bms_alarms = word(v("bms_alarm_word"));
  r.bms_faults = word(v("bms_fault_word"));
  r.contactor_closed = v("contactor");
  r.coolant_inlet_c = v("coolant_inlet_temperature");
  r.coolant_outlet_c = v("coolant_outlet_temperature");
  r.pump_running = v("pump_running");
  r.cooling_faults = word(v("cooling_fault_word"));
  r.fire_state = v("fire_state");
  r.fire_alarms = word(v("fire_alarm_word"));
  r.charged_wh = v("charged_energy");
  r.discharged_wh = v("discharged_energy");
  r.flags = dev_.flags(s);
  return r;
}

modbus::result<void> cabinet::set_power(double watts) {
  return dev_.write("power_setpoint", watts);
}

modbus::result<void> cabinet::set_running(bool run) {
  return dev_.write("run_command", run ? 1 : 0);
}

modbus::result<void> cabinet::beat(uint16_t counter) {
  return dev_.write("heartbeat", counter);
}

modbus::result<bool> cabinet::set_watchdog(std::chrono::seconds timeout) {
  if (!dev_.table().index_of("watchdog_timeout"))
    return false;
  if (auto r = dev_.write("watchdog_timeout", static_cast<double>(timeout.count())); !r)
    return unexpected{r.error()};
  return true;
}

}  // namespace plantd::devices
