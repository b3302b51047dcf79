// Every validation rule, each with a config that breaks it once: the problem
// must name the field and say what is wrong.
#include <catch2/catch.hpp>

#include <functional>

#include "model/plant/grid_profiles.hpp"
#include "model/plant/validate.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace plantd::plant;
using plantd::test::valid_config;

namespace {

std::string dump(const problems& found) {
  std::string out;
  for (const auto& p : found)
    out += "  " + p.path + ": " + p.message + "\n";
  return out;
}

bool has(const problems& found, const std::string& path, const std::string& text) {
  return std::any_of(found.begin(), found.end(), [&](const problem& p) {
    return p.path == path && p.message.find(text) != std::string::npos;
  });
}

struct bad_case {
  const char* rule;
  std::size_t cabinets;
  std::function<void(config&)> breaks;
  const char* path;
  const char* says;
};

}  // namespace

TEST_CASE("the shipped shapes of plant validate cleanly", "[validate]") {
  for (std::size_t n : {1, 5, 11, 12, 20}) {
    CAPTURE(n);
    auto found = validate(valid_config(n));
    INFO(dump(found));
    CHECK(found.empty());
  }
}

TEST_CASE("each rule names the field it is about", "[validate]") {
  auto c = GENERATE(values<bad_case>({
    {"fail-safe timing kept", 1,
     [](config& c) {
       c.policies.fail_safe.meter_stale_ms = 4000;
       c.policies.fail_safe.reach_within_ms = 5000;
     },
     "policies.fail_safe.reach_within_ms", "cannot be kept: plantd may take 6000 ms"},
    // the disk budget and the uplink
    {"disk budget", 1, [](config& c) { c.storage.max_disk_mb = 10; }, "storage.max_disk_mb",
     "64..1000000"},
    {"uplink url scheme", 1,
     [](config& c) {
       c.uplink.enabled = true;
       c.uplink.url = "ftp://fleet/write";
     },
     "uplink.url", "http:// or https://"},
    {"uplink url required", 1, [](config& c) { c.uplink.enabled = true; }, "uplink.url",
     "http:// or https://"},
    {"uplink credentials in clear", 1,
     [](config& c) {
       c.uplink.enabled = true;
       c.uplink.url = "http://fleet.example.net/api/v1/write";
       c.uplink.bearer_token_file = "/etc/plantd/uplink.token";
     },
     "uplink.url", "https:// only"},
    {"uplink loopback lookalike", 1,
     [](config& c) {
       c.uplink.enabled = true;
       c.uplink.url = "http://127.0.0.1.fleet.example.net/api/v1/write";
       c.uplink.bearer_token_file = "/etc/plantd/uplink.token";
     },
     "uplink.url", "https:// only"},
    {"uplink credentials in the url", 1,
     [](config& c) {
       c.uplink.enabled = true;
       c.uplink.url = "https://fleet:secret@fleet.example.net/api/v1/write";
     },
     "uplink.url", "must not hold credentials"},
    {"uplink token file path", 1, [](config& c) { c.uplink.bearer_token_file = "token"; },
     "uplink.bearer_token_file", "absolute path"},
    {"uplink token or basic", 1,
     [](config& c) {
       c.uplink.bearer_token_file = "/etc/plantd/t";
       c.uplink.username = "fleet";
       c.uplink.password_file = "/etc/plantd/p";
     },
     "uplink.username", "exclude each other"},
    {"uplink basic needs a password", 1, [](config& c) { c.uplink.username = "fleet"; },
     "uplink.password_file", "both username and password_file"},
    {"uplink rate", 1, [](config& c) { c.uplink.max_samples_per_s = 10; },
     "uplink.max_samples_per_s", "1000..10000000"},
    {"uplink backfill", 1, [](config& c) { c.uplink.backfill_hours = 0; }, "uplink.backfill_hours",
     "1..8760"},
    // site
    {"site name required", 1, [](config& c) { c.site.name.clear(); }, "site.name", "required"},
    {"time zone required", 1, [](config& c) { c.site.time_zone.clear(); }, "site.time_zone",
     "required"},
    {"time zone known", 1, [](config& c) { c.site.time_zone = "Mars/Olympus"; },
     "site.time_zone", "unknown IANA time zone \"Mars/Olympus\""},
    {"country code", 1, [](config& c) { c.site.country = "Germany"; }, "site.country",
     "ISO 3166-1"},
    {"site capacity", 1, [](config& c) { c.site.rated_power_w = -5; }, "site.rated_power_w",
     ">= 0"},
    // cabinets
    {"at least one cabinet", 1, [](config& c) { c.cabinets.clear(); }, "cabinets",
     "at least 1 cabinet"},
    {"at most twenty cabinets", 20,
     [](config& c) {
       auto extra = c.cabinets.back();
       extra.id = "C21";
       extra.serial = "SN0021";
       extra.modbus.port = 15021;
       c.cabinets.push_back(extra);
       c.ems.ems_switch->cabinet_ids.push_back("C21");
     },
     "cabinets", "21 cabinets given; a plant has 1 to 20"},
    {"cabinet id required", 2, [](config& c) { c.cabinets[1].id.clear(); }, "cabinets[1].id",
     "required"},
    {"cabinet ids unique", 2, [](config& c) { c.cabinets[1].id = "C01"; }, "cabinets[1].id",
     "duplicate id \"C01\", already used by cabinets[0]"},
    {"device ids unique across the plant", 1,
     [](config& c) { c.rs485_lines[0].devices[0].id = "C01"; }, "rs485_lines[0].devices[0].id",
     "duplicate id \"C01\""},
    {"serials unique", 3, [](config& c) { c.cabinets[2].serial = "SN0001"; },
     "cabinets[2].serial", "duplicate serial \"SN0001\""},
    {"a serial used by a cabinet and an inverter", 1,
     [](config& c) {
       c.cabinets[0].serial = "SN0001";
       c.rs485_lines[0].devices[0].serial = "SN0001";
     },
     "rs485_lines[0].devices[0].serial", "duplicate serial \"SN0001\", already used by cabinets[0]"},
    {"a serial with a space at its end", 1, [](config& c) { c.cabinets[0].serial = "SN 0001 "; },
     "cabinets[0].serial", "without spaces at either end"},
    {"a serial with a control character", 1, [](config& c) { c.cabinets[0].serial = "SN\t1"; },
     "cabinets[0].serial", "printable ASCII"},
    {"addresses unique", 3, [](config& c) { c.cabinets[2].modbus.port = 15001; },
     "cabinets[2].modbus", "127.0.0.1:15001 unit 1 is already used by cabinets[0]"},
    {"cabinet host required", 1, [](config& c) { c.cabinets[0].modbus.host.clear(); },
     "cabinets[0].modbus.host", "required"},
    {"cabinet port range", 1, [](config& c) { c.cabinets[0].modbus.port = 70000; },
     "cabinets[0].modbus.port", "1..65535, got 70000"},
    {"cabinet unit id range", 1, [](config& c) { c.cabinets[0].modbus.unit_id = 248; },
     "cabinets[0].modbus.unit_id", "1..247, got 248"},
    {"cabinet rating", 1, [](config& c) { c.cabinets[0].rated_energy_wh = 0; },
     "cabinets[0].rated_energy_wh", "> 0"},
    {"cabinet point table", 1, [](config& c) { c.cabinets[0].point_table.clear(); },
     "cabinets[0].point_table", "required"},
    // EMS units
    {"primary id required", 1, [](config& c) { c.ems.primary.id.clear(); }, "ems.primary.id",
     "required"},
    {"twelve cabinets need the EMS-Switch unit", 12,
     [](config& c) {
       for (auto& id : c.ems.ems_switch->cabinet_ids)
         c.ems.primary.cabinet_ids.push_back(id);
       c.ems.ems_switch.reset();
     },
     "ems.ems_switch", "12 cabinets need an EMS-Switch unit"},
    {"a cabinet wired to no unit", 3,
     [](config& c) { c.ems.primary.cabinet_ids.pop_back(); }, "cabinets[2]",
     "\"C03\" is wired to no EMS unit"},
    {"a cabinet wired to both units", 12,
     [](config& c) { c.ems.ems_switch->cabinet_ids.push_back("C01"); }, "cabinets[0]",
     "wired to both EMS units"},
    {"unknown cabinet on a unit", 1,
     [](config& c) { c.ems.primary.cabinet_ids.push_back("C99"); },
     "ems.primary.cabinet_ids[1]", "unknown cabinet \"C99\""},
    {"a cabinet listed twice", 2,
     [](config& c) { c.ems.primary.cabinet_ids.push_back("C02"); },
     "ems.primary.cabinet_ids[2]", "listed twice"},
    {"switch ports", 20,
     [](config& c) {
       // 12 cabinets + the uplink on the primary's 12-port switch.
       c.ems.ems_switch->cabinet_ids = {"C13", "C14", "C15", "C16", "C17", "C18", "C19", "C20"};
       c.ems.primary.cabinet_ids.push_back("C11");
       c.ems.primary.cabinet_ids.push_back("C12");
     },
     "ems.primary.cabinet_ids", "13 switch ports needed (12 cabinets + the EMS-Switch uplink)"},
    {"unit installed in a known cabinet", 1, [](config& c) { c.ems.primary.cabinet_id = "X"; },
     "ems.primary.cabinet_id", "unknown cabinet \"X\""},
    {"switch id differs", 12, [](config& c) { c.ems.ems_switch->id = "ems-1"; },
     "ems.ems_switch.id", "must differ"},
    {"primary reachable by the switch", 12, [](config& c) { c.ems.primary.host.clear(); },
     "ems.primary.host", "required"},
    // RS485 lines
    {"line port required", 1, [](config& c) { c.rs485_lines[1].port = serial_port::unspecified; },
     "rs485_lines[1].port", "required"},
    {"line port once", 1, [](config& c) { c.rs485_lines[2].port = serial_port::rs485_2; },
     "rs485_lines[2].port", "RS485-2 is already configured by rs485_lines[1]"},
    {"line needs a device or a gateway", 1, [](config& c) { c.rs485_lines[0].device.clear(); },
     "rs485_lines[0]", "serial device"},
    {"line not both device and gateway", 1,
     [](config& c) { c.rs485_lines[0].tcp_gateway = tcp_endpoint{"127.0.0.1", 15101, 1}; },
     "rs485_lines[0]", "not both"},
    {"baud rate", 1, [](config& c) { c.rs485_lines[0].baud = 9601; }, "rs485_lines[0].baud",
     "9601 is not a standard baud rate"},
    {"data bits", 1, [](config& c) { c.rs485_lines[0].data_bits = 9; },
     "rs485_lines[0].data_bits", "7 or 8"},
    {"stop bits", 1, [](config& c) { c.rs485_lines[0].stop_bits = 3; },
     "rs485_lines[0].stop_bits", "1 or 2"},
    {"device unit id range", 1, [](config& c) { c.rs485_lines[2].devices[1].unit_id = 0; },
     "rs485_lines[2].devices[1].unit_id", "1..247, got 0"},
    {"device unit id unique on its line", 1,
     [](config& c) { c.rs485_lines[2].devices[1].unit_id = 1; },
     "rs485_lines[2].devices[1].unit_id", "unit id 1 is already used on this line"},
    {"device role on its port", 1,
     [](config& c) { c.rs485_lines[2].devices[0].role = device_role::pv_meter; },
     "rs485_lines[2].devices[0].role", "a PV meter belongs on RS485-2, not on RS485-3"},
    {"device role required", 1,
     [](config& c) { c.rs485_lines[2].devices[0].role = device_role::unspecified; },
     "rs485_lines[2].devices[0].role", "required"},
    {"a grid meter is required", 1, [](config& c) { c.rs485_lines[0].devices.clear(); },
     "rs485_lines", "a grid meter is required"},
    {"one grid meter", 1,
     [](config& c) {
       c.rs485_lines[0].devices.push_back({"grid-2", device_role::grid_meter, "x", 9, 0, ""});
     },
     "rs485_lines[0].devices[1].role", "a second grid meter"},
    {"inverter rating", 1, [](config& c) { c.rs485_lines[2].devices[0].rated_power_w = 0; },
     "rs485_lines[2].devices[0].rated_power_w", "> 0"},
    {"device point table", 1, [](config& c) { c.rs485_lines[1].devices[0].point_table.clear(); },
     "rs485_lines[1].devices[0].point_table", "required"},
    // DRED / DI / DO
    {"DI channel range", 1,
     [](config& c) { c.io.inputs.push_back({3, input_function::none, false, "x"}); },
     "io.inputs[0].channel", "1..2, got 3"},
    {"DO channel once", 1,
     [](config& c) {
       c.io.gpio_chip = "/dev/gpiochip0";
       c.io.outputs.push_back({1, output_function::alarm_lamp, ""});
       c.io.outputs.push_back({1, output_function::fault_relay, ""});
     },
     "io.outputs[1].channel", "DO1 is already configured by io.outputs[0]"},
    {"lines in use need a source", 1,
     [](config& c) { c.io.demand_response = demand_response_kind::dred; }, "io",
     "need a source"},
    // policies
    {"TOU mode needs slots", 1,
     [](config& c) {
       c.policies.mode = working_mode::time_of_use;
       c.policies.tou.clear();
     },
     "policies.tou.slots", "needs a weekly template"},
    {"TOU gap", 1, [](config& c) { c.policies.tou[2].start = "18:00"; }, "policies.tou.slots",
     "Monday 17:00-18:00 is not covered by any slot"},
    {"TOU overlap", 1, [](config& c) { c.policies.tou[1].end = "18:00"; },
     "policies.tou.slots[2]", "overlaps slots[1] on Monday 17:00-18:00"},
    {"TOU day coverage end", 1,
     [](config& c) { c.policies.tou[3].days = {weekday::monday, weekday::tuesday}; },
     "policies.tou.slots", "Wednesday 20:00-24:00 is not covered"},
    {"TOU time format", 1, [](config& c) { c.policies.tou[1].start = "8:00"; },
     "policies.tou.slots[1].start", "\"HH:MM\""},
    {"TOU slot order", 1,
     [](config& c) {
       c.policies.tou[3].start = "22:00";
       c.policies.tou[3].end = "06:00";
     },
     "policies.tou.slots[3].end", "crosses midnight"},
    {"TOU action", 1, [](config& c) { c.policies.tou[1].action = slot_action::unspecified; },
     "policies.tou.slots[1].action", "required"},
    {"TOU charge power", 1, [](config& c) { c.policies.tou[0].power_w = 0; },
     "policies.tou.slots[0].power_w", "> 0"},
    {"TOU slot SOC window", 1, [](config& c) { c.policies.tou[0].soc_min_percent = 99; },
     "policies.tou.slots[0]", "0 <= min < max <= 100, got 99 .. 95"},
    {"TOU day listed twice", 1,
     [](config& c) {
       c.policies.tou[0].days = {weekday::monday, weekday::monday};
     },
     "policies.tou.slots[0].days[1]", "Monday is listed twice"},
    {"SOC bounds", 1,
     [](config& c) {
       c.policies.soc.min_percent = 80;
       c.policies.soc.max_percent = 20;
     },
     "policies.soc", "0 <= min < max <= 100, got 80 .. 20"},
    {"SOC hysteresis", 1, [](config& c) { c.policies.soc.hysteresis_percent = 90; },
     "policies.soc.hysteresis_percent", "smaller than max - min"},
    {"export limit non-negative", 1, [](config& c) { c.policies.export_limit.limit_w = -1; },
     "policies.export_limit.limit_w", ">= 0"},
    {"export trip output configured", 1, [](config& c) { c.policies.export_limit.trip_output = 2; },
     "policies.export_limit.trip_output", "DO2 is not configured"},
    {"export trip output function", 1,
     [](config& c) {
       c.io.gpio_chip = "/dev/gpiochip0";
       c.io.outputs.push_back({1, output_function::alarm_lamp, ""});
       c.policies.export_limit.trip_output = 1;
     },
     "policies.export_limit.trip_output", "EXPORT_LIMIT_TRIP"},
    {"demand limit positive", 1,
     [](config& c) {
       c.policies.demand_limit.enabled = true;
       c.policies.demand_limit.limit_w = 0;
     },
     "policies.demand_limit.limit_w", "> 0"},
    {"demand recharge threshold below the limit", 1,
     [](config& c) {
       c.policies.demand_limit.enabled = true;
       c.policies.demand_limit.limit_w = 100'000;
       c.policies.demand_limit.recharge_below_w = 120'000;
     },
     "policies.demand_limit.recharge_below_w", "below limit_w"},
    {"meter stale time beyond polling", 1,
     [](config& c) { c.policies.fail_safe.meter_stale_ms = 100; },
     "policies.fail_safe.meter_stale_ms", "longer than the grid meter's poll period (200 ms)"},
    {"fail-safe export", 1, [](config& c) { c.policies.fail_safe.pv_export_w = -3; },
     "policies.fail_safe.pv_export_w", ">= 0"},
    {"fail-safe export of 2^64 W", 1,
     [](config& c) { c.policies.fail_safe.pv_export_w = 18446744073709551616.0; },
     "policies.fail_safe.pv_export_w", "at most 100 MW"},
    {"a deadband no battery step can cross", 1,
     [](config& c) { c.policies.distribution.deadband_w = 1e300; },
     "policies.distribution.deadband_w", "at most the cabinets' rated power (100000 W)"},
    {"a TOU slot power beyond the cabinets", 1, [](config& c) { c.policies.tou[2].power_w = 1e308; },
     "policies.tou.slots[2].power_w", "at most the cabinets' rated power"},
    {"an export limit beyond any C&I site", 1,
     [](config& c) { c.policies.export_limit.limit_w = 1e12; },
     "policies.export_limit.limit_w", "at most 100 MW"},
    {"a cabinet rated beyond any C&I site", 1, [](config& c) { c.cabinets[0].rated_power_w = 1e300; },
     "cabinets[0].rated_power_w", "at most 100 MW"},
    {"ramp", 1, [](config& c) { c.policies.distribution.ramp_w_per_s = -1; },
     "policies.distribution.ramp_w_per_s", ">= 0"},
    // polling, storage, networks
    {"poll period", 1, [](config& c) { c.polling.grid_meter_ms = 10; }, "polling.grid_meter_ms",
     "50..60000, got 10"},
    {"control cycle", 1, [](config& c) { c.polling.control_cycle_ms = 0; },
     "polling.control_cycle_ms", "100..60000"},
    {"retention", 1, [](config& c) { c.storage.raw_retention_days = 0; },
     "storage.raw_retention_days", "1..3650"},
    {"energy hours held", 1, [](config& c) { c.storage.energy_hourly_days = 1; },
     "storage.energy_hourly_days", "2..3650"},
    {"APN with 4G", 1, [](config& c) { c.networks.cellular.enabled = true; },
     "networks.cellular.apn", "required"},
    // economics
    {"tariff covers the week", 1,
     [](config& c) {
       c.economics.currency = "AUD";
       c.economics.import_prices = {{{}, "00:00", "16:00", 0.20}};
     },
     "economics.import_prices", "Monday 16:00-24:00 is not covered"},
    {"tariff price", 1,
     [](config& c) {
       c.economics.currency = "AUD";
       c.economics.import_prices = {{{}, "00:00", "24:00", -0.1}};
     },
     "economics.import_prices[0].price_per_kwh", ">= 0"},
    {"tariff currency", 1,
     [](config& c) { c.economics.import_prices = {{{}, "00:00", "24:00", 0.3}}; },
     "economics.currency", "required"},
    {"emission factor", 1, [](config& c) { c.economics.co2_kg_per_kwh = 0; },
     "economics.co2_kg_per_kwh", "> 0"},
  }));
  CAPTURE(c.rule);
  auto cfg = valid_config(c.cabinets);
  REQUIRE(validate(cfg).empty());
  c.breaks(cfg);
  auto found = validate(cfg);
  INFO(dump(found));
  CHECK(has(found, c.path, c.says));
}

TEST_CASE("every problem is reported, not only the first", "[validate]") {
  auto cfg = valid_config(3);
  cfg.site.name.clear();
  cfg.cabinets[1].modbus.port = 0;
  cfg.policies.soc.min_percent = 120;
  auto found = validate(cfg);
  INFO(dump(found));
  CHECK(has(found, "site.name", "required"));
  CHECK(has(found, "cabinets[1].modbus.port", "1..65535"));
  CHECK(has(found, "policies.soc", "0 <= min < max"));
}

TEST_CASE("a weekday-only template must still cover the weekend", "[validate][tou]") {
  auto cfg = valid_config(1);
  std::vector<weekday> workdays{weekday::monday, weekday::tuesday, weekday::wednesday,
                                weekday::thursday, weekday::friday};
  for (auto& slot : cfg.policies.tou)
    slot.days = workdays;
  auto found = validate(cfg);
  INFO(dump(found));
  CHECK(has(found, "policies.tou.slots", "Saturday 00:00-24:00 is not covered"));
  CHECK(has(found, "policies.tou.slots", "Sunday 00:00-24:00 is not covered"));
  // Adding a weekend slot makes it whole.
  cfg.policies.tou.push_back({{weekday::saturday, weekday::sunday},
                              "00:00",
                              "24:00",
                              slot_action::self_consume,
                              0,
                              0,
                              0,
                              false});
  CHECK(validate(cfg).empty());
}

TEST_CASE("thousands of problems: the first 200 listed, the rest counted",
          "[validate][bad-input]") {
  auto cfg = valid_config(1);
  cfg.policies.tou.clear();
  for (int i = 0; i < 5000; ++i)  // each overlaps the one before it
    cfg.policies.tou.push_back({{}, "00:00", "24:00", slot_action::idle, 0, 0, 0, false});
  auto found = validate(cfg);
  REQUIRE(found.size() == 201);
  CHECK_THAT(found.back().message, Catch::Matches("and \\d+ more problems"));
  // The count closes the text without a stray ": " (it has no path).
  CHECK_THAT(to_text(found), Catch::Matches(".*00; and [0-9]+ more problems"));
}

TEST_CASE("the site's grid profile: departures flagged with the profile and its source, and "
          "choosing it fills what it fixes",
          "[model][validate][grid-profile]") {
  auto cfg = valid_config(1);
  REQUIRE(validate(cfg).empty());
  // AS/NZS 4777.2: DRED, export under the limit within 15 s.
  cfg.site.profile = grid_profile::as_nzs_4777_2;
  cfg.io.demand_response = demand_response_kind::rcr;
  cfg.io.gpio_chip = "/dev/gpiochip0";
  cfg.policies.export_limit.max_protection_time_ms = 20'000;
  auto found = validate(cfg);
  INFO(dump(found));
  CHECK(has(found, "io.demand_response",
            "must be DEMAND_RESPONSE_KIND_DRED under the site's "
            "grid profile AS/NZS 4777.2"));
  CHECK(has(found, "io.demand_response", "DRM 0"));
  CHECK(has(found, "policies.export_limit.max_protection_time_ms", "at most 15000 ms, got 20000"));
  apply_grid_profile(cfg);
  CHECK(cfg.io.demand_response == demand_response_kind::dred);
  CHECK(cfg.policies.export_limit.max_protection_time_ms == 15'000);
  CHECK(validate(cfg).empty());
  // A shorter time than the code allows is kept.
  cfg.policies.export_limit.max_protection_time_ms = 5'000;
  apply_grid_profile(cfg);
  CHECK(cfg.policies.export_limit.max_protection_time_ms == 5'000);
  // G99 / G100: export and fail-safe within 5 s.
  cfg.site.profile = grid_profile::g99;
  cfg.policies.fail_safe.meter_stale_ms = 8'000;
  found = validate(cfg);
  CHECK(has(found, "policies.fail_safe.meter_stale_ms", "at most 5000 ms, got 8000"));
  apply_grid_profile(cfg);
  // Stale soon enough that a decision (1 s) and a device poll (1 s) follow
  // within the 5 s.
  CHECK(cfg.policies.fail_safe.reach_within_ms == 5'000);
  CHECK(cfg.policies.fail_safe.meter_stale_ms == 3'000);
  CHECK(cfg.io.demand_response == demand_response_kind::dred);  // G100 fixes no interface
  CHECK(validate(cfg).empty());
  // VDE-AR-N 4105: the ripple-control receiver.
  cfg.site.profile = grid_profile::vde_ar_n_4105;
  CHECK(has(validate(cfg), "io.demand_response", "DEMAND_RESPONSE_KIND_RCR"));
  // A profile without a public source fixes nothing.
  cfg.site.profile = grid_profile::gb_t_36547;
  CHECK(validate(cfg).empty());
  for (const auto& r : grid_profiles())
    CHECK_FALSE(r.source.empty());
}

TEST_CASE("an uplink over https with a token, or basic auth on loopback http, validates",
          "[validate][uplink]") {
  auto c = valid_config(1);
  c.uplink.enabled = true;
  c.uplink.url = "https://fleet.example.net/api/v1/write";
  c.uplink.bearer_token_file = "/etc/plantd/uplink.token";
  c.uplink.ca_file = "/etc/plantd/fleet-ca.pem";
  auto found = validate(c);
  INFO(dump(found));
  CHECK(found.empty());
  c.uplink.url = "http://127.0.0.1:8428/api/v1/write";
  c.uplink.bearer_token_file.clear();
  c.uplink.ca_file.clear();
  c.uplink.username = "fleet";
  c.uplink.password_file = "/etc/plantd/uplink.password";
  found = validate(c);
  INFO(dump(found));
  CHECK(found.empty());
}
