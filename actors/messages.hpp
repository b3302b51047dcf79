// Message types exchanged between actors, with their CAF inspectors.
#pragma once

#include "model/common/errc.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "model/common/clock.hpp"
#include "model/common/problem.hpp"
#include "model/common/quality.hpp"
#include "model/energy/query.hpp"
#include "actors/config_inspect.hpp"
#include "model/plant/config.hpp"

namespace plantd {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, problem& x) {
  return f(caf::meta::type_name("problem"), x.path, x.message);
}

}  // namespace plantd

namespace plantd::energy {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_spec& x) {
  return f(caf::meta::type_name("query_spec"), x.indicators, x.node, x.res, x.first, x.last,
           x.strict);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, version_range& x) {
  return f(caf::meta::type_name("version_range"), x.what, x.version, x.source, x.value,
           x.first_period, x.last_period);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_series& x) {
  return f(caf::meta::type_name("query_series"), x.id, x.error, x.name, x.path, x.unit,
           x.energy_type, x.periods, x.values, x.qualities, x.versions);
}

}  // namespace plantd::energy

namespace plantd::actors {

// The configuration plantd runs with. Shared and never modified: a new
// configuration is a new snapshot.
struct config_snapshot {
  std::shared_ptr<const plant::config> config;
  uint64_t version = 0;
  time_point applied_at{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_snapshot& x) {
  return f(caf::meta::type_name("config_snapshot"), x.config, x.version, x.applied_at);
}

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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_info& x) {
  return f(caf::meta::type_name("change_info"), x.by, x.origin, x.comment, x.based_on,
           x.rollback_of);
}

// The device actors a configuration change started, restarted (changed
// address, table, rating, polling) and stopped.
struct device_changes {
  std::vector<std::string> started;
  std::vector<std::string> restarted;
  std::vector<std::string> stopped;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_changes& x) {
  return f(caf::meta::type_name("device_changes"), x.started, x.restarted, x.stopped);
}

// What a configuration change did.
struct apply_result {
  config_snapshot before;  // the version it replaced
  config_snapshot after;   // the version now in force
  device_changes devices;
  // Field paths whose new values take effect at the next start only.
  std::vector<std::string> at_restart;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, apply_result& x) {
  return f(caf::meta::type_name("apply_result"), x.before, x.after, x.devices, x.at_restart);
}

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

// A query of the energy-carbon indicators, answered by the energy actor's
// graph (and, for hours before the ones it holds, by a graph of stored
// hours).
struct energy_query {
  energy::query_spec spec;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, energy_query& x) {
  return f(caf::meta::type_name("energy_query"), x.spec);
}

// The daily entries of an id ("" = every id) from day `from` to day `to`
// (days since 1970-01-01, inclusive), as stored (also those of ids since
// deleted), oldest first, corrections after what they supersede.
struct entries_request {
  std::string id;
  int64_t from = INT64_MIN, to = INT64_MAX;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entries_request& x) {
  return f(caf::meta::type_name("entries_request"), x.id, x.from, x.to);
}

struct entry_record {
  std::string id;
  int64_t day = 0;  // since 1970-01-01
  double value = 0;
  std::string who;
  int64_t entered_ms = 0;
  std::string note;
  bool superseded = false;  // a later entry of the same day replaces it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry_record& x) {
  return f(caf::meta::type_name("entry_record"), x.id, x.day, x.value, x.who, x.entered_ms, x.note,
           x.superseded);
}

// The entries, and the enterprise's time zone (the times they were entered
// in a file).
struct entries_answer {
  std::vector<entry_record> entries;
  std::string time_zone;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entries_answer& x) {
  return f(caf::meta::type_name("entries_answer"), x.entries, x.time_zone);
}

// Its answer: the series in the order asked, and the enterprise's language
// and time zone (a report's labels and periods).
struct energy_answer {
  std::vector<energy::query_series> series;
  std::string language;
  std::string time_zone;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, energy_answer& x) {
  return f(caf::meta::type_name("energy_answer"), x.series, x.language, x.time_zone);
}

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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, leaf_update& x) {
  return f(caf::meta::type_name("leaf_update"), x.id, x.hourly, x.index, x.value, x.q,
           x.before.value, x.before.quality);
}

// A daily value to enter: a manual indicator's or a product's, for a day
// (days since 1970-01-01).
struct daily_input {
  std::string id;
  int64_t day = 0;
  double value = 0;
  std::string note;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daily_input& x) {
  return f(caf::meta::type_name("daily_input"), x.id, x.day, x.value, x.note);
}

// A meter's counter at a time (ms since the Unix epoch).
struct counter_reading {
  int64_t t_ms = 0;
  double counter = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, counter_reading& x) {
  return f(caf::meta::type_name("counter_reading"), x.t_ms, x.counter);
}

// Work for the energy unit of one tree node, as data. `target` (an
// indicator, product or meter id) routes it: the supervisor hands it to the
// unit of the node the target belongs to. The answer (unit_reply) comes
// once the graph has the inputs the work changed.
struct unit_request {
  enum class op : uint8_t {
    enter_daily,  // `entries`, entered by `who`; each has its outcome
    reading,      // readings[0] of meter `target`; kept in its log when `logged`
    readings,     // `readings` of meter `target`, in the order given (a batch)
    swap,         // meter `target` swapped at t_ms: old_final, new_initial
  };
  op what = op::reading;
  std::string target;
  std::string who;
  std::vector<daily_input> entries;
  std::vector<counter_reading> readings;
  bool logged = true;
  int64_t t_ms = 0;
  double old_final = 0, new_initial = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_request& x) {
  return f(caf::meta::type_name("unit_request"), x.what, x.target, x.who, x.entries, x.readings,
           x.logged, x.t_ms, x.old_final, x.new_initial);
}

// What became of one entry, reading or swap of a unit request.
struct unit_outcome {
  errc code = errc::ok;
  std::string message;  // why, when refused
  // A reading: energy_unit::fate; an entry: whether it replaced one of the
  // same day, and when it was entered.
  uint8_t fate = 0;
  bool correction = false;
  int64_t entered_ms = 0;
  // A reading's or a swap's counter events (energy::counter_event::kind).
  std::vector<uint8_t> events;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_outcome& x) {
  return f(caf::meta::type_name("unit_outcome"), x.code, x.message, x.fate, x.correction,
           x.entered_ms, x.events);
}

// The answer to a unit request: an outcome per entry or reading (one for a
// swap), in the request's order.
struct unit_reply {
  std::vector<unit_outcome> outcomes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_reply& x) {
  return f(caf::meta::type_name("unit_reply"), x.outcomes);
}

// A unit's work done: the reply, and the inputs of the graph it changed
// (for the supervisor).
struct unit_answer {
  unit_reply reply;
  std::vector<leaf_update> updates;
};

}  // namespace plantd::actors
