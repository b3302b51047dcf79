#include "apps/plantctl/control_cmds.hpp"
#include "apps/plantctl/common.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <absl/time/time.h>

#include "plantd/v1/control.grpc.pb.h"
#include "plantd/v1/plant_service.grpc.pb.h"

namespace plantd::apps {

namespace v1 = plantd::v1;

namespace {

int fail(const control_opts& o, const grpc::Status& st) {
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE
      || st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    std::cerr << fmt::format("plantctl: cannot reach plantd at {}: {}\n", o.target,
                             st.error_message());
  else
    std::cerr << fmt::format("plantctl: {}\n", st.error_message());
  return st.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 1 : 3;
}

std::string kw(const v1::Value& v) {
  if (v.quality() == v1::QUALITY_MISSING || v.quality() == v1::QUALITY_STALE
      || v.quality() == v1::QUALITY_UNSPECIFIED)
    return "  --  ";
  return fmt::format("{:6.1f}", v.value() / 1000);
}

const char* mode_name(v1::WorkingMode m) {
  return m == v1::WORKING_MODE_TIME_OF_USE ? "TOU" : "self-consumption";
}

std::string line(const v1::PlantState& s, const absl::TimeZone& tz) {
  auto clock = absl::FormatTime(
    "%H:%M:%S",
    absl::FromUnixMillis(google::protobuf::util::TimeUtil::TimestampToMilliseconds(s.time())), tz);
  std::string soc = s.soc_percent().quality() == v1::QUALITY_MEASURED
                      ? fmt::format("{:5.1f} %", s.soc_percent().value())
                      : "  --   ";
  return fmt::format(
    "{}  PV {} kW | grid {} kW | load {} kW | battery {:6.1f} kW | SOC {} | {} | {}", clock,
    kw(s.pv_w()), kw(s.grid_w()), kw(s.load_w()), s.battery_w() / 1000, soc, mode_name(s.mode()),
    s.binding_rule());
}

}  // namespace

bool print_plant_state(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch) {
  auto stub = v1::ControlService::NewStub(ch);
  v1::PlantState s;
  if (!stub->GetState(context(o).get(), {}, &s).ok())
    return false;
  auto avail = [](const auto& devs) {
    int n = 0;
    for (const auto& d : devs)
      n += d.available() ? 1 : 0;
    return fmt::format("{}/{}", n, devs.size());
  };
  std::cout << fmt::format("  mode      {} (bound by {})\n", mode_name(s.mode()), s.binding_rule())
            << fmt::format("  power     PV {} kW, grid {} kW, load {} kW, battery {:.1f} kW\n",
                           kw(s.pv_w()), kw(s.grid_w()), kw(s.load_w()), s.battery_w() / 1000)
            << fmt::format("  SOC       {:.1f} %\n", s.soc_percent().value())
            << fmt::format("  devices   cabinets {}, inverters {}, grid meter {}\n",
                           avail(s.cabinets()), avail(s.inverters()),
                           s.grid_meter_available() ? "ok" : "NOT AVAILABLE")
            << fmt::format("  why       {}\n", s.explanation());
  for (const auto& c : s.cabinets())
    if (!c.available())
      std::cout << fmt::format("  !         cabinet {} unavailable: {}\n", c.id(), c.error());
  return true;
}

int watch(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, int count) {
  // Times in the site's time zone.
  absl::TimeZone tz = absl::UTCTimeZone();
  {
    v1::GetConfigResponse cfg;
    if (v1::PlantService::NewStub(ch)->GetConfig(context(o).get(), {}, &cfg).ok())
      absl::LoadTimeZone(cfg.config().site().time_zone(), &tz);
  }
  auto stub = v1::ControlService::NewStub(ch);
  grpc::ClientContext ctx;
  auto reader = stub->StreamState(&ctx, {});
  bool tty = isatty(STDOUT_FILENO) && !o.json;
  v1::PlantState s;
  int seen = 0;
  while (reader->Read(&s)) {
    if (o.json)
      std::cout << json_of(s) << "\n";
    else if (tty)
      std::cout << "\r" << line(s, tz) << "\x1b[K" << std::flush;
    else
      std::cout << line(s, tz) << "\n" << std::flush;
    if (count > 0 && ++seen >= count) {
      ctx.TryCancel();
      break;
    }
  }
  auto st = reader->Finish();
  if (tty)
    std::cout << "\n";
  if (count > 0 && seen >= count)
    return 0;
  return st.ok() ? 0 : fail(o, st);
}

int set_mode(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
             const std::string& mode, const std::string& template_file) {
  v1::SetModeRequest req;
  if (mode == "self-consumption")
    req.set_mode(v1::WORKING_MODE_SELF_CONSUMPTION);
  else if (mode == "tou")
    req.set_mode(v1::WORKING_MODE_TIME_OF_USE);
  else {
    std::cerr << "plantctl: mode is self-consumption or tou\n";
    return 2;
  }
  if (!template_file.empty()) {
    std::ifstream in{template_file};
    if (!in) {
      std::cerr << fmt::format("plantctl: cannot read {}\n", template_file);
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto st = google::protobuf::util::JsonStringToMessage(text.str(), req.mutable_tou());
    if (!st.ok()) {
      std::cerr << fmt::format("plantctl: {}: {}\n", template_file, std::string{st.message()});
      return 2;
    }
  }
  auto stub = v1::ControlService::NewStub(ch);
  v1::SetModeResponse resp;
  auto st = stub->SetMode(context(o).get(), req, &resp);
  if (!st.ok())
    return fail(o, st);
  std::cout << fmt::format("mode: {}\n", mode);
  return 0;
}

int set_setpoint(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                 const std::string& power, const std::string& duration) {
  v1::SetManualSetpointRequest req;
  if (power != "clear") {
    char* end = nullptr;
    double kw_value = std::strtod(power.c_str(), &end);
    if (power.empty() || *end != '\0') {
      std::cerr << "plantctl: setpoint is a power in kW (> 0 discharge) or \"clear\"\n";
      return 2;
    }
    auto seconds = parse_duration_s(duration);
    if (!seconds || *seconds < 1) {
      std::cerr << "plantctl: --for takes a duration like 90s, 15m or 2h\n";
      return 2;
    }
    req.set_power_w(kw_value * 1000);
    req.set_duration_s(static_cast<uint32_t>(*seconds));
  }
  auto stub = v1::ControlService::NewStub(ch);
  v1::SetManualSetpointResponse resp;
  auto st = stub->SetManualSetpoint(context(o).get(), req, &resp);
  if (!st.ok())
    return fail(o, st);
  if (power == "clear")
    std::cout << "manual setpoint cleared\n";
  else
    std::cout << fmt::format("manual setpoint {} kW for {}\n", power, duration);
  return 0;
}

}  // namespace plantd::apps
