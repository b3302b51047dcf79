// A device on a bus, described by its point table: reads every point with the
// fewest requests (the table's read plan) and writes the writable ones by
// name. The typed classes (meter, inverter, cabinet) build on it.
//
// Either on a bus it calls itself (read_all, write), or without one: it
// then only builds requests as data and decodes their answers, for a device
// actor whose line is served by a bus actor (modbus/request.hpp).
//
// Thread: as the bus; one device object is used by one caller at a time.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "drivers/modbus/bus.hpp"
#include "drivers/modbus/request.hpp"
#include "drivers/pointtables/point_table.hpp"

namespace plantd::devices {

// One read of every point. A failed request leaves its points missing and
// is recorded; the other requests still count.
struct snapshot {
  std::vector<reading> values;             // aligned with table::points
  std::optional<modbus::failure> failure;  // the first failed request, if any
  std::size_t requests = 0;
  std::size_t failed_requests = 0;

  bool complete() const noexcept { return failed_requests == 0; }
};

// A set bit of a point with bit labels (fault and alarm words).
struct flag {
  std::string point;
  int bit = 0;
  std::string label;
  alarms::severity severity = alarms::severity::warning;  // the point's, from its table
};

class device {
public:
  // `t` and `bus` must outlive the device.
  device(const pointtables::table& t, modbus::register_bus& bus, uint8_t unit);
  // Without a bus: requests and decoding only (`t` must outlive it).
  device(const pointtables::table& t, uint8_t unit);

  // The read plan's requests, and one read decoded from their answers (in
  // the same order, at least as many).
  const std::vector<modbus::request>& read_requests() const noexcept { return reads_; }
  snapshot decode(std::span<const modbus::answer> answers) const;

  // On the device's bus: the read plan, run and decoded.
  snapshot read_all();

  // The request writing `value` (engineering units) to the writable point
  // `name`; a bad_request when there is no such point or it is read-only.
  modbus::result<modbus::request> write_request(std::string_view name, double value) const;
  // The request reading the string point `name`, and its answer decoded.
  modbus::result<modbus::request> text_request(std::string_view name) const;
  modbus::result<std::string> decode_text(std::string_view name, const modbus::answer& a) const;

  // Reads the string point `name` (one request). A table without it is a
  // bad_request; registers that are not printable ASCII are malformed.
  modbus::result<std::string> read_text(std::string_view name);

  // Writes `value` (engineering units) to the writable point `name`.
  modbus::result<void> write(std::string_view name, double value);

  const pointtables::table& table() const noexcept { return *table_; }
  uint8_t unit() const noexcept { return unit_; }

  // The value of `name` in `s`, or a missing reading when the table has no
  // such point.
  reading value(const snapshot& s, std::string_view name) const;

  // Every set bit of every point with bit labels in `s`.
  std::vector<flag> flags(const snapshot& s) const;

private:
  const pointtables::table* table_;
  modbus::register_bus* bus_;  // null: requests only
  uint8_t unit_;
  std::vector<pointtables::read_request> plan_;
  std::vector<modbus::request> reads_;  // plan_ as requests
};

}  // namespace plantd::devices
