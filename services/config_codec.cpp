#include "services/config_codec.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "model/common/json.hpp"
#include "model/plant/validate.hpp"

namespace plantd::services {

namespace pb = google::protobuf;

namespace {

// -- JSON ----------------------------------------------------------------------

std::string friendly_type(const std::string& proto_type) {
  if (proto_type == "TYPE_UINT32" || proto_type == "TYPE_UINT64")
    return "a non-negative integer";
  if (proto_type == "TYPE_INT32" || proto_type == "TYPE_INT64")
    return "an integer";
  if (proto_type == "TYPE_DOUBLE" || proto_type == "TYPE_FLOAT")
    return "a number";
  if (proto_type == "TYPE_BOOL")
    return "true or false";
  if (proto_type == "TYPE_STRING")
    return "a string";
  if (proto_type == "TYPE_ENUM")
    return "one of the enum's names";
  if (proto_type == "TYPE_MESSAGE")
    return "an object";
  return proto_type;
}

// The protobuf JSON parser's messages carry the field path in parentheses:
//   "(cabinets[0].modbus.port): invalid value "x" for type TYPE_UINT32"
//   "(cabinets): invalid value 5 for type type.googleapis.com/plantd.v1.Cabinet"
//   "(cabinets[0]) serail: Cannot find field."
//   ": invalid value Starting an object on a scalar field for type name"
problem translate_parse_error(const std::string& text) {
  // libstdc++'s std::regex recurses once per character: a 30 KB field name
  // or value overflowed the stack (found by fuzzing). No message of a real
  // config is this long; it is shown cut, untranslated.
  if (text.size() > 1024)
    return {"", text.substr(0, 1024) + " ..."};
  static const std::regex unknown_field{R"(^\(([^)]*)\) ?([^:]+): Cannot find field\.?)"};
  static const std::regex bad_value{R"(^(?:\(([^)]*)\))?: invalid value (.*) for type (\S+)$)"};
  static const std::string object_on_scalar = "Starting an object on a scalar field";
  std::smatch m;
  if (std::regex_search(text, m, unknown_field)) {
    std::string parent = m[1];
    std::string field = m[2];
    return {parent.empty() ? field : parent + "." + field,
            fmt::format("unknown field \"{}\"", field)};
  }
  if (std::regex_search(text, m, bad_value)) {
    std::string path = m[1];
    std::string value = m[2];
    std::string type = m[3];
    if (value == object_on_scalar)  // the type slot holds the field name here
      return {path.empty() ? type : path + "." + type, "expected a value, got an object"};
    static const std::string any_prefix = "type.googleapis.com/";
    if (type.rfind(any_prefix, 0) == 0)
      return {path, fmt::format("invalid value {}: expected an object ({})", value,
                                type.substr(any_prefix.size()))};
    return {path, fmt::format("invalid value {}: expected {}", value, friendly_type(type))};
  }
  return {"", text};
}

// -- enums -------------------------------------------------------------------------

// Proto enum number -> model enum, or `fallback` for 0 (unspecified). Numbers
// above `last` are reported.
template <class E>
E enum_in(int value, int last, E fallback, const std::string& path, problems& out) {
  if (value == 0)
    return fallback;
  if (value < 0 || value > last) {
    out.push_back({path, fmt::format("unknown enum value {}", value)});
    return fallback;
  }
  return static_cast<E>(value);
}

// -- proto -> model ----------------------------------------------------------------

template <class T>
T or_default(T value, T fallback) {
  return value == T{} ? fallback : value;
}

plant::tcp_endpoint endpoint_in(const v1::TcpEndpoint& m) {
  plant::tcp_endpoint ep;
  ep.host = m.host();
  ep.port = or_default(m.port(), ep.port);
  ep.unit_id = or_default(m.unit_id(), ep.unit_id);
  return ep;
}

plant::ems_unit ems_unit_in(const v1::EmsUnit& m) {
  plant::ems_unit u;
  u.id = m.id();
  u.cabinet_id = m.cabinet_id();
  u.cabinet_ids.assign(m.cabinet_ids().begin(), m.cabinet_ids().end());
  u.host = m.host();
  u.port = m.port();
  return u;
}

void policies_in(const v1::Policies& m, plant::policies& p, problems& out) {
  p.mode = enum_in(m.mode(), 2, plant::working_mode::self_consumption, "policies.mode", out);
  for (int i = 0; i < m.tou().slots_size(); ++i) {
    const auto& s = m.tou().slots(i);
    auto path = fmt::format("policies.tou.slots[{}]", i);
    plant::tou_slot slot;
    for (int d = 0; d < s.days_size(); ++d)
      slot.days.push_back(enum_in(s.days(d), 7, plant::weekday::unspecified,
                                  fmt::format("{}.days[{}]", path, d), out));
    slot.start = s.start();
    slot.end = s.end();
    slot.action = enum_in(s.action(), 4, plant::slot_action::unspecified, path + ".action", out);
    slot.power_w = s.power_w();
    slot.soc_min_percent = s.soc_min_percent();
    slot.soc_max_percent = s.soc_max_percent();
    slot.grid_charge = s.grid_charge();
    p.tou.push_back(std::move(slot));
  }
  const auto& ex = m.export_limit();
  p.export_limit.enabled = ex.enabled();
  p.export_limit.limit_w = ex.limit_w();
  p.export_limit.max_protection_time_ms =
    or_default(ex.max_protection_time_ms(), p.export_limit.max_protection_time_ms);
  p.export_limit.trip_output = ex.trip_output();
  if (ex.has_trip_tolerance_w())
    p.export_limit.trip_tolerance_w = ex.trip_tolerance_w().value();
  const auto& th = m.thermal();
  if (th.has_derate_from_c())
    p.thermal.derate_from_c = th.derate_from_c().value();
  if (th.has_derate_to_c())
    p.thermal.derate_to_c = th.derate_to_c().value();
  if (th.has_cooling_fault_factor())
    p.thermal.cooling_fault_factor = th.cooling_fault_factor().value();
  const auto& dl = m.demand_limit();
  p.demand_limit.enabled = dl.enabled();
  p.demand_limit.limit_w = dl.limit_w();
  p.demand_limit.recharge_below_w = dl.recharge_below_w();
  const auto& soc = m.soc();
  if (soc.has_min_percent())
    p.soc.min_percent = soc.min_percent().value();
  if (soc.has_max_percent())
    p.soc.max_percent = soc.max_percent().value();
  if (soc.has_hysteresis_percent())
    p.soc.hysteresis_percent = soc.hysteresis_percent().value();
  const auto& fs = m.fail_safe();
  p.fail_safe.meter_stale_ms = or_default(fs.meter_stale_ms(), p.fail_safe.meter_stale_ms);
  p.fail_safe.pv_export_w = fs.pv_export_w();
  p.fail_safe.reach_within_ms = or_default(fs.reach_within_ms(), p.fail_safe.reach_within_ms);
  p.fail_safe.cabinet_stale_ms = or_default(fs.cabinet_stale_ms(), p.fail_safe.cabinet_stale_ms);
  p.fail_safe.device_watchdog_ms =
    or_default(fs.device_watchdog_ms(), p.fail_safe.device_watchdog_ms);
  p.distribution.ramp_w_per_s = m.distribution().ramp_w_per_s();
  p.distribution.deadband_w = m.distribution().deadband_w();
}

// -- model -> proto ----------------------------------------------------------------

void endpoint_out(const plant::tcp_endpoint& ep, v1::TcpEndpoint* m) {
  m->set_host(ep.host);
  m->set_port(ep.port);
  m->set_unit_id(ep.unit_id);
}

void ems_unit_out(const plant::ems_unit& u, v1::EmsUnit* m) {
  m->set_id(u.id);
  m->set_cabinet_id(u.cabinet_id);
  for (const auto& id : u.cabinet_ids)
    m->add_cabinet_ids(id);
  m->set_host(u.host);
  m->set_port(u.port);
}

template <class E>
int num(E value) {
  return static_cast<int>(value);
}

}  // namespace

std::optional<v1::PlantConfig> parse_config_json(std::string_view text, problems& out) {
  if (auto err = json::check_syntax(text)) {
    out.push_back({"", fmt::format("malformed JSON at line {}, column {}: {}", err->line,
                                   err->column, err->message)});
    return std::nullopt;
  }
  v1::PlantConfig msg;
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto status =
    pb::util::JsonStringToMessage(pb::StringPiece{text.data(), text.size()}, &msg, opts);
  if (!status.ok()) {
    out.push_back(translate_parse_error(std::string{status.message()}));
    return std::nullopt;
  }
  return msg;
}

std::string to_json(const v1::PlantConfig& msg) {
  pb::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  std::string text;
  auto status = pb::util::MessageToJsonString(msg, &text, opts);
  if (!status.ok())
    return fmt::format("{{\"error\": \"{}\"}}", std::string{status.message()});
  return text;
}

plant::config to_model(const v1::PlantConfig& m, problems& out) {
  plant::config c;
  const auto& s = m.site();
  c.site.name = s.name();
  c.site.owner = s.owner();
  c.site.address = s.address();
  c.site.country = s.country();
  c.site.profile =
    enum_in(s.grid_profile(), 7, plant::grid_profile::unspecified, "site.grid_profile", out);
  c.site.time_zone = s.time_zone();
  if (s.has_created_at())
    c.site.created_at =
      std::chrono::milliseconds{pb::util::TimeUtil::TimestampToMilliseconds(s.created_at())};
  c.site.rated_power_w = s.rated_power_w();
  c.site.rated_energy_wh = s.rated_energy_wh();

  c.ems.primary = ems_unit_in(m.ems().primary());
  if (m.ems().has_ems_switch())
    c.ems.ems_switch = ems_unit_in(m.ems().ems_switch());

  for (const auto& cm : m.cabinets()) {
    plant::cabinet cab;
    cab.id = cm.id();
    cab.serial = cm.serial();
    cab.modbus = endpoint_in(cm.modbus());
    cab.point_table = or_default(cm.point_table(), cab.point_table);
    cab.rated_power_w = cm.rated_power_w();
    cab.rated_energy_wh = cm.rated_energy_wh();
    c.cabinets.push_back(std::move(cab));
  }

  for (int i = 0; i < m.rs485_lines_size(); ++i) {
    const auto& lm = m.rs485_lines(i);
    auto path = fmt::format("rs485_lines[{}]", i);
    plant::serial_line line;
    line.port = enum_in(lm.port(), 3, plant::serial_port::unspecified, path + ".port", out);
    line.device = lm.device();
    line.baud = or_default(lm.baud(), line.baud);
    line.parity = enum_in(lm.parity(), 3, plant::parity::none, path + ".parity", out);
    line.data_bits = or_default(lm.data_bits(), line.data_bits);
    line.stop_bits = or_default(lm.stop_bits(), line.stop_bits);
    if (lm.has_tcp_gateway())
      line.tcp_gateway = endpoint_in(lm.tcp_gateway());
    line.timeout_ms = or_default(lm.timeout_ms(), line.timeout_ms);
    line.inter_frame_gap_ms = or_default(lm.inter_frame_gap_ms(), line.inter_frame_gap_ms);
    for (int j = 0; j < lm.devices_size(); ++j) {
      const auto& dm = lm.devices(j);
      plant::serial_device dev;
      dev.id = dm.id();
      dev.role = enum_in(dm.role(), 4, plant::device_role::unspecified,
                         fmt::format("{}.devices[{}].role", path, j), out);
      dev.point_table = dm.point_table();
      dev.unit_id = dm.unit_id();
      dev.serial = dm.serial();
      dev.rated_power_w = dm.rated_power_w();
      line.devices.push_back(std::move(dev));
    }
    c.rs485_lines.push_back(std::move(line));
  }

  const auto& io = m.io();
  c.io.demand_response =
    enum_in(io.demand_response(), 3, plant::demand_response_kind::none, "io.demand_response", out);
  for (int i = 0; i < io.inputs_size(); ++i) {
    const auto& x = io.inputs(i);
    c.io.inputs.push_back({x.channel(),
                           enum_in(x.function(), 5, plant::input_function::none,
                                   fmt::format("io.inputs[{}].function", i), out),
                           x.normally_closed(), x.name()});
  }
  for (int i = 0; i < io.outputs_size(); ++i) {
    const auto& x = io.outputs(i);
    c.io.outputs.push_back({x.channel(),
                            enum_in(x.function(), 4, plant::output_function::none,
                                    fmt::format("io.outputs[{}].function", i), out),
                            x.name()});
  }
  c.io.gpio_chip = io.gpio_chip();
  if (io.has_modbus_gateway())
    c.io.modbus_gateway = endpoint_in(io.modbus_gateway());

  policies_in(m.policies(), c.policies, out);

  const auto& p = m.polling();
  c.polling.grid_meter_ms = or_default(p.grid_meter_ms(), c.polling.grid_meter_ms);
  c.polling.pv_meter_ms = or_default(p.pv_meter_ms(), c.polling.pv_meter_ms);
  c.polling.inverter_ms = or_default(p.inverter_ms(), c.polling.inverter_ms);
  c.polling.cabinet_ms = or_default(p.cabinet_ms(), c.polling.cabinet_ms);
  c.polling.io_ms = or_default(p.io_ms(), c.polling.io_ms);
  c.polling.control_cycle_ms = or_default(p.control_cycle_ms(), c.polling.control_cycle_ms);

  c.storage.raw_retention_days =
    or_default(m.storage().raw_retention_days(), c.storage.raw_retention_days);
  c.storage.flush_interval_ms =
    or_default(m.storage().flush_interval_ms(), c.storage.flush_interval_ms);
  c.storage.energy_hourly_days =
    or_default(m.storage().energy_hourly_days(), c.storage.energy_hourly_days);
  c.storage.max_disk_mb = or_default(m.storage().max_disk_mb(), c.storage.max_disk_mb);

  const auto& u = m.uplink();
  c.uplink.enabled = u.enabled();
  c.uplink.url = u.url();
  c.uplink.bearer_token_file = u.bearer_token_file();
  c.uplink.username = u.username();
  c.uplink.password_file = u.password_file();
  c.uplink.ca_file = u.ca_file();
  c.uplink.interval_ms = or_default(u.interval_ms(), c.uplink.interval_ms);
  c.uplink.max_samples_per_s = or_default(u.max_samples_per_s(), c.uplink.max_samples_per_s);
  c.uplink.max_samples_per_request =
    or_default(u.max_samples_per_request(), c.uplink.max_samples_per_request);
  c.uplink.backfill_hours = or_default(u.backfill_hours(), c.uplink.backfill_hours);

  const auto& n = m.networks();
  c.networks.net2.dhcp = n.net2().dhcp();
  c.networks.net2.address = n.net2().address();
  c.networks.net2.gateway = n.net2().gateway();
  c.networks.net2.dns.assign(n.net2().dns().begin(), n.net2().dns().end());
  c.networks.cellular.enabled = n.cellular().enabled();
  c.networks.cellular.apn = n.cellular().apn();
  c.networks.cellular.user = n.cellular().user();
  c.networks.cellular.password = n.cellular().password();
  c.networks.bluetooth.enabled = n.bluetooth().enabled();
  c.networks.bluetooth.name = n.bluetooth().name();
  c.networks.apply_hook = n.apply_hook();

  const auto& e = m.economics();
  c.economics.currency = e.currency();
  for (int i = 0; i < e.import_prices_size(); ++i) {
    const auto& ps = e.import_prices(i);
    plant::price_slot slot;
    for (int d = 0; d < ps.days_size(); ++d)
      slot.days.push_back(enum_in(ps.days(d), 7, plant::weekday::unspecified,
                                  fmt::format("economics.import_prices[{}].days[{}]", i, d), out));
    slot.start = ps.start();
    slot.end = ps.end();
    slot.price_per_kwh = ps.price_per_kwh();
    c.economics.import_prices.push_back(std::move(slot));
  }
  c.economics.feed_in_price_per_kwh = e.feed_in_price_per_kwh();
  c.economics.co2_kg_per_kwh = or_default(e.co2_kg_per_kwh(), c.economics.co2_kg_per_kwh);
  c.economics.coal_kg_per_kwh = or_default(e.coal_kg_per_kwh(), c.economics.coal_kg_per_kwh);
  c.economics.co2_kg_per_tree_year =
    or_default(e.co2_kg_per_tree_year(), c.economics.co2_kg_per_tree_year);
  return c;
}

v1::PlantConfig to_proto(const plant::config& c) {
  v1::PlantConfig m;
  auto* s = m.mutable_site();
  s->set_name(c.site.name);
  s->set_owner(c.site.owner);
  s->set_address(c.site.address);
  s->set_country(c.site.country);
  s->set_grid_profile(static_cast<v1::GridProfile>(num(c.site.profile)));
  s->set_time_zone(c.site.time_zone);
  if (c.site.created_at)
    *s->mutable_created_at() =
      pb::util::TimeUtil::MillisecondsToTimestamp(c.site.created_at->count());
  s->set_rated_power_w(c.site.rated_power_w);
  s->set_rated_energy_wh(c.site.rated_energy_wh);

  ems_unit_out(c.ems.primary, m.mutable_ems()->mutable_primary());
  if (c.ems.ems_switch)
    ems_unit_out(*c.ems.ems_switch, m.mutable_ems()->mutable_ems_switch());

  for (const auto& cab : c.cabinets) {
    auto* cm = m.add_cabinets();
    cm->set_id(cab.id);
    cm->set_serial(cab.serial);
    endpoint_out(cab.modbus, cm->mutable_modbus());
    cm->set_point_table(cab.point_table);
    cm->set_rated_power_w(cab.rated_power_w);
    cm->set_rated_energy_wh(cab.rated_energy_wh);
  }

  for (const auto& line : c.rs485_lines) {
    auto* lm = m.add_rs485_lines();
    lm->set_port(static_cast<v1::SerialPort>(num(line.port)));
    lm->set_device(line.device);
    lm->set_baud(line.baud);
    lm->set_parity(static_cast<v1::Parity>(num(line.parity)));
    lm->set_data_bits(line.data_bits);
    lm->set_stop_bits(line.stop_bits);
    if (line.tcp_gateway)
      endpoint_out(*line.tcp_gateway, lm->mutable_tcp_gateway());
    lm->set_timeout_ms(line.timeout_ms);
    lm->set_inter_frame_gap_ms(line.inter_frame_gap_ms);
    for (const auto& dev : line.devices) {
      auto* dm = lm->add_devices();
      dm->set_id(dev.id);
      dm->set_role(static_cast<v1::DeviceRole>(num(dev.role)));
      dm->set_point_table(dev.point_table);
      dm->set_unit_id(dev.unit_id);
      dm->set_serial(dev.serial);
      dm->set_rated_power_w(dev.rated_power_w);
    }
  }

  auto* io = m.mutable_io();
  io->set_demand_response(static_cast<v1::DemandResponseKind>(num(c.io.demand_response)));
  for (const auto& in : c.io.inputs) {
    auto* x = io->add_inputs();
    x->set_channel(in.channel);
    x->set_function(static_cast<v1::InputFunction>(num(in.function)));
    x->set_normally_closed(in.normally_closed);
    x->set_name(in.name);
  }
  for (const auto& out : c.io.outputs) {
    auto* x = io->add_outputs();
    x->set_channel(out.channel);
    x->set_function(static_cast<v1::OutputFunction>(num(out.function)));
    x->set_name(out.name);
  }
  io->set_gpio_chip(c.io.gpio_chip);
  if (c.io.modbus_gateway)
    endpoint_out(*c.io.modbus_gateway, io->mutable_modbus_gateway());

  const auto& p = c.policies;
  auto* pm = m.mutable_policies();
  pm->set_mode(static_cast<v1::WorkingMode>(num(p.mode)));
  auto* tou = pm->mutable_tou();
  for (const auto& slot : p.tou) {
    auto* sm = tou->add_slots();
    for (auto d : slot.days)
      sm->add_days(static_cast<v1::Weekday>(num(d)));
    sm->set_start(slot.start);
    sm->set_end(slot.end);
    sm->set_action(static_cast<v1::SlotAction>(num(slot.action)));
    sm->set_power_w(slot.power_w);
    sm->set_soc_min_percent(slot.soc_min_percent);
    sm->set_soc_max_percent(slot.soc_max_percent);
    sm->set_grid_charge(slot.grid_charge);
  }
  auto* ex = pm->mutable_export_limit();
  ex->set_enabled(p.export_limit.enabled);
  ex->set_limit_w(p.export_limit.limit_w);
  ex->set_max_protection_time_ms(p.export_limit.max_protection_time_ms);
  ex->set_trip_output(p.export_limit.trip_output);
  if (p.export_limit.trip_tolerance_w)
    ex->mutable_trip_tolerance_w()->set_value(*p.export_limit.trip_tolerance_w);
  auto* th = pm->mutable_thermal();
  th->mutable_derate_from_c()->set_value(p.thermal.derate_from_c);
  th->mutable_derate_to_c()->set_value(p.thermal.derate_to_c);
  th->mutable_cooling_fault_factor()->set_value(p.thermal.cooling_fault_factor);
  auto* dl = pm->mutable_demand_limit();
  dl->set_enabled(p.demand_limit.enabled);
  dl->set_limit_w(p.demand_limit.limit_w);
  dl->set_recharge_below_w(p.demand_limit.recharge_below_w);
  auto* soc = pm->mutable_soc();
  soc->mutable_min_percent()->set_value(p.soc.min_percent);
  soc->mutable_max_percent()->set_value(p.soc.max_percent);
  soc->mutable_hysteresis_percent()->set_value(p.soc.hysteresis_percent);
  auto* fs = pm->mutable_fail_safe();
  fs->set_meter_stale_ms(p.fail_safe.meter_stale_ms);
  fs->set_pv_export_w(p.fail_safe.pv_export_w);
  fs->set_reach_within_ms(p.fail_safe.reach_within_ms);
  fs->set_device_watchdog_ms(p.fail_safe.device_watchdog_ms);
  fs->set_cabinet_stale_ms(p.fail_safe.cabinet_stale_ms);
  pm->mutable_distribution()->set_ramp_w_per_s(p.distribution.ramp_w_per_s);
  pm->mutable_distribution()->set_deadband_w(p.distribution.deadband_w);

  auto* pl = m.mutable_polling();
  pl->set_grid_meter_ms(c.polling.grid_meter_ms);
  pl->set_pv_meter_ms(c.polling.pv_meter_ms);
  pl->set_inverter_ms(c.polling.inverter_ms);
  pl->set_cabinet_ms(c.polling.cabinet_ms);
  pl->set_io_ms(c.polling.io_ms);
  pl->set_control_cycle_ms(c.polling.control_cycle_ms);

  m.mutable_storage()->set_raw_retention_days(c.storage.raw_retention_days);
  m.mutable_storage()->set_flush_interval_ms(c.storage.flush_interval_ms);
  m.mutable_storage()->set_energy_hourly_days(c.storage.energy_hourly_days);
  m.mutable_storage()->set_max_disk_mb(c.storage.max_disk_mb);

  auto* u = m.mutable_uplink();
  u->set_enabled(c.uplink.enabled);
  u->set_url(c.uplink.url);
  u->set_bearer_token_file(c.uplink.bearer_token_file);
  u->set_username(c.uplink.username);
  u->set_password_file(c.uplink.password_file);
  u->set_ca_file(c.uplink.ca_file);
  u->set_interval_ms(c.uplink.interval_ms);
  u->set_max_samples_per_s(c.uplink.max_samples_per_s);
  u->set_max_samples_per_request(c.uplink.max_samples_per_request);
  u->set_backfill_hours(c.uplink.backfill_hours);

  auto* n = m.mutable_networks();
  n->mutable_net2()->set_dhcp(c.networks.net2.dhcp);
  n->mutable_net2()->set_address(c.networks.net2.address);
  n->mutable_net2()->set_gateway(c.networks.net2.gateway);
  for (const auto& dns : c.networks.net2.dns)
    n->mutable_net2()->add_dns(dns);
  n->mutable_cellular()->set_enabled(c.networks.cellular.enabled);
  n->mutable_cellular()->set_apn(c.networks.cellular.apn);
  n->mutable_cellular()->set_user(c.networks.cellular.user);
  n->mutable_cellular()->set_password(c.networks.cellular.password);
  n->mutable_bluetooth()->set_enabled(c.networks.bluetooth.enabled);
  n->mutable_bluetooth()->set_name(c.networks.bluetooth.name);
  n->set_apply_hook(c.networks.apply_hook);

  auto* e = m.mutable_economics();
  e->set_currency(c.economics.currency);
  for (const auto& slot : c.economics.import_prices) {
    auto* ps = e->add_import_prices();
    for (auto d : slot.days)
      ps->add_days(static_cast<v1::Weekday>(num(d)));
    ps->set_start(slot.start);
    ps->set_end(slot.end);
    ps->set_price_per_kwh(slot.price_per_kwh);
  }
  e->set_feed_in_price_per_kwh(c.economics.feed_in_price_per_kwh);
  e->set_co2_kg_per_kwh(c.economics.co2_kg_per_kwh);
  e->set_coal_kg_per_kwh(c.economics.coal_kg_per_kwh);
  e->set_co2_kg_per_tree_year(c.economics.co2_kg_per_tree_year);
  return m;
}

loaded_config check_config(const v1::PlantConfig& msg) {
  loaded_config result;
  if (auto size = msg.ByteSizeLong(); size > max_config_bytes) {
    result.problems.push_back({"", fmt::format("the config is {} bytes; a plant config is at most "
                                               "{} bytes (20 cabinets take about 15 KB)",
                                               size, max_config_bytes)});
    return result;
  }
  result.message = msg;
  result.model = to_model(msg, result.problems);
  auto found = plant::validate(result.model);
  result.problems.insert(result.problems.end(), found.begin(), found.end());
  return result;
}

loaded_config load_config_text(std::string_view text) {
  if (text.size() > max_config_bytes) {
    loaded_config result;
    result.problems.push_back({"", fmt::format("the config is {} bytes; a plant config is at most "
                                               "{} bytes (20 cabinets take about 15 KB)",
                                               text.size(), max_config_bytes)});
    return result;
  }
  problems parse_problems;
  auto msg = parse_config_json(text, parse_problems);
  if (!msg) {
    loaded_config result;
    result.problems = std::move(parse_problems);
    return result;
  }
  return check_config(*msg);
}

loaded_config load_config_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    loaded_config result;
    result.problems.push_back({"", fmt::format("cannot read {}", path.string())});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str());
}

void redact_secrets(v1::PlantConfig& msg) {
  if (!msg.has_networks() || !msg.networks().has_cellular())
    return;
  auto* cell = msg.mutable_networks()->mutable_cellular();
  cell->set_password_set(!cell->password().empty());
  cell->clear_password();
}

}  // namespace plantd::services
