// Alarms: conditions that are true now (a device silent, a fire, a fault
// bit) become alarms with a raised time; when the condition goes away the
// alarm is cleared; an operator acknowledges it. Pure: the caller supplies
// the time and persists the records.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/common/errc.hpp"
#include "model/common/expected.hpp"

namespace plantd::alarms {

enum class severity : uint8_t { info = 1, warning, major, critical };

const char* to_string(severity s) noexcept;

// A condition that holds now; (code, device) identifies it.
struct condition {
  std::string code;    // e.g. "comm_lost", "fire", "cm2-cabinet.bms_fault_word.2"
  std::string device;  // e.g. "C01", "grid-meter", "plant"
  severity level = severity::warning;
  std::string text;
};

struct alarm {
  uint64_t id = 0;
  std::string code;
  std::string device;
  severity level = severity::warning;
  std::string text;
  int64_t raised_ms = 0;
  std::optional<int64_t> cleared_ms;
  std::optional<int64_t> acked_ms;
  std::string acked_by;

  bool open() const noexcept { return !cleared_ms.has_value(); }
};

struct filter {
  enum class which : uint8_t { all, open, closed } state = which::all;
  std::string device;     // empty: any
  uint64_t after_id = 0;  // paging: alarms with a larger id
  std::size_t limit = 100;
};

class alarm_book {
public:
  // Reconciles with the conditions that hold at `t_ms`: raises the new ones,
  // clears the open alarms whose condition is gone. Returns the alarms that
  // changed (to persist and to stream).
  std::vector<alarm> update(const std::vector<condition>& now, int64_t t_ms);

  // An operator acknowledges alarm `id`. not_found for an unknown id.
  expected<alarm, errc> acknowledge(uint64_t id, const std::string& who, int64_t t_ms);

  // Ascending id, `limit` at most, after `after_id`.
  std::vector<alarm> list(const filter& f) const;

  // Alarm `id`, or nullptr.
  const alarm* find(uint64_t id) const {
    auto it = alarms_.find(id);
    return it == alarms_.end() ? nullptr : &it->second;
  }

  // Loads persisted alarms (on start-up); open ones stay open until the next
  // update() finds their condition gone.
  void restore(std::vector<alarm> records);

  std::size_t open_count() const;

private:
  std::map<uint64_t, alarm> alarms_;
  std::map<std::pair<std::string, std::string>, uint64_t> open_;  // (code, device) -> id
  uint64_t next_id_ = 1;
};

}  // namespace plantd::alarms
