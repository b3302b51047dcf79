// Register maps as data. A point table (drivers/pointtables/NAME.json) names
// every point of one device model: function code, address, type, word order,
// scale to engineering units, unit, access, and optional enum / bit labels.
// See drivers/pointtables/README.md for the file format.
//
// engineering value = raw value * scale, in the point's unit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/alarms/alarm_book.hpp"
#include "model/common/problem.hpp"
#include "model/common/quality.hpp"

namespace plantd::pointtables {

// text: ASCII, two characters per register, high byte first, padded with
// NULs or spaces (serial numbers, model names); read on demand, never polled.
enum class value_type : uint8_t { boolean, u16, s16, u32, s32, f32, text };
enum class word_order : uint8_t { big, little };  // big: high word first
// wo: write-only (never read; some devices refuse reads of command registers).
enum class access : uint8_t { ro, rw, wo };

const char* to_string(value_type t) noexcept;

// Registers (or bits) one value of `t` occupies (text: see point::width).
constexpr uint16_t width(value_type t) noexcept {
  return (t == value_type::u32 || t == value_type::s32 || t == value_type::f32) ? 2 : 1;
}

// A text point's length, in registers.
constexpr uint16_t max_text_registers = 64;

struct point {
  std::string name;
  uint8_t fc = 3;  // 1 coils, 2 discrete inputs, 3 holding, 4 input registers
  uint16_t address = 0;
  value_type type = value_type::u16;
  enum word_order word_order = word_order::big;
  double scale = 1.0;
  std::string unit;
  enum access access = access::ro;
  uint8_t write_fc = 16;  // 16 (write multiple) or 6 (write single register)
  std::string description;
  std::map<int64_t, std::string> enum_labels;  // value -> label
  std::map<int, std::string> bit_labels;       // bit 0..31 -> label
  // The alarm a set bit raises (points with bit labels): "info",
  // "warning" (the default), "major" or "critical".
  alarms::severity severity = alarms::severity::warning;
  uint16_t registers = 0;  // text points: their length (1..max_text_registers)

  uint16_t width() const noexcept {
    return type == value_type::text ? registers : pointtables::width(type);
  }
  uint16_t end() const noexcept { return static_cast<uint16_t>(address + width()); }
};

struct table {
  std::string name;
  std::string title;
  std::string source;            // the public document the map follows
  uint16_t max_gap = 125;        // largest run of unmapped registers one read may span
  uint16_t max_registers = 125;  // per read request (some meters accept fewer)
  std::vector<point> points;

  // Index of the point called `name`, or nullopt.
  std::optional<std::size_t> index_of(std::string_view name) const noexcept;
};

// Parses and checks a table file's text. Problems name the point and field
// ("points[3].type: unknown type \"f64\"").
std::variant<table, problems> parse_table(std::string_view json_text);

// -- reading ---------------------------------------------------------------------

// One request of a read plan: [address, address + count) with function code fc,
// covering the points listed.
struct read_request {
  uint8_t fc = 3;
  uint16_t address = 0;
  uint16_t count = 0;
  std::vector<std::size_t> points;  // indices into table::points
};

// The fewest requests that read every readable point of `t` (greedy over
// sorted addresses per function code, which is optimal for this covering
// problem): at most t.max_registers registers / 2000 bits each, spanning
// unmapped runs of at most t.max_gap registers. Write-only and text points
// are left out (text is read on demand: see read_text_request).
std::vector<read_request> plan_reads(const table& t);

// Raw registers of one point -> engineering value. f32 NaN or infinity, or a
// value that the scale takes beyond a double's range, gives quality invalid.
reading decode(const point& p, const uint16_t* regs) noexcept;

// Engineering value -> the point's registers (rounded, clamped to the type's
// range). A text point gives its registers all zero.
std::vector<uint16_t> encode(const point& p, double value);

// A text point's registers -> its text: two bytes a register, high byte
// first, cut at the first NUL, trailing spaces removed. A byte that is not
// printable ASCII gives nullopt (the registers are not text).
std::optional<std::string> decode_text(const point& p, const uint16_t* regs);

// Text -> a text point's registers: cut to the point's length, padded
// with NULs.
std::vector<uint16_t> encode_text(const point& p, std::string_view text);

// "running" for a point with enum labels, "overvoltage|fan fault" for bit
// labels, "" otherwise.
std::string label(const point& p, double value);

}  // namespace plantd::pointtables
