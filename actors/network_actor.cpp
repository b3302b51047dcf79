#include "actors/network_actor.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/type_ids.hpp"
#include "drivers/os/hook.hpp"

namespace plantd::actors {

namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The last non-empty line of a hook's output, for the alarm's text.
std::string last_line(std::string_view out) {
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' '))
    out.remove_suffix(1);
  auto nl = out.find_last_of('\n');
  auto line = nl == std::string_view::npos ? out : out.substr(nl + 1);
  return std::string{line.substr(0, 200)};
}

}  // namespace

std::string network_settings_json(const plant::networks& n, uint64_t config_version) {
  std::string dns;
  for (const auto& d : n.net2.dns)
    dns += (dns.empty() ? "" : ", ") + json_string(d);
  return fmt::format(
    "{{\"config_version\": {},\n"
    " \"net2\": {{\"dhcp\": {}, \"address\": {}, \"gateway\": {}, \"dns\": [{}]}},\n"
    " \"cellular\": {{\"enabled\": {}, \"apn\": {}, \"user\": {}, \"password\": {}}},\n"
    " \"bluetooth\": {{\"enabled\": {}, \"name\": {}}}}}\n",
    config_version, n.net2.dhcp, json_string(n.net2.address), json_string(n.net2.gateway), dns,
    n.cellular.enabled, json_string(n.cellular.apn), json_string(n.cellular.user),
    json_string(n.cellular.password), n.bluetooth.enabled, json_string(n.bluetooth.name));
}

network_api::behavior_type network_actor(network_api::pointer self, network_actor_args args) {
  struct ctx {
    network_actor_args a;
    std::optional<plant::networks> applied;  // what the last successful run applied
    std::optional<plant::networks> failed;   // what the last failed run tried
    std::chrono::steady_clock::time_point retry_at{};
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  auto report = [self, c](std::vector<alarms::condition> conds) {
    if (c->a.alarms)
      self->send(c->a.alarms, store_atom_v, std::string{"network"}, std::move(conds));
  };
  self->send(self, tick_atom_v);
  return {
    [self, c, report](tick_atom) {
      self->delayed_send(self, c->a.period, tick_atom_v);
      auto snap = c->a.view ? c->a.view->snapshot() : config_snapshot{};
      if (!snap.config)
        return;
      const auto& n = snap.config->networks;
      if (n.apply_hook.empty()) {
        if (c->failed)
          report({});
        c->applied.reset();
        c->failed.reset();
        return;
      }
      if (c->applied == n)
        return;
      if (c->failed == n && std::chrono::steady_clock::now() < c->retry_at)
        return;
      auto r = os::run_hook(n.apply_hook, network_settings_json(n, snap.version), c->a.timeout);
      if (r.ok()) {
        spdlog::info("network settings of config version {} applied by {}", snap.version,
                     n.apply_hook);
        c->applied = n;
        if (c->failed)
          report({});
        c->failed.reset();
        return;
      }
      auto why = !r.started ? fmt::format("cannot be run: {}", r.error)
                 : r.timed_out
                   ? fmt::format("did not finish within {} s", c->a.timeout.count() / 1000)
                   : fmt::format("exited {}", r.exit_code);
      auto line = last_line(r.output);
      auto text = fmt::format("the network settings of config version {} are not applied: {} {}{}",
                              snap.version, n.apply_hook, why, line.empty() ? "" : ": " + line);
      spdlog::warn("{}", text);
      c->applied.reset();
      c->failed = n;
      c->retry_at = std::chrono::steady_clock::now() + c->a.retry;
      report({{"network_settings", "plant", alarms::severity::warning, text}});
    },
  };
}

}  // namespace plantd::actors
