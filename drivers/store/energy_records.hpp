// The energy-carbon records in the store's energy and audit families: the
// one place their keys and values are written and read. Keys sort as their
// records should be read: an id's hours by hour, a day's entries by the
// order they were made, a meter's readings by time.
//
//   hour/<id>/<hour hex16>           an hour of a meter indicator (hours
//                                    since 1970-01-01 00:00 civil) -> value \n quality
//   entry/<id>/<YYYY-MM-DD>/<seq hex16>
//                                    a daily entry (manual indicator or
//                                    production) -> value \n entered ms \n who \n note
//   reading/<meter>/<time hex16>     a meter's reading log -> "r <counter> <prev>"
//                                    or "s <old final> <new initial> <prev>" (a swap)
//   counter/<meter>                  the meter's last counter -> time ms \n counter
//   model-journal/<seq hex16>        the energy model's changes since its document
//   audit: energy/<time hex16>/<seq hex16>
//                                    who \n what [\n before \n after]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <absl/time/civil_time.h>

#include "model/common/quality.hpp"

namespace plantd::store::energy_records {

// 16 lower-case hex digits: numbers in keys that sort as numbers.
std::string hex16(uint64_t v);

// Hours of meter indicators.
inline constexpr std::string_view all_hours = "hour/";
std::string hours_of(std::string_view id);
std::string hour_key(std::string_view id, int64_t index);
std::string encode_hour(const reading& r);
std::optional<reading> decode_hour_value(std::string_view value);
struct hour_record {
  std::string_view id;  // into the key
  int64_t index = 0;
  reading r;
  absl::CivilHour hour() const { return absl::CivilHour(1970, 1, 1, 0) + index; }
};
std::optional<hour_record> decode_hour(std::string_view key, std::string_view value);

// Daily entries of manual indicators and production.
inline constexpr std::string_view all_entries = "entry/";
struct daily_entry {
  std::string id;
  absl::CivilDay day;
  double value = 0;
  std::string who;
  int64_t entered_ms = 0;
  std::string note;
  bool superseded = false;  // a later entry of the same day replaces it (not stored)
};
std::string entries_of(std::string_view id);
std::string entries_of(std::string_view id, absl::CivilDay day);
std::string entry_key(std::string_view id, absl::CivilDay day, uint64_t seq);
// The YYYY-MM-DD of a day in entry keys.
std::string day_text(absl::CivilDay day);
std::string encode_entry(const daily_entry& e);
std::optional<daily_entry> decode_entry(std::string_view key, std::string_view value);
// The sequence number an entry key ends with (0 when it has none).
uint64_t entry_seq(std::string_view key);

// A meter's reading log, and its last counter.
struct logged_reading {
  int64_t t = 0;
  double in = 0, out = 0;  // a swap: the old meter's final and the new one's initial counter
  int64_t prev = 0;        // the time of the reading before it (-1: a seed, none known)
  bool swap = false;
};
inline constexpr std::string_view all_readings = "reading/";
std::string readings_of(std::string_view meter);
std::string reading_key(std::string_view meter, int64_t t_ms);
int64_t reading_time(std::string_view key);
std::string encode_reading(const logged_reading& e);
std::optional<logged_reading> decode_reading(int64_t t_ms, std::string_view value);
std::string counter_key(std::string_view meter);
std::string encode_counter(int64_t t_ms, double counter);
std::optional<std::pair<int64_t, double>> decode_counter(std::string_view value);

// The energy model's journal of changes.
inline constexpr std::string_view all_journal = "model-journal/";
std::string journal_key(uint64_t seq);
std::optional<uint64_t> journal_seq(std::string_view key);

// The audit of the energy model and its entries.
inline constexpr std::string_view all_audit = "energy/";
std::string audit_key(int64_t t_ms, uint64_t seq);
struct audit_entry {
  int64_t time_ms = 0;
  std::string who, what, before, after;
};
std::optional<audit_entry> decode_audit(std::string_view key, std::string_view value);
// One field a line: a newline in who or what never breaks the record.
std::string audit_record(std::string_view who, std::string_view what, std::string_view before = {},
                         std::string_view after = {});

}  // namespace plantd::store::energy_records
