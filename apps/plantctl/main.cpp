// plantctl — the command-line client of plantd.
//
//   plantctl [--target HOST:PORT|unix:PATH] [--token T] [--ca FILE] [--tls] [--json]
//            [--timeout S] status
//   plantctl ... config get
//   plantctl ... config validate FILE
//   plantctl ... config apply FILE [--base V] | set PATH VALUE | history [--last N]
//   plantctl ... config diff A [B] | rollback V
//   plantctl ... watch [--count N]
//   plantctl ... history [SERIES] [--since 1h] [--resolution auto]
//   plantctl ... alarms [--open|--closed] [--device ID] | ack ID
//   plantctl ... curve [day|week|month|year|total] [--since 7d] | stats [--period day]
//   plantctl ... export SERIES... --format csv|xlsx -o FILE [--since 1d] [--resolution hour]
//   plantctl ... mode set self-consumption|tou [--template FILE]
//   plantctl ... setpoint KW --for 15m | setpoint clear
//   plantctl ... login USER | logout | whoami | bootstrap CODE USER
//   plantctl ... users [add USER --role R | disable USER | enable USER]
//   plantctl ... tokens [create NAME --role R [--days N] | revoke ID]
//   plantctl ... installer-code [--days N] | audit [--last N] [--refused]
//   plantctl device read --pointtable NAME (--tcp HOST:PORT | --rtu DEV [--baud B])
//            --unit N [--json]
//
// Exit codes: 0 ok; 1 the answer is "no" (unhealthy, invalid config);
// 2 usage or local error (unreadable file); 3 plantd cannot be reached or
// failed the call.
//
// Credentials: --token, else $PLANTD_TOKEN, else the token `plantctl login`
// saved for the target. On the unit, the local socket (the default target
// when /run/plantd/plantd.sock exists) needs none.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "actors/version.hpp"
#include "apps/plantctl/access_cmds.hpp"
#include "apps/plantctl/alarm_cmds.hpp"
#include "apps/plantctl/commission_cmds.hpp"
#include "apps/plantctl/config_cmds.hpp"
#include "apps/plantctl/control_cmds.hpp"
#include "apps/plantctl/device_read.hpp"
#include "apps/plantctl/history_cmd.hpp"
#include "apps/plantctl/stats_cmds.hpp"
#include "apps/plantctl/energy_cmds.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "services/config_codec.hpp"

namespace {

namespace v1 = plantd::v1;
namespace pb = google::protobuf;

struct options {
  std::string target = "127.0.0.1:50051";
  bool json = false;
  double timeout_s = 3.0;
};

struct exit_code {
  static constexpr int ok = 0;
  static constexpr int no = 1;
  static constexpr int usage = 2;
  static constexpr int remote = 3;
};

std::unique_ptr<grpc::ClientContext> context(const options& opt) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now()
                    + std::chrono::milliseconds(static_cast<int64_t>(opt.timeout_s * 1000)));
  return ctx;
}

int fail_call(const options& opt, const grpc::Status& st) {
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE
      || st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    std::cerr << fmt::format("plantctl: cannot reach plantd at {}: {}\n", opt.target,
                             st.error_message());
  else
    std::cerr << fmt::format("plantctl: plantd at {} answered {}: {}\n", opt.target,
                             static_cast<int>(st.error_code()), st.error_message());
  return exit_code::remote;
}

std::string json_of(const pb::Message& msg) {
  pb::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)pb::util::MessageToJsonString(msg, &out, o);
  return out;
}

const char* health_name(grpc::health::v1::HealthCheckResponse::ServingStatus s) {
  using R = grpc::health::v1::HealthCheckResponse;
  switch (s) {
    case R::SERVING: return "SERVING";
    case R::NOT_SERVING: return "NOT_SERVING";
    case R::SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
    default: return "UNKNOWN";
  }
}

int cmd_status(const options& opt, const std::shared_ptr<grpc::Channel>& ch) {
  auto health = grpc::health::v1::Health::NewStub(ch);
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  auto st = health->Check(context(opt).get(), hreq, &hresp);
  if (!st.ok())
    return fail_call(opt, st);
  auto plant = v1::PlantService::NewStub(ch);
  v1::GetInfoResponse info;
  st = plant->GetInfo(context(opt).get(), v1::GetInfoRequest{}, &info);
  if (!st.ok())
    return fail_call(opt, st);
  bool serving = hresp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  if (opt.json) {
    auto body = json_of(info);
    // {"health": "...", ...info fields}
    std::cout << "{\n \"health\": \"" << health_name(hresp.status()) << "\","
              << body.substr(body.find('{') + 1);
  } else {
    std::cout << fmt::format("plantd {} at {}: {}\n", info.version(), opt.target,
                             health_name(hresp.status()))
              << fmt::format("  role      {}\n", info.role())
              << fmt::format("  site      {}\n", info.site_name())
              << fmt::format("  cabinets  {}\n", info.cabinet_count())
              << fmt::format("  config    version {}\n", info.config_version())
              << fmt::format("  uptime    {:.1f} s\n", info.uptime_s());
    const auto& u = info.uplink();
    if (!u.enabled())
      std::cout << "  uplink    off\n";
    else
      std::cout << fmt::format("  uplink    {}, {:.0f} s behind, ~{} samples to send; sent {}, "
                               "rejected {}, lost {}{}\n",
                               u.connected() ? "connected" : "NOT connected", u.lag_s(),
                               u.backlog_samples(), u.sent_samples(), u.rejected_samples(),
                               u.lost_samples(),
                               u.last_error().empty() ? "" : "; last error: " + u.last_error());
    plantd::apps::print_plant_state({opt.target, false, opt.timeout_s}, ch);
  }
  return serving ? exit_code::ok : exit_code::no;
}

void print_config_summary(const v1::GetConfigResponse& resp) {
  const auto& c = resp.config();
  const auto& s = c.site();
  std::cout << fmt::format("site      {} ({}), {}\n", s.name(), s.country(), s.address())
            << fmt::format("owner     {}\n", s.owner())
            << fmt::format("time zone {}\n", s.time_zone())
            << fmt::format("config    version {}\n", resp.version())
            << fmt::format("mode      {}\n", v1::WorkingMode_Name(c.policies().mode()));
  std::cout << fmt::format("cabinets  {}\n", c.cabinets_size());
  for (const auto& cab : c.cabinets())
    std::cout << fmt::format("  {:<6} {:<14} {}:{} unit {:<3} {:>7.1f} kW {:>7.1f} kWh\n", cab.id(),
                             cab.serial(), cab.modbus().host(), cab.modbus().port(),
                             cab.modbus().unit_id(), cab.rated_power_w() / 1000,
                             cab.rated_energy_wh() / 1000);
  for (const auto& line : c.rs485_lines()) {
    std::cout << fmt::format("{} {} {} baud\n", v1::SerialPort_Name(line.port()),
                             line.has_tcp_gateway() ? fmt::format(
                               "via {}:{}", line.tcp_gateway().host(), line.tcp_gateway().port())
                                                    : line.device(),
                             line.baud());
    for (const auto& d : line.devices())
      std::cout << fmt::format("  {:<12} {:<24} {:<16} unit {}\n", d.id(),
                               v1::DeviceRole_Name(d.role()), d.point_table(), d.unit_id());
  }
  const auto& ex = c.policies().export_limit();
  if (ex.enabled())
    std::cout << fmt::format("export limit {:.1f} kW\n", ex.limit_w() / 1000);
}

int cmd_config_get(const options& opt, const std::shared_ptr<grpc::Channel>& ch, uint64_t version) {
  auto plant = v1::PlantService::NewStub(ch);
  v1::GetConfigRequest req;
  req.set_version(version);
  v1::GetConfigResponse resp;
  auto st = plant->GetConfig(context(opt).get(), req, &resp);
  if (!st.ok())
    return fail_call(opt, st);
  if (opt.json)
    std::cout << plantd::services::to_json(resp.config());
  else
    print_config_summary(resp);
  return exit_code::ok;
}

int cmd_config_validate(const options& opt, const std::shared_ptr<grpc::Channel>& ch,
                        const std::string& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    std::cerr << fmt::format("plantctl: cannot read {}\n", file);
    return exit_code::usage;
  }
  std::ostringstream text;
  text << in.rdbuf();
  v1::ValidateConfigRequest req;
  req.set_config_json(text.str());
  v1::ValidateConfigResponse resp;
  auto plant = v1::PlantService::NewStub(ch);
  auto st = plant->ValidateConfig(context(opt).get(), req, &resp);
  if (!st.ok())
    return fail_call(opt, st);
  if (opt.json) {
    std::cout << json_of(resp);
  } else if (resp.valid()) {
    std::cout << fmt::format("{}: valid\n", file);
  } else {
    for (const auto& p : resp.problems())
      std::cout << fmt::format("{}: {}{}\n", file,
                               p.field_path().empty() ? "" : p.field_path() + ": ", p.message());
    std::cout << fmt::format("{}: {} problem{}\n", file, resp.problems_size(),
                             resp.problems_size() == 1 ? "" : "s");
  }
  return resp.valid() ? exit_code::ok : exit_code::no;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"plantctl — command-line client of plantd"};
  app.set_version_flag("--version", plantd::plantd_version);
  app.require_subcommand(1);
  options opt;
  if (const char* env = std::getenv("PLANTD_TARGET"))
    opt.target = env;
  else if (::access("/run/plantd/plantd.sock", F_OK) == 0)
    opt.target = "unix:/run/plantd/plantd.sock";
  app
    .add_option("--target", opt.target, "plantd address HOST:PORT or unix:PATH (env PLANTD_TARGET)")
    ->capture_default_str();
  plantd::apps::connection conn;
  app.add_option("--token", conn.token,
                 "Session or API token (env PLANTD_TOKEN; default: the "
                 "one saved by plantctl login for the target)");
  app
    .add_option("--ca", conn.ca_file,
                "Use TLS and trust this CA (PEM), e.g. plantd's own "
                "server.crt")
    ->check(CLI::ExistingFile);
  app.add_flag("--tls", conn.tls, "Use TLS (always on for a non-loopback address)");
  app.add_flag("--json", opt.json, "Print JSON for scripts");
  app.add_option("--timeout", opt.timeout_s, "Seconds to wait for an answer")
    ->check(CLI::PositiveNumber)
    ->capture_default_str();

  auto* status = app.add_subcommand("status", "Health and identity of plantd");
  auto* config = app.add_subcommand("config", "The plant configuration");
  config->require_subcommand(1);
  auto* get = config->add_subcommand("get", "Show the configuration plantd runs with");
  auto* validate = config->add_subcommand("validate", "Check a config file against plantd");
  std::string file;
  validate->add_option("FILE", file, "Config file (JSON)")->required();
  uint64_t get_version = 0;
  get->add_option("--version", get_version, "A stored version (config history)");
  std::string change_comment;
  auto* apply = config->add_subcommand("apply", "Run a whole config file, live (a new version)");
  uint64_t apply_base = 0;
  apply->add_option("FILE", file, "Config file (JSON)")->required();
  apply->add_option("--base", apply_base,
                    "The version the file was made from: refused if another change came since");
  apply->add_option("--comment", change_comment, "Why (kept with the version)");
  auto* set = config->add_subcommand("set", "Change one setting, live (a new version)");
  std::string set_path;
  std::string set_value;
  set->add_option("PATH", set_path, "e.g. policies.export_limit.limit_w, cabinets[2].modbus.host")
    ->required();
  set->add_option("VALUE", set_value, "A number, true/false, text, an enum name; JSON for a list")
    ->required();
  set->add_option("--comment", change_comment, "Why (kept with the version)");
  auto* history_cmd = config->add_subcommand("history", "The stored config versions");
  int history_last = 20;
  history_cmd->add_option("--last", history_last, "How many, newest first")
    ->check(CLI::Range(1, 1000))
    ->capture_default_str();
  auto* diff = config->add_subcommand("diff", "What changed between two versions");
  uint64_t diff_from = 0;
  uint64_t diff_to = 0;
  diff->add_option("FROM", diff_from, "A stored version")->required();
  diff->add_option("TO", diff_to, "Another (default: the one in force)");
  auto* rollback = config->add_subcommand("rollback", "Run a stored version again, live");
  uint64_t rollback_version = 0;
  rollback->add_option("VERSION", rollback_version, "The version to restore")->required();
  rollback->add_option("--comment", change_comment, "Why (kept with the version)");

  auto* watch =
    app.add_subcommand("watch", "A live line: PV, grid, load, battery, SOC, mode, rule");
  int watch_count = 0;
  watch->add_option("--count", watch_count, "Stop after N updates (0: until Ctrl-C)");
  auto* mode = app.add_subcommand("mode", "The working mode");
  mode->require_subcommand(1);
  auto* mode_set = mode->add_subcommand("set", "Switch the working mode");
  std::string mode_name;
  std::string mode_template;
  mode_set->add_option("MODE", mode_name, "self-consumption or tou")
    ->required()
    ->check(CLI::IsMember({"self-consumption", "tou"}));
  mode_set->add_option("--template", mode_template, "TOU weekly template (JSON, TouTemplate)");
  auto* commission = app.add_subcommand(
    "commission", "Check the site before handover: devices, grid-meter CT, PV sign, clock");
  plantd::apps::commission_args com;
  commission->add_option("--test-kw", com.test_kw,
                         "Battery step of the CT test in kW (default: 10 % of rated)");
  commission->add_flag("--skip-ct-test", com.skip_ct, "Do not move the battery");
  commission->add_flag("--last", com.last, "Show the last report instead of running");
  commission->add_option("--version", com.version,
                         "With --last: the last report made under this config version");
  commission->add_option("--out", com.out, "Write the report to this file too: FILE.xlsx, or JSON");
  auto* time_cmd = app.add_subcommand("time", "The unit's clock (for a site without NTP)");
  time_cmd->require_subcommand(1);
  auto* time_set = time_cmd->add_subcommand("set", "Set the unit's clock to this machine's");
  std::string time_at;
  time_set->add_option("--at", time_at, "This time instead (RFC 3339)");
  auto* setpoint = app.add_subcommand("setpoint", "A manual battery setpoint with expiry");
  std::string sp_power;
  std::string sp_for = "15m";
  setpoint->add_option("KW", sp_power, "kW, > 0 discharge, < 0 charge; or clear")->required();
  setpoint->add_option("--for", sp_for, "How long it holds: 90s, 15m, 2h")->capture_default_str();

  auto* hist = app.add_subcommand("history", "A recorded series (no series: list them)");
  std::string hist_series;
  std::string hist_since = "1h";
  std::string hist_resolution = "auto";
  hist->add_option("SERIES", hist_series, "e.g. plant.grid_w, cabinet.C01.soc_percent");
  hist->add_option("--since", hist_since, "How far back: 15m, 6h, 7d")->capture_default_str();
  hist->add_option("--resolution", hist_resolution, "auto, raw, 5m, hour, day, month, year")
    ->capture_default_str();

  auto* exp = app.add_subcommand("export", "Recorded series to a CSV or .xlsx file");
  std::vector<std::string> exp_series;
  std::string exp_since = "1d";
  std::string exp_resolution = "hour";
  std::string exp_format = "csv";
  std::string exp_out;
  exp->add_option("SERIES", exp_series, "One or more series")->required();
  exp->add_option("--since", exp_since, "How far back: 15m, 6h, 7d")->capture_default_str();
  exp->add_option("--resolution", exp_resolution, "raw, 5m, hour, day, month, year")
    ->capture_default_str();
  exp->add_option("--format", exp_format, "csv or xlsx")
    ->check(CLI::IsMember({"csv", "xlsx"}))
    ->capture_default_str();
  exp->add_option("-o,--output", exp_out, "Output file")->required();

  auto* curve_cmd = app.add_subcommand("curve", "Energy per day/week/month/year/total");
  std::string curve_period = "day";
  std::string curve_since = "7d";
  curve_cmd->add_option("PERIOD", curve_period, "day, week, month, year or total")
    ->check(CLI::IsMember({"day", "week", "month", "year", "total"}))
    ->capture_default_str();
  curve_cmd->add_option("--since", curve_since, "How far back: 7d, 365d")->capture_default_str();
  auto* stats_cmd = app.add_subcommand("stats", "Overview, revenue and social contribution");
  std::string stats_period = "day";
  std::string stats_since = "7d";
  stats_cmd->add_option("--period", stats_period, "Revenue per day, month or year")
    ->check(CLI::IsMember({"day", "month", "year"}))
    ->capture_default_str();
  stats_cmd->add_option("--since", stats_since, "How far back: 7d, 365d")->capture_default_str();

  auto* energy_cmd =
    app.add_subcommand("energy", "Energy-carbon: tree, import/export, entries, reports");
  energy_cmd->require_subcommand(1);
  plantd::apps::energy_args en;
  auto* en_tree = energy_cmd->add_subcommand("tree", "The tree with its meters and indicators");
  auto* en_export = energy_cmd->add_subcommand(
    "export", "The whole model as JSON, or as a workbook to fill in (-o FILE.xlsx)");
  en_export->add_option("-o,--output", en.file, "File (default: stdout); .xlsx: the workbook");
  en_export->add_option("--language", en.language, "The workbook's headers: zh or en")
    ->check(CLI::IsMember({"zh", "en"}));
  auto* en_import = energy_cmd->add_subcommand(
    "import", "Replace the whole model from JSON, or create and update records from a workbook");
  en_import->add_option("FILE", en.file, "JSON as written by export, or a .xlsx workbook")
    ->required();
  en_import->add_flag("--dry-run", en.dry_run, "A workbook: check every row, change nothing");
  auto* en_enter =
    energy_cmd->add_subcommand("enter", "A daily value of a manual indicator or a product");
  en_enter->add_option("ID", en.id, "Indicator or product id")->required();
  en_enter->add_option("DATE", en.date, "YYYY-MM-DD")->required();
  en_enter->add_option("VALUE", en.value, "In the indicator's unit")->required();
  auto* en_entries = energy_cmd->add_subcommand(
    "entries",
    "Daily entries and production from a CSV or .xlsx sheet (date,id,value or a column per id)");
  en_entries->add_option("FILE", en.file, "A .csv or .xlsx file")
    ->required()
    ->check(CLI::ExistingFile);
  en_entries->add_option("--note", en.note, "For entries without a note of their own");
  auto* en_audit =
    energy_cmd->add_subcommand("audit", "Who changed what, with the record before and after");
  en_audit->add_option("--last", en.last, "The newest this many")->capture_default_str();
  auto* en_report =
    energy_cmd->add_subcommand("report", "Values of a unit's indicators per period");
  en_report->add_option("NODE", en.node, "Unit or meter id")->required();
  en_report->add_option("--resolution", en.resolution, "hour, day, month or year")
    ->check(CLI::IsMember({"hour", "day", "month", "year"}))
    ->capture_default_str();
  en_report->add_option("--from", en.from, "YYYY-MM-DD, YYYY-MM or YYYY")->required();
  en_report->add_option("--to", en.to, "Inclusive (default: from)");
  en_report->add_option("--format", en.format, "csv or xlsx (default: a table)")
    ->check(CLI::IsMember({"csv", "xlsx"}));
  en_report->add_option("-o,--output", en.file, "File for csv/xlsx (default: stdout)");

  auto* alarms_cmd = app.add_subcommand("alarms", "Alarms (all by default)");
  bool alarms_open = false;
  bool alarms_closed = false;
  std::string alarms_device;
  alarms_cmd->add_flag("--open", alarms_open, "Only open alarms");
  alarms_cmd->add_flag("--closed", alarms_closed, "Only cleared alarms");
  alarms_cmd->add_option("--device", alarms_device, "Only this device");
  auto* ack = app.add_subcommand("ack", "Acknowledge an alarm");
  uint64_t ack_id = 0;
  ack->add_option("ID", ack_id, "Alarm id")->required();

  auto* device = app.add_subcommand("device", "Talk to a device directly (commissioning)");
  device->require_subcommand(1);
  auto* read = device->add_subcommand("read", "Read every point of one device and print it");
  plantd::apps::device_read_args dev_args;
  read->add_option("--pointtable", dev_args.pointtable, "Point table name, e.g. chint-dtsu666")
    ->required();
  read->add_option("--pointtables", dev_args.tables_dir, "Directory of extra point tables");
  auto* tcp = read->add_option("--tcp", dev_args.tcp, "Modbus TCP device or gateway HOST:PORT");
  auto* rtu = read->add_option("--rtu", dev_args.rtu, "Serial device for Modbus RTU");
  tcp->excludes(rtu);
  read->add_option("--baud", dev_args.baud, "RTU baud rate")->capture_default_str();
  read->add_option("--parity", dev_args.parity, "RTU parity N, E or O")
    ->check(CLI::IsMember({"N", "E", "O"}))
    ->capture_default_str();
  read->add_option("--data-bits", dev_args.data_bits, "RTU data bits")->capture_default_str();
  read->add_option("--stop-bits", dev_args.stop_bits, "RTU stop bits")->capture_default_str();
  read->add_option("--unit", dev_args.unit, "Modbus unit id")->required();

  plantd::apps::access_args acc;
  auto* login = app.add_subcommand("login", "Log in and keep the session token (0600)");
  login->add_option("USER", acc.name)->required();
  login->add_flag("--password-stdin", acc.password_stdin, "Read the password from stdin");
  auto* logout = app.add_subcommand("logout", "End the saved session");
  auto* whoami = app.add_subcommand("whoami", "Who plantd thinks you are");
  auto* bootstrap = app.add_subcommand("bootstrap", "The first installer account, from the "
                                                    "installer code plantd printed");
  bootstrap->add_option("CODE", acc.code)->required();
  bootstrap->add_option("USER", acc.name)->required();
  bootstrap->add_flag("--password-stdin", acc.password_stdin, "Read the password from stdin");
  auto* users = app.add_subcommand("users", "Accounts (installers: the site's people; "
                                            "distributors: installers)");
  auto* users_add = users->add_subcommand("add", "Create an account");
  users_add->add_option("USER", acc.name)->required();
  users_add->add_option("--role", acc.role, "viewer, owner, energy-manager, installer, distributor")
    ->required();
  users_add->add_flag("--password-stdin", acc.password_stdin, "Read the password from stdin");
  auto* users_disable = users->add_subcommand("disable", "Disable an account (its sessions end)");
  users_disable->add_option("USER", acc.name)->required();
  auto* users_enable = users->add_subcommand("enable", "Enable an account again");
  users_enable->add_option("USER", acc.name)->required();
  auto* tokens = app.add_subcommand("tokens", "API tokens for machines");
  auto* tokens_create = tokens->add_subcommand("create", "Create one (printed once)");
  tokens_create->add_option("NAME", acc.name)->required();
  tokens_create->add_option("--role", acc.role, "viewer, owner, energy-manager or service")
    ->required();
  tokens_create->add_option("--days", acc.days, "Valid for N days (default: no expiry)");
  auto* tokens_revoke = tokens->add_subcommand("revoke", "Revoke one by its id");
  tokens_revoke->add_option("ID", acc.id)->required();
  auto* code_cmd =
    app.add_subcommand("installer-code", "A one-time code for one installer account");
  code_cmd->add_option("--days", acc.days, "Valid for N days (default 7)");
  auto* audit = app.add_subcommand("audit", "Who changed what, newest first");
  audit->add_option("--last", acc.last, "At most N records")->capture_default_str();
  audit->add_option("--principal", acc.principal, "Only this principal (user:NAME, token:NAME)");
  audit->add_option("--method", acc.method, "Only methods containing this");
  audit->add_flag("--refused", acc.refused, "Only refused calls");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_code::ok : exit_code::usage;
  }
  if (read->parsed()) {
    if (dev_args.tcp.empty() && dev_args.rtu.empty()) {
      std::cerr << "plantctl: device read needs --tcp HOST:PORT or --rtu DEVICE\n";
      return exit_code::usage;
    }
    dev_args.json = opt.json;
    dev_args.timeout_s = opt.timeout_s;
    return plantd::apps::device_read(dev_args);
  }
  conn.target = opt.target;
  if (conn.token.empty())
    if (const char* env = std::getenv("PLANTD_TOKEN"))
      conn.token = env;
  if (conn.token.empty() && !login->parsed() && !bootstrap->parsed())
    conn.token = plantd::apps::saved_token(opt.target);
  auto channel = plantd::apps::open_channel(conn);
  plantd::apps::control_opts copts{opt.target, opt.json, opt.timeout_s};
  for (auto [cmd, name] : {std::pair{login, "login"},
                           {logout, "logout"},
                           {whoami, "whoami"},
                           {bootstrap, "bootstrap"},
                           {users, "users"},
                           {tokens, "tokens"},
                           {code_cmd, "installer-code"},
                           {audit, "audit"}})
    if (cmd->parsed()) {
      acc.action = name;
      acc.sub = users_add->parsed() || tokens_create->parsed()
                  ? (users_add->parsed() ? "add" : "create")
                : users_disable->parsed() ? "disable"
                : users_enable->parsed()  ? "enable"
                : tokens_revoke->parsed() ? "revoke"
                                          : "list";
      return plantd::apps::access(copts, conn, channel, acc);
    }
  if (curve_cmd->parsed())
    return plantd::apps::curve(copts, channel, curve_period, curve_since);
  if (energy_cmd->parsed()) {
    en.action = en_tree->parsed()      ? "tree"
                : en_export->parsed()  ? "export"
                : en_import->parsed()  ? "import"
                : en_enter->parsed()   ? "enter"
                : en_entries->parsed() ? "entries"
                : en_report->parsed()  ? "report"
                : en_audit->parsed()   ? "audit"
                                       : "";
    return plantd::apps::energy(copts, channel, en);
  }
  if (stats_cmd->parsed())
    return plantd::apps::stats(copts, channel, stats_period, stats_since);
  if (exp->parsed())
    return plantd::apps::export_series(copts, channel, exp_series, exp_since, exp_resolution,
                                       exp_format, exp_out);
  if (alarms_cmd->parsed())
    return plantd::apps::list_alarms(copts, channel,
                                     alarms_open     ? "open"
                                     : alarms_closed ? "closed"
                                                     : "all",
                                     alarms_device);
  if (ack->parsed())
    return plantd::apps::ack_alarm(copts, channel, ack_id);
  if (hist->parsed())
    return plantd::apps::history(copts, channel, hist_series, hist_since, hist_resolution);
  if (watch->parsed())
    return plantd::apps::watch(copts, channel, watch_count);
  if (mode_set->parsed())
    return plantd::apps::set_mode(copts, channel, mode_name, mode_template);
  if (setpoint->parsed())
    return plantd::apps::set_setpoint(copts, channel, sp_power, sp_for);
  if (commission->parsed())
    return plantd::apps::commission(copts, channel, com);
  if (time_set->parsed())
    return plantd::apps::set_time(copts, channel, time_at);
  if (status->parsed())
    return cmd_status(opt, channel);
  if (get->parsed())
    return cmd_config_get(opt, channel, get_version);
  if (apply->parsed())
    return plantd::apps::config_apply(copts, channel, file, apply_base, change_comment);
  if (set->parsed())
    return plantd::apps::config_set(copts, channel, set_path, set_value, change_comment);
  if (history_cmd->parsed())
    return plantd::apps::config_history(copts, channel, history_last);
  if (diff->parsed())
    return plantd::apps::config_diff(copts, channel, diff_from, diff_to);
  if (rollback->parsed())
    return plantd::apps::config_rollback(copts, channel, rollback_version, change_comment);
  if (validate->parsed())
    return cmd_config_validate(opt, channel, file);
  return exit_code::usage;
}
