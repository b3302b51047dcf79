// The plant configuration as plain C++ values: the model's view of
// proto/plantd/v1/config.proto (services/config_codec converts between the
// two). Field names follow the proto so that validation paths read like the
// config file. Units: W, Wh, percent, milliseconds.
//
// Defaults for fields the proto leaves at 0 are applied by the codec; the
// values here are what plantd runs with.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plantd::plant {

enum class grid_profile : uint8_t {
  unspecified = 0,
  as_nzs_4777_2,
  vde_ar_n_4105,
  vde_ar_n_4110,
  en_50549,
  g99,
  gb_t_36547,
  ieee_1547,
};

struct site {
  std::string name;
  std::string owner;
  std::string address;
  std::string country;
  grid_profile profile = grid_profile::unspecified;
  std::string time_zone;
  // Milliseconds since the Unix epoch, UTC; nullopt when not given.
  std::optional<std::chrono::milliseconds> created_at;
  double rated_power_w = 0;
  double rated_energy_wh = 0;
  bool operator==(const site&) const = default;
};

struct ems_unit {
  std::string id;
  std::string cabinet_id;
  std::vector<std::string> cabinet_ids;
  std::string host;
  uint32_t port = 0;
  bool operator==(const ems_unit&) const = default;
};

struct ems_units {
  ems_unit primary;
  std::optional<ems_unit> ems_switch;
  bool operator==(const ems_units&) const = default;
};

struct tcp_endpoint {
  std::string host;
  uint32_t port = 502;
  uint32_t unit_id = 1;
  bool operator==(const tcp_endpoint&) const = default;
};

struct cabinet {
  std::string id;
  std::string serial;
  tcp_endpoint modbus;
  std::string point_table = "cm2-cabinet";
  double rated_power_w = 0;
  double rated_energy_wh = 0;
  bool operator==(const cabinet&) const = default;
};

enum class serial_port : uint8_t { unspecified = 0, rs485_1, rs485_2, rs485_3 };
enum class parity : uint8_t { none = 1, even, odd };
enum class device_role : uint8_t {
  unspecified = 0,
  grid_meter,
  pv_meter,
  pv_inverter,
  sub_meter,  // an energy sub-meter: counters for energy-carbon accounting only
};

struct serial_device {
  std::string id;
  device_role role = device_role::unspecified;
  std::string point_table;
  uint32_t unit_id = 0;
  double rated_power_w = 0;
  std::string serial;  // the nameplate serial number; commissioning reads it back
  bool operator==(const serial_device&) const = default;
};

struct serial_line {
  serial_port port = serial_port::unspecified;
  std::string device;
  uint32_t baud = 9600;
  enum parity parity = parity::none;
  uint32_t data_bits = 8;
  uint32_t stop_bits = 1;
  std::optional<tcp_endpoint> tcp_gateway;
  uint32_t timeout_ms = 500;
  uint32_t inter_frame_gap_ms = 5;
  std::vector<serial_device> devices;
  bool operator==(const serial_line&) const = default;
};

enum class demand_response_kind : uint8_t { none = 1, dred, rcr };

enum class input_function : uint8_t {
  none = 1,
  emergency_stop,
  external_trip,
  fire_alarm,
  generic_alarm,
};

enum class output_function : uint8_t {
  none = 1,
  export_limit_trip,
  alarm_lamp,
  fault_relay,
};

struct digital_input {
  uint32_t channel = 0;
  input_function function = input_function::none;
  bool normally_closed = false;
  std::string name;
  bool operator==(const digital_input&) const = default;
};

struct digital_output {
  uint32_t channel = 0;
  output_function function = output_function::none;
  std::string name;
  bool operator==(const digital_output&) const = default;
};

struct io {
  demand_response_kind demand_response = demand_response_kind::none;
  std::vector<digital_input> inputs;
  std::vector<digital_output> outputs;
  std::string gpio_chip;
  std::optional<tcp_endpoint> modbus_gateway;
  bool operator==(const io&) const = default;
};

enum class working_mode : uint8_t { self_consumption = 1, time_of_use };

// ISO weekday numbering: Monday = 1 .. Sunday = 7.
enum class weekday : uint8_t {
  unspecified = 0,
  monday,
  tuesday,
  wednesday,
  thursday,
  friday,
  saturday,
  sunday,
};

enum class slot_action : uint8_t {
  unspecified = 0,
  charge,
  discharge,
  self_consume,
  idle,
};

struct tou_slot {
  std::vector<weekday> days;  // empty = every day
  std::string start;          // "HH:MM"
  std::string end;            // "HH:MM" or "24:00"
  slot_action action = slot_action::unspecified;
  double power_w = 0;
  double soc_min_percent = 0;
  double soc_max_percent = 0;
  bool grid_charge = false;
  bool operator==(const tou_slot&) const = default;
};

struct export_limit {
  bool enabled = false;
  double limit_w = 0;
  uint32_t max_protection_time_ms = 5000;
  uint32_t trip_output = 0;
  // Export above limit_w + this counts towards the trip; unset: the larger
  // of 500 W and 1 % of the cabinets' rated power.
  std::optional<double> trip_tolerance_w;
  bool operator==(const export_limit&) const = default;
};

struct demand_limit {
  bool enabled = false;
  double limit_w = 0;
  double recharge_below_w = 0;
  bool operator==(const demand_limit&) const = default;
};

struct soc_bounds {
  double min_percent = 10;
  double max_percent = 95;
  double hysteresis_percent = 2;
  bool operator==(const soc_bounds&) const = default;
};

struct fail_safe {
  uint32_t meter_stale_ms = 2000;
  double pv_export_w = 0;
  uint32_t reach_within_ms = 5000;
  uint32_t cabinet_stale_ms = 5000;
  uint32_t device_watchdog_ms = 10000;  // the devices' own fallback (see config.proto)
  bool operator==(const fail_safe&) const = default;
};

struct distribution {
  double ramp_w_per_s = 0;
  double deadband_w = 0;
  bool operator==(const distribution&) const = default;
};

// A cabinet's power derated by its hottest cell: full up to derate_from_c,
// none from derate_to_c, linear between; times cooling_fault_factor while
// its liquid cooling reports a fault.
struct thermal {
  double derate_from_c = 45;
  double derate_to_c = 55;
  double cooling_fault_factor = 0.5;
  bool operator==(const thermal&) const = default;
};

struct policies {
  working_mode mode = working_mode::self_consumption;
  std::vector<tou_slot> tou;
  struct export_limit export_limit;
  struct demand_limit demand_limit;
  soc_bounds soc;
  struct fail_safe fail_safe;
  struct distribution distribution;
  struct thermal thermal;
  bool operator==(const policies&) const = default;
};

struct polling {
  uint32_t grid_meter_ms = 200;
  uint32_t pv_meter_ms = 1000;
  uint32_t inverter_ms = 1000;
  uint32_t cabinet_ms = 1000;
  uint32_t io_ms = 200;
  uint32_t control_cycle_ms = 1000;
  bool operator==(const polling&) const = default;
};

struct storage {
  uint32_t raw_retention_days = 30;
  uint32_t flush_interval_ms = 1000;
  uint32_t energy_hourly_days = 35;  // energy inputs held hour by hour (then as day sums)
  uint32_t max_disk_mb = 2048;       // the store's disk budget (oldest raw data goes first)
  bool operator==(const storage&) const = default;
};

// The uplink to the fleet's time-series store (Prometheus remote-write).
struct uplink {
  bool enabled = false;
  std::string url;
  std::string bearer_token_file;  // credentials live in files, never in the config
  std::string username;
  std::string password_file;
  std::string ca_file;
  uint32_t interval_ms = 10'000;
  uint32_t max_samples_per_s = 200'000;
  uint32_t max_samples_per_request = 20'000;
  uint32_t backfill_hours = 24;
  bool operator==(const uplink&) const = default;
};

struct networks {
  struct ethernet {
    bool dhcp = false;
    std::string address;
    std::string gateway;
    std::vector<std::string> dns;
    bool operator==(const ethernet&) const = default;
  };
  struct cellular {
    bool enabled = false;
    std::string apn;
    std::string user;
    std::string password;
    bool operator==(const cellular&) const = default;
  };
  struct bluetooth {
    bool enabled = false;
    std::string name;
    bool operator==(const bluetooth&) const = default;
  };
  ethernet net2;
  struct cellular cellular;
  struct bluetooth bluetooth;
  std::string apply_hook;
  bool operator==(const networks&) const = default;
};

struct price_slot {
  std::vector<weekday> days;  // empty = every day
  std::string start;
  std::string end;
  double price_per_kwh = 0;
  bool operator==(const price_slot&) const = default;
};

// Defaults of the social-contribution factors (README, "Plant statistics").
inline constexpr double default_co2_kg_per_kwh = 0.5703;
inline constexpr double default_coal_kg_per_kwh = 0.305;
inline constexpr double default_co2_kg_per_tree_year = 18.3;

struct economics {
  std::string currency;
  std::vector<price_slot> import_prices;
  double feed_in_price_per_kwh = 0;
  double co2_kg_per_kwh = default_co2_kg_per_kwh;
  double coal_kg_per_kwh = default_coal_kg_per_kwh;
  double co2_kg_per_tree_year = default_co2_kg_per_tree_year;
  bool operator==(const economics&) const = default;
};

struct config {
  struct site site;
  ems_units ems;
  std::vector<cabinet> cabinets;
  std::vector<serial_line> rs485_lines;
  struct io io;
  struct policies policies;
  struct polling polling;
  struct storage storage;
  struct networks networks;
  struct economics economics;
  struct uplink uplink;
  bool operator==(const config&) const = default;
};

// Counts and limits that the validation enforces (DESIGN.md §1).
inline constexpr std::size_t max_cabinets = 20;
inline constexpr std::size_t ems_switch_required_from = 12;
inline constexpr std::size_t ems_switch_ports = 12;
inline constexpr uint32_t max_unit_id = 247;
inline constexpr uint32_t digital_channels = 2;

}  // namespace plantd::plant
