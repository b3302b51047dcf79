// Who may do what: roles, the permissions each grants, and the one table
// that names the permission every RPC needs. Pure data and rules; the gRPC
// side (services/access_gate) reads it at start and asks it on every call.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace plantd::access {

// Roles, least to most trusted for the site's own people; service is the
// cloud backend or another machine, distributor sits above installers.
enum class role : uint8_t {
  viewer,          // reads everything the owner reads, changes nothing
  owner,           // monitoring, working mode, manual setpoints, alarm acknowledgement
  energy_manager,  // the energy-carbon model, its entries and reports
  installer,       // commissioning: configuration, device reads, accounts below it, API tokens
  distributor,     // installer accounts and installer codes
  service,         // a machine: the cloud backend (mTLS) or an API token
  // Whoever may open plantd's local Unix socket (root or the plantd admin
  // group at the unit's console): every permission, no account. Never
  // given to an account or a token.
  local,
};

inline constexpr std::array all_roles{role::viewer,    role::owner,       role::energy_manager,
                                      role::installer, role::distributor, role::service,
                                      role::local};

std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view name) noexcept;

// What a call needs. `open` needs no credentials (logging in, the one-time
// bootstrap); `session` needs any valid principal.
enum class permission : uint8_t {
  open,
  session,
  monitor,         // state, telemetry, alarms, statistics, identity
  config_read,     // the running configuration (secrets never shown)
  config_write,    // checking and changing the configuration
  control,         // working mode, TOU template, manual setpoints
  alarm_ack,       // acknowledging alarms
  energy_read,     // the energy-carbon model, entries, queries, reports
  energy_write,    // changing the model, entering data, meter readings
  accounts,        // accounts of the roles below the caller's
  tokens,          // API tokens for machines
  audit_read,      // the audit of every change
  installer_code,  // issuing one-time installer codes
};

std::string_view to_string(permission p) noexcept;

bool grants(role r, permission p) noexcept;

// Whether a caller of role `by` may create, disable or list accounts of
// role `target`: installers manage the site's people (owner, viewer,
// energy manager), distributors manage installers, the local console
// manages every account (it makes the first installer on a unit).
bool manages(role by, role target) noexcept;

// The permission each method needs, by its full gRPC name
// ("/plantd.v1.ControlService/SetMode"). A method absent from the table is
// refused: a new RPC must be given its permission here.
std::optional<permission> permission_of(std::string_view method) noexcept;

// Every entry of the table (tests walk it against the descriptor pool).
const std::map<std::string, permission, std::less<>>& method_table();

// Whether a method changes something (its calls are audited).
bool is_write(permission p) noexcept;

// Login throttling, per key (a user name, a peer address): after
// `max_failures` failures in a row a key is locked for `lock_for`, doubled
// at each further lock up to `max_lock`. A success clears the key. The
// clock is injected; at most `max_keys` are remembered (the oldest go
// first), so random names cannot grow it.
class throttle {
public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;
  struct limits {
    int max_failures = 5;
    std::chrono::seconds lock_for{60};
    std::chrono::seconds max_lock{3600};
    std::size_t max_keys = 4096;
  };

  explicit throttle(clock_fn clock);
  throttle(clock_fn clock, limits l);

  // How long `key` stays locked (zero when it may try now).
  std::chrono::seconds locked_for(std::string_view key) const;
  void failed(std::string_view key);
  void succeeded(std::string_view key);
  std::size_t size() const noexcept { return keys_.size(); }

private:
  struct entry {
    int failures = 0;
    int locks = 0;
    std::chrono::steady_clock::time_point until{};
    std::chrono::steady_clock::time_point touched{};
  };
  clock_fn clock_;
  limits limits_;
  std::map<std::string, entry, std::less<>> keys_;
};

// A user name plantd accepts: 1 to 64 of [A-Za-z0-9._@-].
bool valid_user_name(std::string_view name) noexcept;

// A password plantd accepts: 10 to 128 bytes.
std::optional<std::string> password_problem(std::string_view password);

}  // namespace plantd::access
