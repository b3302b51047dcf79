// CAF inspectors of the plant's messages: device samples and commands, the
// plant state, alarms and their conditions, TOU slots, stored points. The
// types are the model's and the drivers' (which know nothing of CAF); the
// inspectors that make them messages are here.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

#include "actors/config_inspect.hpp"
#include "actors/inspect_fields.hpp"
#include "actors/plant_messages.hpp"
#include "drivers/store/store.hpp"
#include "model/alarms/alarm_book.hpp"
#include "model/plant/config.hpp"

namespace plantd::actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, io_sample& x) {
  return f(caf::meta::type_name("io_sample"), x.time, x.ok, x.lines, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, demand_response_sample& x) {
  // The RCR lines as one bit each.
  uint8_t rcr = 0;
  for (std::size_t i = 0; i < x.rcr.size(); ++i)
    rcr = static_cast<uint8_t>(rcr | (x.rcr[i] ? 1U << i : 0U));
  return f(caf::meta::type_name("demand_response_sample"), x.time, x.ok, x.dred, rcr, x.error,
           caf::meta::load_callback([&]() -> caf::error {
             for (std::size_t i = 0; i < x.rcr.size(); ++i)
               x.rcr[i] = ((rcr >> i) & 1U) != 0;
             return caf::none;
           }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cabinet_command& x) {
  return f(caf::meta::type_name("cabinet_command"), x.power_w, x.run, x.rewrite);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inverter_command& x) {
  return f(caf::meta::type_name("inverter_command"), x.index, x.limit_percent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, output_command& x) {
  return f(caf::meta::type_name("output_command"), x.channel, x.closed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bus_batch& x) {
  return f(caf::meta::type_name("bus_batch"), x.device, x.requests);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bus_reply& x) {
  return f(caf::meta::type_name("bus_reply"), x.answers, x.done_at);
}

}  // namespace plantd::actors

namespace plantd {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(caf::meta::type_name("reading"), x.value, x.quality);
}

}  // namespace plantd

namespace plantd::io {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dred_contacts& x) {
  // One bit per contact: to_com 0..3, to_refgen 4..7, refgen_to_com 8 (GCC
  // 12 at -O3 warns of a bool array read through CAF's byte conversion).
  uint16_t bits = x.refgen_to_com ? 1U << 8 : 0U;
  for (std::size_t i = 0; i < 4; ++i)
    bits = static_cast<uint16_t>(bits | (x.to_com[i] ? 1U << i : 0U)
                                 | (x.to_refgen[i] ? 1U << (4 + i) : 0U));
  return f(caf::meta::type_name("dred_contacts"), bits,
           caf::meta::load_callback([&]() -> caf::error {
             for (std::size_t i = 0; i < 4; ++i) {
               x.to_com[i] = ((bits >> i) & 1U) != 0;
               x.to_refgen[i] = ((bits >> (4 + i)) & 1U) != 0;
             }
             x.refgen_to_com = ((bits >> 8) & 1U) != 0;
             return caf::none;
           }));
}

}  // namespace plantd::io

namespace plantd::modbus {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure& x) {
  return f(caf::meta::type_name("modbus_failure"), x.fault, x.exception_code, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request& x) {
  return f(caf::meta::type_name("modbus_request"), x.kind, x.unit, x.fc, x.address, x.count,
           x.values, x.needs_success);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, answer& x) {
  actors::optional_field<failure> error{x.error};
  return f(caf::meta::type_name("modbus_answer"), x.data, error);
}

}  // namespace plantd::modbus

namespace plantd::dio {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, line_state& x) {
  return f(caf::meta::type_name("line_state"), x.di, x.dred, x.rcr);
}

}  // namespace plantd::dio

namespace plantd::alarms {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, condition& x) {
  return f(caf::meta::type_name("condition"), x.code, x.device, x.level, x.text);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm& x) {
  actors::optional_field<int64_t> cleared{x.cleared_ms}, acked{x.acked_ms};
  return f(caf::meta::type_name("alarm"), x.id, x.code, x.device, x.level, x.text, x.raised_ms,
           cleared, acked, x.acked_by);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, filter& x) {
  uint64_t limit = x.limit;
  return f(caf::meta::type_name("filter"), x.state, x.device, x.after_id, limit,
           caf::meta::load_callback([&]() -> caf::error {
             x.limit = static_cast<std::size_t>(limit);
             return caf::none;
           }));
}

}  // namespace plantd::alarms

namespace plantd::dispatch {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cabinet_input& x) {
  return f(caf::meta::type_name("cabinet_input"), x.fresh, x.soc, x.power_w, x.allowed_charge_w,
           x.allowed_discharge_w, x.rated_power_w, x.fire, x.bms_fault, x.cooling_fault,
           x.contactor_open, x.cell_temp_max_c);
}

}  // namespace plantd::dispatch

namespace plantd::plant {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cabinet_sample& x) {
  return f(caf::meta::type_name("cabinet_sample"), x.index, x.time, x.ok, x.error, x.input,
           x.setpoint_w, x.setpoint_known, x.wrote_since_connect, x.flags, x.soh_percent, x.cycles,
           x.cell_voltage_max_v, x.cell_voltage_min_v, x.cell_temperature_max_c,
           x.cell_temperature_min_c, x.fire_state, x.coolant_inlet_c, x.coolant_outlet_c,
           x.pump_running, x.cooling_fault, x.serial, x.serial_error, x.serial_unsupported);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, meter_sample& x) {
  return f(caf::meta::type_name("meter_sample"), x.role, x.id, x.time, x.read_at, x.power_w,
           x.import_wh, x.export_wh, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inverter_sample& x) {
  return f(caf::meta::type_name("inverter_sample"), x.index, x.time, x.ok, x.power_w, x.error,
           x.serial, x.serial_error, x.serial_unsupported);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plant_state::device& x) {
  return f(caf::meta::type_name("device"), x.id, x.available, x.error, x.power_w, x.setpoint_w,
           x.soc_percent, x.serial, x.serial_error, x.serial_unsupported);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plant_state::cabinet_detail& x) {
  return f(caf::meta::type_name("cabinet_detail"), x.id, x.soh_percent, x.cycles,
           x.cell_voltage_max_v, x.cell_voltage_min_v, x.cell_temperature_max_c,
           x.cell_temperature_min_c, x.fire_state, x.coolant_inlet_c, x.coolant_outlet_c,
           x.pump_running, x.cooling_fault);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plant_state::sub_meter& x) {
  return f(caf::meta::type_name("sub_meter"), x.id, x.available, x.error, x.power_w, x.import_wh,
           x.export_wh);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plant_state& x) {
  return f(caf::meta::type_name("plant_state"), x.time, x.grid_w, x.pv_w, x.load_w,
           x.grid_import_wh, x.grid_export_wh, x.battery_w, x.battery_setpoint_w, x.soc_percent,
           x.mode, x.binding, x.pv_binding, x.explanation, x.pv_limit_percent, x.export_trip,
           x.manual_setpoint_w, x.manual_active, x.cabinet_details, x.cabinets, x.inverters,
           x.grid_meter_available, x.io_available, x.sub_meters, x.decisions, x.latency_p50_us,
           x.latency_p99_us, x.latency_window, x.latency_sum_us, x.latency_counts, x.conditions);
}

}  // namespace plantd::plant

namespace plantd::store {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& x) {
  return f(caf::meta::type_name("point"), x.series, x.t_ms, x.value, x.q);
}

}  // namespace plantd::store
