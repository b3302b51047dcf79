// CAF inspectors of the plant configuration: every struct of
// model/plant/config.hpp, and the shared snapshot that carries it between
// actors. A snapshot is passed by pointer within plantd (never copied);
// serialized, it is written out whole and read back as a new snapshot.
#pragma once

#include <memory>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

#include "actors/inspect_fields.hpp"
#include "model/plant/config.hpp"

namespace plantd::plant {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price_slot& x) {
  actors::enum_vector_field<weekday> days{x.days};
  return f(caf::meta::type_name("price_slot"), days, x.start, x.end, x.price_per_kwh);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tou_slot& x) {
  actors::enum_vector_field<weekday> days{x.days};
  return f(caf::meta::type_name("tou_slot"), days, x.start, x.end, x.action, x.power_w,
           x.soc_min_percent, x.soc_max_percent, x.grid_charge);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, site& x) {
  // Milliseconds since the epoch, as an optional count.
  std::optional<int64_t> created;
  if (x.created_at)
    created = x.created_at->count();
  actors::optional_field<int64_t> created_at{created};
  return f(
    caf::meta::type_name("site"), x.name, x.owner, x.address, x.country, x.profile, x.time_zone,
    created_at, x.rated_power_w, x.rated_energy_wh, caf::meta::load_callback([&]() -> caf::error {
      x.created_at = created ? std::optional(std::chrono::milliseconds{*created}) : std::nullopt;
      return caf::none;
    }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ems_unit& x) {
  return f(caf::meta::type_name("ems_unit"), x.id, x.cabinet_id, x.cabinet_ids, x.host, x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ems_units& x) {
  actors::optional_field<ems_unit> ems_switch{x.ems_switch};
  return f(caf::meta::type_name("ems_units"), x.primary, ems_switch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tcp_endpoint& x) {
  return f(caf::meta::type_name("tcp_endpoint"), x.host, x.port, x.unit_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cabinet& x) {
  return f(caf::meta::type_name("cabinet"), x.id, x.serial, x.modbus, x.point_table,
           x.rated_power_w, x.rated_energy_wh);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, serial_device& x) {
  return f(caf::meta::type_name("serial_device"), x.id, x.role, x.point_table, x.unit_id,
           x.rated_power_w, x.serial);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, serial_line& x) {
  actors::optional_field<tcp_endpoint> gateway{x.tcp_gateway};
  return f(caf::meta::type_name("serial_line"), x.port, x.device, x.baud, x.parity, x.data_bits,
           x.stop_bits, gateway, x.timeout_ms, x.inter_frame_gap_ms, x.devices);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, digital_input& x) {
  return f(caf::meta::type_name("digital_input"), x.channel, x.function, x.normally_closed, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, digital_output& x) {
  return f(caf::meta::type_name("digital_output"), x.channel, x.function, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, io& x) {
  actors::optional_field<tcp_endpoint> gateway{x.modbus_gateway};
  return f(caf::meta::type_name("io"), x.demand_response, x.inputs, x.outputs, x.gpio_chip,
           gateway);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, export_limit& x) {
  actors::optional_field<double> tolerance{x.trip_tolerance_w};
  return f(caf::meta::type_name("export_limit"), x.enabled, x.limit_w, x.max_protection_time_ms,
           x.trip_output, tolerance);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, demand_limit& x) {
  return f(caf::meta::type_name("demand_limit"), x.enabled, x.limit_w, x.recharge_below_w);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, soc_bounds& x) {
  return f(caf::meta::type_name("soc_bounds"), x.min_percent, x.max_percent, x.hysteresis_percent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fail_safe& x) {
  return f(caf::meta::type_name("fail_safe"), x.meter_stale_ms, x.pv_export_w, x.reach_within_ms,
           x.cabinet_stale_ms, x.device_watchdog_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, distribution& x) {
  return f(caf::meta::type_name("distribution"), x.ramp_w_per_s, x.deadband_w);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, thermal& x) {
  return f(caf::meta::type_name("thermal"), x.derate_from_c, x.derate_to_c, x.cooling_fault_factor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, policies& x) {
  return f(caf::meta::type_name("policies"), x.mode, x.tou, x.export_limit, x.demand_limit, x.soc,
           x.fail_safe, x.distribution, x.thermal);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, polling& x) {
  return f(caf::meta::type_name("polling"), x.grid_meter_ms, x.pv_meter_ms, x.inverter_ms,
           x.cabinet_ms, x.io_ms, x.control_cycle_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage& x) {
  return f(caf::meta::type_name("storage"), x.raw_retention_days, x.flush_interval_ms,
           x.energy_hourly_days, x.max_disk_mb);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uplink& x) {
  return f(caf::meta::type_name("uplink"), x.enabled, x.url, x.bearer_token_file, x.username,
           x.password_file, x.ca_file, x.interval_ms, x.max_samples_per_s,
           x.max_samples_per_request, x.backfill_hours);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, networks::ethernet& x) {
  return f(caf::meta::type_name("ethernet"), x.dhcp, x.address, x.gateway, x.dns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, struct networks::cellular& x) {
  return f(caf::meta::type_name("cellular"), x.enabled, x.apn, x.user, x.password);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, struct networks::bluetooth& x) {
  return f(caf::meta::type_name("bluetooth"), x.enabled, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, networks& x) {
  return f(caf::meta::type_name("networks"), x.net2, x.cellular, x.bluetooth, x.apply_hook);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, economics& x) {
  return f(caf::meta::type_name("economics"), x.currency, x.import_prices, x.feed_in_price_per_kwh,
           x.co2_kg_per_kwh, x.coal_kg_per_kwh, x.co2_kg_per_tree_year);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config& x) {
  return f(caf::meta::type_name("config"), x.site, x.ems, x.cabinets, x.rs485_lines, x.io,
           x.policies, x.polling, x.storage, x.networks, x.economics, x.uplink);
}

// The shared snapshot: whether there is one, and the config it holds. Read
// back, it is a new snapshot of its own.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, std::shared_ptr<const config>& x) {
  bool has = x != nullptr;
  config value = has ? *x : config{};
  return f(caf::meta::type_name("config_ptr"), has, value,
           caf::meta::load_callback([&]() -> caf::error {
             x = has ? std::make_shared<const config>(std::move(value)) : nullptr;
             return caf::none;
           }));
}

}  // namespace plantd::plant
