#include "model/plant/validate.hpp"

#include "model/plant/grid_profiles.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <absl/time/time.h>
#include <fmt/format.h>

#include "model/plant/tou.hpp"

namespace plantd::plant {

const char* to_string(serial_port port) noexcept {
  switch (port) {
    case serial_port::rs485_1: return "RS485-1";
    case serial_port::rs485_2: return "RS485-2";
    case serial_port::rs485_3: return "RS485-3";
    default: return "unspecified port";
  }
}

const char* to_string(device_role role) noexcept {
  switch (role) {
    case device_role::grid_meter: return "grid meter";
    case device_role::pv_meter: return "PV meter";
    case device_role::pv_inverter: return "PV inverter";
    case device_role::sub_meter: return "sub-meter";
    default: return "unspecified role";
  }
}

const char* to_string(weekday day) noexcept {
  static constexpr std::array<const char*, 8> names{"unspecified day", "Monday",   "Tuesday",
                                                    "Wednesday",       "Thursday", "Friday",
                                                    "Saturday",        "Sunday"};
  auto i = static_cast<std::size_t>(day);
  return i < names.size() ? names[i] : names[0];
}

namespace {

// Collects problems; each check names its field path.
class checker {
public:
  // Problems beyond this many are counted, not listed: a config of
  // thousands of bad entries is answered in bounded time and memory.
  static constexpr std::size_t max_listed = 200;

  template <class... Ts>
  void fail(std::string path, fmt::format_string<Ts...> text, Ts&&... xs) {
    if (out_.size() >= max_listed) {
      ++unlisted_;
      return;
    }
    out_.push_back({std::move(path), fmt::format(text, std::forward<Ts>(xs)...)});
  }

  void required(const std::string& path, const std::string& value) {
    if (value.empty())
      fail(path, "is required");
  }

  void non_negative(const std::string& path, double value) {
    if (!std::isfinite(value) || value < 0)
      fail(path, "must be a finite number >= 0, got {}", value);
  }

  void positive(const std::string& path, double value) {
    if (!std::isfinite(value) || value <= 0)
      fail(path, "must be a finite number > 0, got {}", value);
  }

  // A power no C&I site reaches: a value above it is a typo or an attack
  // (1e300, 2^64), never a setting.
  static constexpr double max_site_power_w = 100e6;

  // A finite power >= 0 (or > 0) and at most `bound` W, `what` naming it.
  void power(const std::string& path, double value, bool positive_only = false,
             double bound = max_site_power_w, const char* what = "100 MW") {
    if (positive_only)
      positive(path, value);
    else
      non_negative(path, value);
    if (std::isfinite(value) && value > bound)
      fail(path, "must be at most {} ({} W), got {}", what, bound, value);
  }

  void range(const std::string& path, uint64_t value, uint64_t lo, uint64_t hi) {
    if (value < lo || value > hi)
      fail(path, "must be {}..{}, got {}", lo, hi, value);
  }

  void endpoint(const std::string& path, const tcp_endpoint& ep) {
    required(path + ".host", ep.host);
    range(path + ".port", ep.port, 1, 65535);
    range(path + ".unit_id", ep.unit_id, 1, max_unit_id);
  }

  problems take() {
    if (unlisted_ > 0)
      out_.push_back(
        {"", fmt::format("and {} more problem{}", unlisted_, unlisted_ == 1 ? "" : "s")});
    return std::move(out_);
  }

private:
  problems out_;
  std::size_t unlisted_ = 0;
};

std::string at(std::string_view base, std::size_t i) {
  return fmt::format("{}[{}]", base, i);
}

void check_site(checker& ck, const site& s) {
  ck.required("site.name", s.name);
  if (s.time_zone.empty()) {
    ck.fail("site.time_zone", "is required (an IANA name such as \"Europe/Berlin\")");
  } else {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(s.time_zone, &tz))
      ck.fail("site.time_zone", "unknown IANA time zone \"{}\"", s.time_zone);
  }
  if (!s.country.empty()
      && (s.country.size() != 2 || !std::all_of(s.country.begin(), s.country.end(), [](char c) {
            return c >= 'A' && c <= 'Z';
          })))
    ck.fail("site.country", "must be an ISO 3166-1 alpha-2 code such as \"AU\", got \"{}\"",
            s.country);
  ck.power("site.rated_power_w", s.rated_power_w);
  ck.non_negative("site.rated_energy_wh", s.rated_energy_wh);
}

// Ids must be unique across cabinets and serial devices: alarms, telemetry
// and setpoints name a device by its id alone.
using id_registry = std::map<std::string, std::string>;  // id -> first path

void check_unique_id(checker& ck, id_registry& ids, const std::string& path,
                     const std::string& id) {
  if (id.empty())
    return;
  // Names plantd gives its own parts (device actors, alarm sources).
  if (id == "io" || id == "plant" || id.starts_with("RS485-")) {
    ck.fail(path + ".id", "\"{}\" is reserved for plantd's own parts (io, plant, RS485-n)", id);
    return;
  }
  auto [it, added] = ids.emplace(id, path);
  if (!added)
    ck.fail(path + ".id", "duplicate id \"{}\", already used by {}", id, it->second);
}

// A device's serial number, as printed on its nameplate and read from its
// registers by commissioning: printable ASCII, one device each.
void check_serial(checker& ck, id_registry& serials, const std::string& path,
                  const std::string& serial) {
  if (serial.empty())
    return;
  bool printable =
    std::all_of(serial.begin(), serial.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  if (!printable || serial.size() > 64 || serial.front() == ' ' || serial.back() == ' ') {
    ck.fail(path + ".serial",
            "\"{}\": a serial number is 1 to 64 printable ASCII characters, without "
            "spaces at either end",
            serial);
    return;
  }
  auto [it, added] = serials.emplace(serial, path);
  if (!added)
    ck.fail(path + ".serial", "duplicate serial \"{}\", already used by {}", serial, it->second);
}

void check_cabinets(checker& ck, const config& cfg, id_registry& ids, id_registry& serials) {
  const auto& cabs = cfg.cabinets;
  if (cabs.empty())
    ck.fail("cabinets", "a plant needs at least 1 cabinet");
  else if (cabs.size() > max_cabinets)
    ck.fail("cabinets", "{} cabinets given; a plant has 1 to {}", cabs.size(), max_cabinets);
  std::map<std::tuple<std::string, uint32_t, uint32_t>, std::size_t> addresses;
  for (std::size_t i = 0; i < cabs.size(); ++i) {
    const auto& cab = cabs[i];
    auto path = at("cabinets", i);
    ck.required(path + ".id", cab.id);
    check_unique_id(ck, ids, path, cab.id);
    check_serial(ck, serials, path, cab.serial);
    ck.endpoint(path + ".modbus", cab.modbus);
    auto key = std::make_tuple(cab.modbus.host, cab.modbus.port, cab.modbus.unit_id);
    if (!cab.modbus.host.empty()) {
      auto [it, added] = addresses.emplace(key, i);
      if (!added)
        ck.fail(path + ".modbus", "address {}:{} unit {} is already used by cabinets[{}]",
                cab.modbus.host, cab.modbus.port, cab.modbus.unit_id, it->second);
    }
    ck.required(path + ".point_table", cab.point_table);
    ck.power(path + ".rated_power_w", cab.rated_power_w, true);
    ck.positive(path + ".rated_energy_wh", cab.rated_energy_wh);
  }
}

void check_ems(checker& ck, const config& cfg) {
  const auto& ems = cfg.ems;
  const auto& cabs = cfg.cabinets;
  std::set<std::string> known;
  for (const auto& cab : cabs)
    known.insert(cab.id);
  ck.required("ems.primary.id", ems.primary.id);
  if (cabs.size() >= ems_switch_required_from && !ems.ems_switch)
    ck.fail("ems.ems_switch", "{} cabinets need an EMS-Switch unit (required from {} cabinets on)",
            cabs.size(), ems_switch_required_from);
  // Which unit each cabinet is wired to.
  std::map<std::string, std::vector<std::string>> wired;  // cabinet -> unit paths
  auto check_unit = [&](const ems_unit& unit, const std::string& path, std::size_t uplinks) {
    if (!unit.cabinet_id.empty() && known.count(unit.cabinet_id) == 0)
      ck.fail(path + ".cabinet_id", "unknown cabinet \"{}\"", unit.cabinet_id);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < unit.cabinet_ids.size(); ++i) {
      const auto& id = unit.cabinet_ids[i];
      auto item = at(path + ".cabinet_ids", i);
      if (known.count(id) == 0)
        ck.fail(item, "unknown cabinet \"{}\"", id);
      else if (!seen.insert(id).second)
        ck.fail(item, "cabinet \"{}\" is listed twice", id);
      else
        wired[id].push_back(path);
    }
    auto ports = unit.cabinet_ids.size() + uplinks;
    if (ports > ems_switch_ports)
      ck.fail(path + ".cabinet_ids", "{} switch ports needed ({} cabinets{}); the unit has {}",
              ports, unit.cabinet_ids.size(), uplinks > 0 ? " + the EMS-Switch uplink" : "",
              ems_switch_ports);
  };
  check_unit(ems.primary, "ems.primary", ems.ems_switch ? 1 : 0);
  if (ems.ems_switch) {
    const auto& sw = *ems.ems_switch;
    ck.required("ems.ems_switch.id", sw.id);
    if (!sw.id.empty() && sw.id == ems.primary.id)
      ck.fail("ems.ems_switch.id", "must differ from ems.primary.id \"{}\"", sw.id);
    check_unit(sw, "ems.ems_switch", 1);
    // The EMS-Switch unit's plantd joins the primary's at host:port.
    ck.required("ems.primary.host", ems.primary.host);
    ck.range("ems.primary.port", ems.primary.port, 1, 65535);
  }
  for (std::size_t i = 0; i < cabs.size(); ++i) {
    if (cabs[i].id.empty())
      continue;
    auto it = wired.find(cabs[i].id);
    if (it == wired.end())
      ck.fail(at("cabinets", i),
              "cabinet \"{}\" is wired to no EMS unit: list it in "
              "ems.primary.cabinet_ids or ems.ems_switch.cabinet_ids",
              cabs[i].id);
    else if (it->second.size() > 1)
      ck.fail(at("cabinets", i),
              "cabinet \"{}\" is wired to both EMS units; a cabinet has one "
              "Ethernet link",
              cabs[i].id);
  }
}

serial_port home_port(device_role role) {
  switch (role) {
    case device_role::grid_meter: return serial_port::rs485_1;
    case device_role::pv_meter: return serial_port::rs485_2;
    case device_role::pv_inverter: return serial_port::rs485_3;
    default: return serial_port::unspecified;
  }
}

void check_lines(checker& ck, const config& cfg, id_registry& ids, id_registry& serials) {
  static constexpr std::array<uint32_t, 8> bauds{1200,  2400,  4800,  9600,
                                                 19200, 38400, 57600, 115200};
  std::map<serial_port, std::size_t> ports;
  std::vector<std::string> grid_meters;
  std::vector<std::string> pv_meters;
  for (std::size_t i = 0; i < cfg.rs485_lines.size(); ++i) {
    const auto& line = cfg.rs485_lines[i];
    auto path = at("rs485_lines", i);
    if (line.port == serial_port::unspecified) {
      ck.fail(path + ".port", "is required (SERIAL_PORT_RS485_1, _2 or _3)");
    } else {
      auto [it, added] = ports.emplace(line.port, i);
      if (!added)
        ck.fail(path + ".port", "{} is already configured by rs485_lines[{}]", to_string(line.port),
                it->second);
    }
    if (line.device.empty() && !line.tcp_gateway)
      ck.fail(path, "give the serial device (e.g. \"/dev/ttyS1\") or a tcp_gateway");
    if (!line.device.empty() && line.tcp_gateway)
      ck.fail(path, "give either the serial device or a tcp_gateway, not both");
    if (line.tcp_gateway) {
      ck.required(path + ".tcp_gateway.host", line.tcp_gateway->host);
      ck.range(path + ".tcp_gateway.port", line.tcp_gateway->port, 1, 65535);
    }
    if (std::find(bauds.begin(), bauds.end(), line.baud) == bauds.end())
      ck.fail(path + ".baud", "{} is not a standard baud rate (1200 .. 115200)", line.baud);
    if (line.data_bits != 7 && line.data_bits != 8)
      ck.fail(path + ".data_bits", "must be 7 or 8, got {}", line.data_bits);
    if (line.stop_bits != 1 && line.stop_bits != 2)
      ck.fail(path + ".stop_bits", "must be 1 or 2, got {}", line.stop_bits);
    ck.range(path + ".timeout_ms", line.timeout_ms, 1, 60000);
    ck.range(path + ".inter_frame_gap_ms", line.inter_frame_gap_ms, 0, 1000);
    std::map<uint32_t, std::size_t> unit_ids;
    for (std::size_t j = 0; j < line.devices.size(); ++j) {
      const auto& dev = line.devices[j];
      auto dpath = at(path + ".devices", j);
      ck.required(dpath + ".id", dev.id);
      check_unique_id(ck, ids, dpath, dev.id);
      check_serial(ck, serials, dpath, dev.serial);
      ck.required(dpath + ".point_table", dev.point_table);
      if (dev.role == device_role::unspecified) {
        ck.fail(dpath + ".role", "is required (grid meter, PV meter, PV inverter or sub-meter)");
      } else if (line.port != serial_port::unspecified
                 && home_port(dev.role) != serial_port::unspecified
                 && home_port(dev.role) != line.port) {
        ck.fail(dpath + ".role", "a {} belongs on {}, not on {}", to_string(dev.role),
                to_string(home_port(dev.role)), to_string(line.port));
      }
      if (dev.role == device_role::grid_meter)
        grid_meters.push_back(dpath);
      if (dev.role == device_role::pv_meter)
        pv_meters.push_back(dpath);
      if (dev.role == device_role::pv_inverter)
        ck.power(dpath + ".rated_power_w", dev.rated_power_w, true);
      else
        ck.power(dpath + ".rated_power_w", dev.rated_power_w);
      if (dev.unit_id < 1 || dev.unit_id > max_unit_id) {
        ck.range(dpath + ".unit_id", dev.unit_id, 1, max_unit_id);
      } else {
        auto [it, added] = unit_ids.emplace(dev.unit_id, j);
        if (!added)
          ck.fail(dpath + ".unit_id", "unit id {} is already used on this line by {}.devices[{}]",
                  dev.unit_id, path, it->second);
      }
    }
  }
  if (grid_meters.empty())
    ck.fail("rs485_lines", "a grid meter is required on RS485-1: export limit and self-consumption "
                           "control read it");
  for (std::size_t k = 1; k < grid_meters.size(); ++k)
    ck.fail(grid_meters[k] + ".role", "a second grid meter; the plant has one, at {}",
            grid_meters[0]);
  for (std::size_t k = 1; k < pv_meters.size(); ++k)
    ck.fail(pv_meters[k] + ".role", "a second PV meter; the plant has one, at {}", pv_meters[0]);
}

void check_io(checker& ck, const io& x) {
  std::map<uint32_t, std::size_t> seen;
  bool needs_source = x.demand_response != demand_response_kind::none;
  for (std::size_t i = 0; i < x.inputs.size(); ++i) {
    auto path = at("io.inputs", i);
    const auto& in = x.inputs[i];
    ck.range(path + ".channel", in.channel, 1, digital_channels);
    if (auto [it, added] = seen.emplace(in.channel, i); !added)
      ck.fail(path + ".channel", "DI{} is already configured by io.inputs[{}]", in.channel,
              it->second);
    needs_source = needs_source || in.function != input_function::none;
  }
  seen.clear();
  for (std::size_t i = 0; i < x.outputs.size(); ++i) {
    auto path = at("io.outputs", i);
    const auto& out = x.outputs[i];
    ck.range(path + ".channel", out.channel, 1, digital_channels);
    if (auto [it, added] = seen.emplace(out.channel, i); !added)
      ck.fail(path + ".channel", "DO{} is already configured by io.outputs[{}]", out.channel,
              it->second);
    needs_source = needs_source || out.function != output_function::none;
  }
  if (!x.gpio_chip.empty() && x.modbus_gateway)
    ck.fail("io", "give either gpio_chip or modbus_gateway, not both");
  if (needs_source && x.gpio_chip.empty() && !x.modbus_gateway)
    ck.fail("io", "the DRED/RCR port and dry contacts in use need a source: gpio_chip "
                  "(e.g. \"/dev/gpiochip0\") or modbus_gateway");
  if (x.modbus_gateway)
    ck.endpoint("io.modbus_gateway", *x.modbus_gateway);
}

void check_soc_window(checker& ck, const std::string& path, double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo < 0 || hi > 100 || lo >= hi)
    ck.fail(path, "SOC bounds must satisfy 0 <= min < max <= 100, got {} .. {}", lo, hi);
}

// One slot of a weekly template: days (empty = all), "HH:MM" times.
struct week_slot {
  const std::vector<weekday>* days;
  const std::string* start;
  const std::string* end;
};

// Checks slot times and that the slots cover every day of the week exactly
// once; `base` is the path of the slot list.
void check_week(checker& ck, const std::string& base, const std::vector<week_slot>& slots) {
  struct span {
    int start;
    int end;
    std::size_t slot;
  };
  std::array<std::vector<span>, 8> by_day;  // index = weekday, 1..7 used
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const auto& s = slots[i];
    auto path = at(base, i);
    auto start = parse_hhmm(*s.start);
    auto end = parse_hhmm(*s.end);
    if (!start || *start == minutes_per_day)
      ck.fail(path + ".start", "must be a time \"HH:MM\" from 00:00 to 23:59, got \"{}\"",
              *s.start);
    if (!end || *end == 0)
      ck.fail(path + ".end", "must be a time \"HH:MM\" from 00:01 to 24:00, got \"{}\"", *s.end);
    bool times_ok = start && end && *start<minutes_per_day&& * end> 0;
    if (times_ok && *start >= *end) {
      ck.fail(path + ".end",
              "must be later than start ({} .. {}); split a slot that crosses "
              "midnight in two",
              *s.start, *s.end);
      times_ok = false;
    }
    std::set<weekday> days;
    for (std::size_t d = 0; d < s.days->size(); ++d) {
      auto day = (*s.days)[d];
      if (day == weekday::unspecified)
        ck.fail(at(path + ".days", d), "must name a weekday");
      else if (!days.insert(day).second)
        ck.fail(at(path + ".days", d), "{} is listed twice", to_string(day));
    }
    if (!times_ok)
      continue;
    if (s.days->empty())
      for (int d = 1; d <= 7; ++d)
        days.insert(static_cast<weekday>(d));
    for (auto d : days)
      by_day[static_cast<std::size_t>(d)].push_back({*start, *end, i});
  }
  if (slots.empty())
    return;
  auto hhmm = [](int m) { return fmt::format("{:02}:{:02}", m / 60, m % 60); };
  for (int d = 1; d <= 7; ++d) {
    auto& spans = by_day[static_cast<std::size_t>(d)];
    std::sort(spans.begin(), spans.end(),
              [](const span& a, const span& b) { return a.start < b.start; });
    auto day = to_string(static_cast<weekday>(d));
    int covered = 0;  // end of the coverage so far
    const span* last = nullptr;
    for (const auto& sp : spans) {
      if (sp.start < covered && last != nullptr)
        ck.fail(at(base, sp.slot), "overlaps slots[{}] on {} {}-{}", last->slot, day,
                hhmm(sp.start), hhmm(std::min(covered, sp.end)));
      else if (sp.start > covered)
        ck.fail(base, "{} {}-{} is not covered by any slot", day, hhmm(covered), hhmm(sp.start));
      if (sp.end > covered) {
        covered = sp.end;
        last = &sp;
      }
    }
    if (covered < minutes_per_day)
      ck.fail(base, "{} {}-24:00 is not covered by any slot", day, hhmm(covered));
  }
}

// The most the batteries can move: the cabinets' rated powers together (the
// ceiling of any battery setpoint).
double battery_power_w(const config& cfg) {
  double w = 0;
  for (const auto& c : cfg.cabinets)
    if (std::isfinite(c.rated_power_w) && c.rated_power_w > 0)
      w += c.rated_power_w;
  return w > 0 ? std::min(w, checker::max_site_power_w) : checker::max_site_power_w;
}

void check_tou(checker& ck, const config& cfg) {
  const auto& slots = cfg.policies.tou;
  const double battery_w = battery_power_w(cfg);
  const std::string base = "policies.tou.slots";
  if (cfg.policies.mode == working_mode::time_of_use && slots.empty())
    ck.fail(base, "the TIME_OF_USE mode needs a weekly template of slots");
  std::vector<week_slot> week;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const auto& s = slots[i];
    auto path = at(base, i);
    week.push_back({&s.days, &s.start, &s.end});
    if (s.action == slot_action::unspecified)
      ck.fail(path + ".action", "is required (charge, discharge, self-consume or idle)");
    ck.power(path + ".power_w", s.power_w,
             s.action == slot_action::charge || s.action == slot_action::discharge, battery_w,
             "the cabinets' rated power");
    if (s.soc_min_percent != 0 || s.soc_max_percent != 0)
      check_soc_window(ck, path, s.soc_min_percent, s.soc_max_percent);
  }
  check_week(ck, base, week);
}

void check_economics(checker& ck, const economics& e) {
  const std::string base = "economics.import_prices";
  std::vector<week_slot> week;
  for (std::size_t i = 0; i < e.import_prices.size(); ++i) {
    const auto& s = e.import_prices[i];
    week.push_back({&s.days, &s.start, &s.end});
    ck.non_negative(at(base, i) + ".price_per_kwh", s.price_per_kwh);
  }
  check_week(ck, base, week);
  ck.non_negative("economics.feed_in_price_per_kwh", e.feed_in_price_per_kwh);
  ck.positive("economics.co2_kg_per_kwh", e.co2_kg_per_kwh);
  ck.positive("economics.coal_kg_per_kwh", e.coal_kg_per_kwh);
  ck.positive("economics.co2_kg_per_tree_year", e.co2_kg_per_tree_year);
  if (!e.import_prices.empty() && e.currency.empty())
    ck.fail("economics.currency", "is required with prices (e.g. \"AUD\")");
}

void check_policies(checker& ck, const config& cfg) {
  const auto& p = cfg.policies;
  check_tou(ck, cfg);
  check_soc_window(ck, "policies.soc", p.soc.min_percent, p.soc.max_percent);
  if (!std::isfinite(p.soc.hysteresis_percent) || p.soc.hysteresis_percent < 0
      || p.soc.hysteresis_percent >= p.soc.max_percent - p.soc.min_percent)
    ck.fail("policies.soc.hysteresis_percent",
            "must be >= 0 and smaller than max - min ({}), got {}",
            p.soc.max_percent - p.soc.min_percent, p.soc.hysteresis_percent);
  const auto& th = p.thermal;
  if (!(std::isfinite(th.derate_from_c) && std::isfinite(th.derate_to_c) && th.derate_from_c >= 20
        && th.derate_to_c <= 80 && th.derate_from_c < th.derate_to_c))
    ck.fail("policies.thermal", "derate_from_c < derate_to_c, both 20 .. 80 °C, got {} and {}",
            th.derate_from_c, th.derate_to_c);
  if (!(th.cooling_fault_factor >= 0 && th.cooling_fault_factor <= 1))
    ck.fail("policies.thermal.cooling_fault_factor", "must be 0 .. 1, got {}",
            th.cooling_fault_factor);
  const auto& ex = p.export_limit;
  ck.power("policies.export_limit.limit_w", ex.limit_w);
  if (ex.trip_tolerance_w && !(*ex.trip_tolerance_w >= 0 && *ex.trip_tolerance_w <= 1e8))
    ck.fail("policies.export_limit.trip_tolerance_w", "must be 0 .. 100 MW, got {}",
            *ex.trip_tolerance_w);
  ck.range("policies.export_limit.max_protection_time_ms", ex.max_protection_time_ms, 1, 3'600'000);
  if (ex.trip_output != 0) {
    auto it = std::find_if(cfg.io.outputs.begin(), cfg.io.outputs.end(),
                           [&](const auto& o) { return o.channel == ex.trip_output; });
    if (it == cfg.io.outputs.end())
      ck.fail("policies.export_limit.trip_output", "DO{} is not configured in io.outputs",
              ex.trip_output);
    else if (it->function != output_function::export_limit_trip)
      ck.fail("policies.export_limit.trip_output",
              "DO{} must have function OUTPUT_FUNCTION_EXPORT_LIMIT_TRIP", ex.trip_output);
  }
  const auto& dl = p.demand_limit;
  if (dl.enabled) {
    ck.power("policies.demand_limit.limit_w", dl.limit_w, true);
    if (!std::isfinite(dl.recharge_below_w) || dl.recharge_below_w < 0
        || dl.recharge_below_w >= dl.limit_w)
      ck.fail("policies.demand_limit.recharge_below_w",
              "must be >= 0 and below limit_w ({} W), got {}", dl.limit_w, dl.recharge_below_w);
  }
  const auto& fs = p.fail_safe;
  if (fs.meter_stale_ms <= cfg.polling.grid_meter_ms)
    ck.fail("policies.fail_safe.meter_stale_ms",
            "must be longer than the grid meter's poll period ({} ms), got {}",
            cfg.polling.grid_meter_ms, fs.meter_stale_ms);
  ck.range("policies.fail_safe.reach_within_ms", fs.reach_within_ms, 1, 600'000);
  // The promise is kept by the timings: the meter counts as stale after
  // meter_stale_ms, the next decision comes within a control cycle, and a
  // device takes its command within its poll period.
  auto reach = uint64_t{fs.meter_stale_ms} + cfg.polling.control_cycle_ms
               + std::max(cfg.polling.cabinet_ms, cfg.polling.inverter_ms);
  if (fs.meter_stale_ms > cfg.polling.grid_meter_ms && reach > fs.reach_within_ms)
    ck.fail("policies.fail_safe.reach_within_ms",
            "cannot be kept: plantd may take {} ms (meter_stale_ms {} + a control cycle {} + a "
            "device poll {}); shorten those, or allow more",
            reach, fs.meter_stale_ms, cfg.polling.control_cycle_ms,
            std::max(cfg.polling.cabinet_ms, cfg.polling.inverter_ms));
  ck.range("policies.fail_safe.cabinet_stale_ms", fs.cabinet_stale_ms, 1, 600'000);
  ck.range("policies.fail_safe.device_watchdog_ms", fs.device_watchdog_ms, 2'000, 600'000);
  ck.power("policies.fail_safe.pv_export_w", fs.pv_export_w);
  ck.power("policies.distribution.ramp_w_per_s", p.distribution.ramp_w_per_s);
  ck.power("policies.distribution.deadband_w", p.distribution.deadband_w, false,
           battery_power_w(cfg), "the cabinets' rated power");
}

void check_polling_storage_networks(checker& ck, const config& cfg) {
  const auto& p = cfg.polling;
  ck.range("polling.grid_meter_ms", p.grid_meter_ms, 50, 60'000);
  ck.range("polling.pv_meter_ms", p.pv_meter_ms, 50, 60'000);
  ck.range("polling.inverter_ms", p.inverter_ms, 50, 60'000);
  ck.range("polling.cabinet_ms", p.cabinet_ms, 50, 60'000);
  ck.range("polling.io_ms", p.io_ms, 50, 60'000);
  ck.range("polling.control_cycle_ms", p.control_cycle_ms, 100, 60'000);
  ck.range("storage.raw_retention_days", cfg.storage.raw_retention_days, 1, 3650);
  ck.range("storage.flush_interval_ms", cfg.storage.flush_interval_ms, 10, 60'000);
  ck.range("storage.energy_hourly_days", cfg.storage.energy_hourly_days, 2, 3650);
  ck.range("storage.max_disk_mb", cfg.storage.max_disk_mb, 64, 1'000'000);
  const auto& n = cfg.networks;
  if (!n.net2.dhcp && n.net2.address.empty() && !n.net2.gateway.empty())
    ck.fail("networks.net2.address", "is required with a static gateway (or set dhcp)");
  if (n.cellular.enabled)
    ck.required("networks.cellular.apn", n.cellular.apn);
}

// The authority of an http(s) URL: what lies between "://" and the path.
std::string_view authority_of(std::string_view url) {
  auto rest = url.substr(url.find("://") + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

// Whether the URL's host is exactly a loopback address: 127.x.y.z (an IPv4
// literal), [::1] or localhost ("127.0.0.1.example.net" is not).
bool loopback_host(std::string_view url) {
  auto host = authority_of(url);
  if (host.starts_with("["))
    return host == "[::1]" || host.starts_with("[::1]:");
  host = host.substr(0, host.find(':'));
  if (host == "localhost")
    return true;
  int parts = 0;
  std::size_t start = 0;
  while (start <= host.size()) {
    auto dot = host.find('.', start);
    auto part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || part.size() > 3
        || part.find_first_not_of("0123456789") != std::string_view::npos
        || std::stoi(std::string{part}) > 255)
      return false;
    if (parts == 0 && part != "127")
      return false;
    ++parts;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return parts == 4;
}

void check_uplink(checker& ck, const uplink& u) {
  ck.range("uplink.interval_ms", u.interval_ms, 1000, 600'000);
  ck.range("uplink.max_samples_per_s", u.max_samples_per_s, 1000, 10'000'000);
  ck.range("uplink.max_samples_per_request", u.max_samples_per_request, 100, 1'000'000);
  ck.range("uplink.backfill_hours", u.backfill_hours, 1, 8760);
  for (auto [path, file] : {std::pair{"uplink.bearer_token_file", &u.bearer_token_file},
                            std::pair{"uplink.password_file", &u.password_file},
                            std::pair{"uplink.ca_file", &u.ca_file}})
    if (!file->empty() && !file->starts_with("/"))
      ck.fail(path, "must be an absolute path, got \"{}\"", *file);
  if (!u.bearer_token_file.empty() && !u.username.empty())
    ck.fail("uplink.username", "bearer_token_file and basic auth (username) exclude each other");
  if (u.username.empty() != u.password_file.empty())
    ck.fail(u.username.empty() ? "uplink.username" : "uplink.password_file",
            "basic auth needs both username and password_file");
  if (!u.enabled && u.url.empty())
    return;
  bool https = u.url.starts_with("https://");
  bool http = u.url.starts_with("http://");
  if (!https && !http) {
    ck.fail("uplink.url", "must be an http:// or https:// address, got \"{}\"", u.url);
    return;
  }
  if (authority_of(u.url).empty())
    ck.fail("uplink.url", "has no host: \"{}\"", u.url);
  if (authority_of(u.url).find('@') != std::string_view::npos)
    ck.fail("uplink.url", "must not hold credentials (user:password@): use username and "
                          "password_file, or bearer_token_file");
  bool credentials = !u.bearer_token_file.empty() || !u.username.empty();
  if (http && credentials && !loopback_host(u.url))
    ck.fail("uplink.url", "credentials are sent over https:// only (http:// on loopback)");
  if (http && !u.ca_file.empty())
    ck.fail("uplink.ca_file", "is for https:// addresses");
}

}  // namespace

problems validate(const config& cfg) {
  checker ck;
  id_registry ids;
  id_registry serials;
  check_site(ck, cfg.site);
  check_cabinets(ck, cfg, ids, serials);
  check_ems(ck, cfg);
  check_lines(ck, cfg, ids, serials);
  check_io(ck, cfg.io);
  check_policies(ck, cfg);
  check_polling_storage_networks(ck, cfg);
  check_economics(ck, cfg.economics);
  check_uplink(ck, cfg.uplink);
  auto found = ck.take();
  for (auto& p : grid_profile_departures(cfg))
    found.push_back(std::move(p));
  return found;
}

}  // namespace plantd::plant
