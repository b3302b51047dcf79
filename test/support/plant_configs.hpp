// Valid plant configurations built in code, for tests and benchmarks that
// start from a good config and break one thing.
#pragma once

#include <fmt/format.h>

#include "model/plant/config.hpp"

namespace plantd::test {

// A valid plant of `n` cabinets (1..20); from 12 cabinets on, cabinets 11..n
// are wired to an EMS-Switch unit installed in cabinet 11, as in the product
// manual's 20-cabinet example.
inline plant::config valid_config(std::size_t n = 1) {
  using namespace plant;
  config c;
  c.site.name = "Test site";
  c.site.time_zone = "Australia/Sydney";
  c.site.country = "AU";
  c.ems.primary.id = "ems-1";
  c.ems.primary.cabinet_id = "C01";
  c.ems.primary.host = "127.0.0.1";
  c.ems.primary.port = 4242;
  if (n >= ems_switch_required_from) {
    ems_unit sw;
    sw.id = "ems-switch-1";
    sw.cabinet_id = "C11";
    c.ems.ems_switch = sw;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    cabinet cab;
    cab.id = fmt::format("C{:02}", i);
    cab.serial = fmt::format("SN{:04}", i);
    cab.modbus = {"127.0.0.1", static_cast<uint32_t>(15000 + i), 1};
    cab.rated_power_w = 100'000;
    cab.rated_energy_wh = 215'000;
    if (c.ems.ems_switch && i > 10)
      c.ems.ems_switch->cabinet_ids.push_back(cab.id);
    else
      c.ems.primary.cabinet_ids.push_back(cab.id);
    c.cabinets.push_back(cab);
  }
  serial_line rs1;
  rs1.port = serial_port::rs485_1;
  rs1.device = "/dev/ttyS1";
  rs1.devices.push_back({"grid-meter", device_role::grid_meter, "chint-dtsu666", 1, 0, ""});
  serial_line rs2;
  rs2.port = serial_port::rs485_2;
  rs2.device = "/dev/ttyS2";
  rs2.devices.push_back({"pv-meter", device_role::pv_meter, "eastron-sdm630", 2, 0, ""});
  serial_line rs3;
  rs3.port = serial_port::rs485_3;
  rs3.device = "/dev/ttyS3";
  rs3.devices.push_back({"inv-1", device_role::pv_inverter, "saj-r5-inverter", 1, 20'000, ""});
  rs3.devices.push_back({"inv-2", device_role::pv_inverter, "saj-r5-inverter", 2, 20'000, ""});
  c.rs485_lines = {rs1, rs2, rs3};
  c.policies.export_limit.enabled = true;
  // The manual's example template: four slots covering every day.
  c.policies.tou = {
    {{}, "00:00", "08:00", slot_action::charge, 50'000, 10, 95, true},
    {{}, "08:00", "17:00", slot_action::self_consume, 0, 0, 0, false},
    {{}, "17:00", "20:00", slot_action::discharge, 80'000, 15, 100, false},
    {{}, "20:00", "24:00", slot_action::idle, 0, 0, 0, false},
  };
  return c;
}

}  // namespace plantd::test
