#include "model/access/access.hpp"

#include <algorithm>

namespace plantd::access {

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::viewer: return "viewer";
    case role::owner: return "owner";
    case role::energy_manager: return "energy_manager";
    case role::installer: return "installer";
    case role::distributor: return "distributor";
    case role::service: return "service";
    case role::local: return "local";
  }
  return "unknown";
}

std::optional<role> parse_role(std::string_view name) noexcept {
  for (auto r : all_roles)
    if (to_string(r) == name)
      return r;
  return std::nullopt;
}

std::string_view to_string(permission p) noexcept {
  switch (p) {
    case permission::open: return "open";
    case permission::session: return "session";
    case permission::monitor: return "monitor";
    case permission::config_read: return "config.read";
    case permission::config_write: return "config.write";
    case permission::control: return "control";
    case permission::alarm_ack: return "alarm.ack";
    case permission::energy_read: return "energy.read";
    case permission::energy_write: return "energy.write";
    case permission::accounts: return "accounts";
    case permission::tokens: return "tokens";
    case permission::audit_read: return "audit.read";
    case permission::installer_code: return "installer_code";
  }
  return "unknown";
}

bool grants(role r, permission p) noexcept {
  using enum permission;
  if (p == open || p == session)
    return true;
  switch (r) {
    case role::viewer: return p == monitor || p == config_read || p == energy_read;
    case role::owner:
      return p == monitor || p == config_read || p == energy_read || p == control || p == alarm_ack
             || p == audit_read;
    case role::energy_manager: return p == monitor || p == energy_read || p == energy_write;
    case role::installer:
      return p == monitor || p == config_read || p == config_write || p == control || p == alarm_ack
             || p == energy_read || p == accounts || p == tokens || p == audit_read;
    case role::distributor:
      return p == monitor || p == config_read || p == accounts || p == installer_code
             || p == audit_read;
    case role::service:
      return p == monitor || p == config_read || p == config_write || p == control || p == alarm_ack
             || p == energy_read || p == energy_write || p == audit_read;
    case role::local: return true;
  }
  return false;
}

bool manages(role by, role target) noexcept {
  switch (by) {
    case role::installer:
      return target == role::viewer || target == role::owner || target == role::energy_manager;
    case role::distributor: return target == role::installer;
    case role::local: return target != role::local;
    default: return false;
  }
}

const std::map<std::string, permission, std::less<>>& method_table() {
  using enum permission;
  static const std::map<std::string, permission, std::less<>> table{
    // identity and configuration
    {"/plantd.v1.PlantService/GetInfo", monitor},
    {"/plantd.v1.PlantService/GetConfig", config_read},
    {"/plantd.v1.PlantService/ValidateConfig", config_read},
    {"/plantd.v1.PlantService/ListConfigVersions", config_read},
    {"/plantd.v1.PlantService/DiffConfig", config_read},
    {"/plantd.v1.PlantService/ApplyConfig", config_write},
    {"/plantd.v1.PlantService/PatchConfig", config_write},
    {"/plantd.v1.PlantService/RollbackConfig", config_write},
    {"/plantd.v1.PlantService/Commission", config_write},
    {"/plantd.v1.PlantService/GetCommissionReport", config_read},
    {"/plantd.v1.PlantService/ExportCommissionReport", config_read},
    {"/plantd.v1.PlantService/SetTime", config_write},
    // control
    {"/plantd.v1.ControlService/GetState", monitor},
    {"/plantd.v1.ControlService/StreamState", monitor},
    {"/plantd.v1.ControlService/SetMode", control},
    {"/plantd.v1.ControlService/SetManualSetpoint", control},
    // telemetry and statistics
    {"/plantd.v1.TelemetryService/ListSeries", monitor},
    {"/plantd.v1.TelemetryService/QueryHistory", monitor},
    {"/plantd.v1.TelemetryService/EnergyCurve", monitor},
    {"/plantd.v1.TelemetryService/Export", monitor},
    {"/plantd.v1.TelemetryService/GetSnapshot", monitor},
    {"/plantd.v1.TelemetryService/StreamTelemetry", monitor},
    {"/plantd.v1.StatisticsService/GetOverview", monitor},
    {"/plantd.v1.StatisticsService/GetRevenue", monitor},
    {"/plantd.v1.StatisticsService/GetSocialContribution", monitor},
    {"/plantd.v1.StatisticsService/GetDeviceStatistics", monitor},
    // alarms
    {"/plantd.v1.AlarmService/ListAlarms", monitor},
    {"/plantd.v1.AlarmService/StreamAlarms", monitor},
    {"/plantd.v1.AlarmService/Acknowledge", alarm_ack},
    // energy-carbon
    {"/plantd.v1.EnergyCarbonService/GetModel", energy_read},
    {"/plantd.v1.EnergyCarbonService/ValidateFormula", energy_read},
    {"/plantd.v1.EnergyCarbonService/WhereUsed", energy_read},
    {"/plantd.v1.EnergyCarbonService/ListEntries", energy_read},
    {"/plantd.v1.EnergyCarbonService/Query", energy_read},
    {"/plantd.v1.EnergyCarbonService/ExportReport", energy_read},
    {"/plantd.v1.EnergyCarbonService/GetCoverage", energy_read},
    {"/plantd.v1.EnergyCarbonService/ListAudit", energy_read},
    {"/plantd.v1.EnergyCarbonService/ImportModel", energy_write},
    {"/plantd.v1.EnergyCarbonService/Put", energy_write},
    {"/plantd.v1.EnergyCarbonService/Get", energy_read},
    {"/plantd.v1.EnergyCarbonService/Update", energy_write},
    {"/plantd.v1.EnergyCarbonService/PutMany", energy_write},
    {"/plantd.v1.EnergyCarbonService/Delete", energy_write},
    {"/plantd.v1.EnergyCarbonService/EnterDaily", energy_write},
    {"/plantd.v1.EnergyCarbonService/ImportEntries", energy_write},
    {"/plantd.v1.EnergyCarbonService/ImportModelTable", energy_write},
    {"/plantd.v1.EnergyCarbonService/ExportModelTable", energy_read},
    {"/plantd.v1.EnergyCarbonService/ExportEntries", energy_read},
    {"/plantd.v1.EnergyCarbonService/RecordReading", energy_write},
    {"/plantd.v1.EnergyCarbonService/RecordReadings", energy_write},
    {"/plantd.v1.EnergyCarbonService/StreamReadings", energy_write},
    {"/plantd.v1.EnergyCarbonService/SwapMeter", energy_write},
    // accounts, tokens, audit
    {"/plantd.v1.AccessService/Login", open},
    {"/plantd.v1.AccessService/Bootstrap", open},
    {"/plantd.v1.AccessService/Logout", session},
    {"/plantd.v1.AccessService/WhoAmI", session},
    {"/plantd.v1.AccessService/ChangePassword", session},
    {"/plantd.v1.AccessService/CreateUser", accounts},
    {"/plantd.v1.AccessService/SetUserDisabled", accounts},
    {"/plantd.v1.AccessService/ListUsers", accounts},
    {"/plantd.v1.AccessService/CreateToken", tokens},
    {"/plantd.v1.AccessService/RevokeToken", tokens},
    {"/plantd.v1.AccessService/ListTokens", tokens},
    {"/plantd.v1.AccessService/IssueInstallerCode", installer_code},
    {"/plantd.v1.AuditService/ListAudit", audit_read},
    // offered on loopback-only servers (see services/server.cpp)
    {"/grpc.health.v1.Health/Check", open},
    {"/grpc.health.v1.Health/Watch", open},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", open},
  };
  return table;
}

std::optional<permission> permission_of(std::string_view method) noexcept {
  const auto& t = method_table();
  auto it = t.find(method);
  if (it == t.end())
    return std::nullopt;
  return it->second;
}

bool is_write(permission p) noexcept {
  using enum permission;
  switch (p) {
    case config_write:
    case control:
    case alarm_ack:
    case energy_write:
    case accounts:
    case tokens:
    case installer_code: return true;
    default: return false;
  }
}

throttle::throttle(clock_fn clock)
  : throttle(std::move(clock), limits{}) {}

throttle::throttle(clock_fn clock, limits l)
  : clock_(std::move(clock)),
    limits_(l) {}

std::chrono::seconds throttle::locked_for(std::string_view key) const {
  auto it = keys_.find(key);
  if (it == keys_.end())
    return std::chrono::seconds{0};
  auto now = clock_();
  if (it->second.until <= now)
    return std::chrono::seconds{0};
  return std::chrono::ceil<std::chrono::seconds>(it->second.until - now);
}

void throttle::failed(std::string_view key) {
  auto now = clock_();
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (keys_.size() >= limits_.max_keys) {
      // The oldest key that is not locked goes: flooding the throttle with
      // new names or addresses never frees a lock. All locked: the new key
      // is not remembered (it is one failure short of nothing).
      auto oldest = keys_.end();
      for (auto k = keys_.begin(); k != keys_.end(); ++k)
        if (k->second.until <= now
            && (oldest == keys_.end() || k->second.touched < oldest->second.touched))
          oldest = k;
      if (oldest == keys_.end())
        return;
      keys_.erase(oldest);
    }
    it = keys_.emplace(std::string{key}, entry{}).first;
  }
  auto& e = it->second;
  e.touched = now;
  if (++e.failures < limits_.max_failures)
    return;
  // Locked: lock_for, doubled at each further lock, at most max_lock.
  auto lock = limits_.lock_for;
  for (int i = 0; i < e.locks && lock < limits_.max_lock; ++i)
    lock *= 2;
  lock = std::min(lock, limits_.max_lock);
  e.until = now + lock;
  e.failures = 0;
  ++e.locks;
}

void throttle::succeeded(std::string_view key) {
  auto it = keys_.find(key);
  if (it != keys_.end())
    keys_.erase(it);
}

bool valid_user_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
           || c == '_' || c == '@' || c == '-';
  });
}

std::optional<std::string> password_problem(std::string_view password) {
  if (password.size() < 10)
    return "a password has at least 10 characters";
  if (password.size() > 128)
    return "a password has at most 128 characters";
  return std::nullopt;
}

}  // namespace plantd::access
