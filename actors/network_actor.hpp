// network actor: applies the config's network settings (networks: net2,
// cellular, Bluetooth) to the operating system by running the installer's
// apply hook (networks.apply_hook, set in the config file only) with the
// settings as JSON on its standard input:
//
//   {"config_version": 7,
//    "net2": {"dhcp": false, "address": "192.168.1.10/24", "gateway": "...",
//             "dns": ["..."]},
//    "cellular": {"enabled": true, "apn": "cmnet", "user": "", "password": ""},
//    "bluetooth": {"enabled": false, "name": ""}}
//
// Run at the start and at every change of the settings (read from the
// config in force once a second); exit 0 means applied. A hook that fails,
// cannot run or overruns its 60 s raises the warning "network_settings"
// (with its exit code and last line of output) until a run succeeds; a
// failed run is tried again every 5 minutes. No hook: the settings are
// only kept, and GetInfo / the README say so.
//
// Spawned detached: the hook blocks for as long as it runs.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/alarm_actor.hpp"
#include "actors/config_view.hpp"
#include "model/plant/config.hpp"

namespace plantd::actors {

struct network_actor_args {
  std::shared_ptr<const config_view> view;
  alarm_api alarms;  // receives (store_atom, "network", conditions)
  std::chrono::milliseconds timeout{60'000};
  std::chrono::milliseconds retry{300'000};
  std::chrono::milliseconds period{1'000};
};

// The JSON the hook reads (the cellular password included: the hook needs it).
std::string network_settings_json(const plant::networks& n, uint64_t config_version);

// Its one message is its own tick (once a period): it is told nothing else.
using network_api = caf::typed_actor<caf::reacts_to<tick_atom>>;

network_api::behavior_type network_actor(network_api::pointer self, network_actor_args args);

}  // namespace plantd::actors
