// Message types exchanged between actors, with their CAF inspectors.
#pragma once

#include "model/common/errc.hpp"

#include <functional>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "model/common/clock.hpp"
#include "model/common/problem.hpp"
#include "model/common/quality.hpp"
#include "model/plant/config.hpp"

namespace plantd {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, problem& x) {
  return f(caf::meta::type_name("problem"), x.path, x.message);
}

}  // namespace plantd

namespace plantd::actors {

// The configuration plantd runs with. Shared and never modified: a new
// configuration is a new snapshot.
struct config_snapshot {
  std::shared_ptr<const plant::config> config;
  uint64_t version = 0;
  time_point applied_at{};
};

// Who made a configuration change, and from what.
struct change_info {
  std::string by;       // the caller's principal ("local:ingrid", "user:ana")
  std::string origin;   // "file", "apply", "patch", "mode", "rollback"
  std::string comment;  // the caller's words, if any
  // The version the change was made from: refused (aborted) when another
  // change came in between. 0: applied on top of whatever runs.
  uint64_t based_on = 0;
  uint64_t rollback_of = 0;  // origin "rollback": the version restored
};

// The device actors a configuration change started, restarted (changed
// address, table, rating, polling) and stopped.
struct device_changes {
  std::vector<std::string> started;
  std::vector<std::string> restarted;
  std::vector<std::string> stopped;
};

// What a configuration change did.
struct apply_result {
  config_snapshot before;  // the version it replaced
  config_snapshot after;   // the version now in force
  device_changes devices;
  // Field paths whose new values take effect at the next start only.
  std::vector<std::string> at_restart;
};

// Identity and uptime of this plantd.
struct plant_info {
  std::string version;
  std::string role;
  std::string site_name;
  uint32_t cabinet_count = 0;
  uint64_t config_version = 0;
  int64_t started_at_ms = 0;  // since the Unix epoch, UTC
  int64_t uptime_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plant_info& x) {
  return f(caf::meta::type_name("plant_info"), x.version, x.role, x.site_name, x.cabinet_count,
           x.config_version, x.started_at_ms, x.uptime_ms);
}

class energy_book;

// A request for the energy actor: runs on its book, answers bytes (code ok)
// or an error code and message.
struct energy_request {
  std::function<std::pair<errc, std::string>(energy_book&)> run;
};

class energy_unit;
struct unit_slice;

// A new input of the formula graph, written by an energy unit and applied
// by the energy supervisor: an hour of a meter indicator (index = hours
// since 1970-01-01 00:00 civil) or a day of a manual indicator or product
// (index = days since 1970-01-01).
struct leaf_update {
  std::string id;
  bool hourly = false;
  int64_t index = 0;
  double value = 0;
  quality q = quality::measured;
  reading before;  // hourly: the stored value it replaces (missing = none)
};

// The answer of a unit request: bytes (code ok) or an error code and
// message, and the inputs of the graph it changed.
struct unit_answer {
  errc code = errc::ok;
  std::string bytes;
  std::vector<leaf_update> updates;
};

// A request for the energy unit of one tree node. `target` is an indicator,
// product or meter id; the supervisor routes the request to the unit of the
// node it belongs to. The answer is given once the graph has the updates.
struct unit_request {
  std::string target;
  std::function<unit_answer(energy_unit&)> run;
};

}  // namespace plantd::actors
