#include "drivers/pointtables/point_table.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "model/common/json.hpp"

namespace plantd::pointtables {

const char* to_string(value_type t) noexcept {
  switch (t) {
    case value_type::boolean: return "bool";
    case value_type::u16: return "u16";
    case value_type::s16: return "s16";
    case value_type::u32: return "u32";
    case value_type::s32: return "s32";
    case value_type::f32: return "f32";
    case value_type::text: return "string";
  }
  return "?";
}

std::optional<std::size_t> table::index_of(std::string_view n) const noexcept {
  for (std::size_t i = 0; i < points.size(); ++i)
    if (points[i].name == n)
      return i;
  return std::nullopt;
}

namespace {

class reader {
public:
  problems out;

  void fail(const std::string& path, const json::value& at, std::string text) {
    out.push_back({path, fmt::format("{} (line {})", text, at.line())});
  }

  void check_keys(const std::string& path, const json::value& obj,
                  std::initializer_list<std::string_view> allowed) {
    for (const auto& [k, v] : obj.as_object())
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        fail(path.empty() ? k : path + "." + k, v, fmt::format("unknown field \"{}\"", k));
  }

  std::optional<std::string> text(const std::string& path, const json::value& obj,
                                  std::string_view key, bool required) {
    const auto* v = obj.find(key);
    auto p = path.empty() ? std::string{key} : path + "." + std::string{key};
    if (!v) {
      if (required)
        fail(p, obj, "is required");
      return std::nullopt;
    }
    if (!v->is_string()) {
      fail(p, *v, fmt::format("must be a string, got {}", v->type_name()));
      return std::nullopt;
    }
    return v->as_string();
  }

  std::optional<double> number(const std::string& path, const json::value& obj,
                               std::string_view key) {
    const auto* v = obj.find(key);
    if (!v)
      return std::nullopt;
    if (!v->is_number()) {
      fail(path + "." + std::string{key}, *v,
           fmt::format("must be a number, got {}", v->type_name()));
      return std::nullopt;
    }
    return v->as_number();
  }

  // A number, or a string "0x2006" / "8198".
  std::optional<uint16_t> address(const std::string& path, const json::value& obj) {
    const auto* v = obj.find("address");
    auto p = path + ".address";
    if (!v) {
      fail(p, obj, "is required");
      return std::nullopt;
    }
    long long x = -1;
    if (v->is_number()) {
      // Range first: converting 1e66 to an integer is undefined behaviour.
      double d = v->as_number();
      if (std::floor(d) == d && d >= 0 && d <= 0xFFFF)
        x = static_cast<long long>(d);
    } else if (v->is_string()) {
      const auto& s = v->as_string();
      char* end = nullptr;
      x = std::strtoll(s.c_str(), &end, 0);
      if (s.empty() || *end != '\0')
        x = -1;
    }
    if (x < 0 || x > 0xFFFF) {
      fail(p, *v, "must be 0..65535 (a number, or a string like \"0x2006\")");
      return std::nullopt;
    }
    return static_cast<uint16_t>(x);
  }
};

std::optional<value_type> type_from(std::string_view s) {
  if (s == "bool")
    return value_type::boolean;
  if (s == "u16")
    return value_type::u16;
  if (s == "s16")
    return value_type::s16;
  if (s == "u32")
    return value_type::u32;
  if (s == "s32")
    return value_type::s32;
  if (s == "f32")
    return value_type::f32;
  if (s == "string")
    return value_type::text;
  return std::nullopt;
}

std::optional<word_order> order_from(std::string_view s) {
  if (s == "big")
    return word_order::big;
  if (s == "little")
    return word_order::little;
  return std::nullopt;
}

}  // namespace

std::variant<table, problems> parse_table(std::string_view json_text) {
  auto parsed = json::parse(json_text);
  if (auto* err = std::get_if<json::syntax_error>(&parsed))
    return problems{{"", fmt::format("malformed JSON at line {}, column {}: {}", err->line,
                                     err->column, err->message)}};
  const auto& doc = std::get<json::value>(parsed);
  reader rd;
  if (!doc.is_object())
    return problems{{"", "a point table is a JSON object"}};
  rd.check_keys("", doc,
                {"name", "title", "source", "word_order", "max_gap", "max_registers", "points"});
  table t;
  t.name = rd.text("", doc, "name", true).value_or("");
  t.title = rd.text("", doc, "title", false).value_or("");
  t.source = rd.text("", doc, "source", true).value_or("");
  auto default_order = word_order::big;
  if (auto s = rd.text("", doc, "word_order", false)) {
    if (auto o = order_from(*s))
      default_order = *o;
    else
      rd.fail("word_order", *doc.find("word_order"), "must be \"big\" or \"little\"");
  }
  if (auto g = rd.number("", doc, "max_gap")) {
    if (*g < 0 || *g > 125 || std::floor(*g) != *g)
      rd.fail("max_gap", *doc.find("max_gap"), "must be an integer 0..125");
    else
      t.max_gap = static_cast<uint16_t>(*g);
  }
  if (auto m = rd.number("", doc, "max_registers")) {
    if (*m < 1 || *m > 125 || std::floor(*m) != *m)
      rd.fail("max_registers", *doc.find("max_registers"), "must be an integer 1..125");
    else
      t.max_registers = static_cast<uint16_t>(*m);
  }
  const auto* pts = doc.find("points");
  if (!pts || !pts->is_array() || pts->as_array().empty()) {
    rd.out.push_back({"points", "is required: a non-empty array of points"});
    return rd.out;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < pts->as_array().size(); ++i) {
    const auto& pv = pts->as_array()[i];
    auto path = fmt::format("points[{}]", i);
    if (!pv.is_object()) {
      rd.fail(path, pv, "must be an object");
      continue;
    }
    rd.check_keys(path, pv,
                  {"name", "fc", "address", "type", "word_order", "scale", "unit", "access",
                   "write_fc", "description", "enum", "bits", "registers", "severity"});
    point p;
    p.word_order = default_order;
    p.name = rd.text(path, pv, "name", true).value_or("");
    if (!p.name.empty() && !names.insert(p.name).second)
      rd.fail(path + ".name", pv, fmt::format("duplicate point name \"{}\"", p.name));
    auto fc = rd.number(path, pv, "fc");
    if (!fc)
      rd.fail(path + ".fc", pv, "is required (1, 2, 3 or 4)");
    else if (*fc != 1 && *fc != 2 && *fc != 3 && *fc != 4)
      rd.fail(path + ".fc", *pv.find("fc"), fmt::format("must be 1, 2, 3 or 4, got {}", *fc));
    else
      p.fc = static_cast<uint8_t>(*fc);
    if (auto a = rd.address(path, pv))
      p.address = *a;
    bool bit_fc = p.fc == 1 || p.fc == 2;
    if (auto s = rd.text(path, pv, "type", !bit_fc)) {
      if (auto ty = type_from(*s))
        p.type = *ty;
      else
        rd.fail(path + ".type", *pv.find("type"),
                fmt::format("unknown type \"{}\" (bool, u16, s16, u32, s32, f32, string)", *s));
    } else if (bit_fc) {
      p.type = value_type::boolean;
    }
    if (auto n = rd.number(path, pv, "registers")) {
      if (p.type != value_type::text)
        rd.fail(path + ".registers", *pv.find("registers"),
                "only string points have a length in registers");
      else if (*n < 1 || *n > max_text_registers || std::floor(*n) != *n)
        rd.fail(path + ".registers", *pv.find("registers"),
                fmt::format("must be an integer 1..{}", max_text_registers));
      else
        p.registers = static_cast<uint16_t>(*n);
    } else if (p.type == value_type::text) {
      rd.fail(path + ".registers", pv,
              "is required for a string point: its length in registers (two characters each)");
      p.registers = 1;
    }
    if (static_cast<uint32_t>(p.address) + p.width() > 0x10000)
      rd.fail(path + ".address", pv,
              fmt::format("a {} point takes {} registers: it must start at 0..{}",
                          to_string(p.type), p.width(), 0x10000 - p.width()));

    if (bit_fc != (p.type == value_type::boolean))
      rd.fail(path + ".type", pv,
              bit_fc ? "function codes 1 and 2 read bits: the type must be bool"
                     : "bool points are read with function code 1 or 2");
    if (auto s = rd.text(path, pv, "word_order", false)) {
      if (auto o = order_from(*s))
        p.word_order = *o;
      else
        rd.fail(path + ".word_order", *pv.find("word_order"), "must be \"big\" or \"little\"");
    }
    if (auto sc = rd.number(path, pv, "scale")) {
      // A scale outside 1e-6..1e6 (either sign) is a typo: no register map
      // needs one, and a huge one turns an f32 reading into infinity.
      if (!std::isfinite(*sc) || std::abs(*sc) < 1e-6 || std::abs(*sc) > 1e6)
        rd.fail(path + ".scale", *pv.find("scale"),
                "must be a finite number other than 0, of size 1e-6 to 1e6");
      else
        p.scale = *sc;
    }
    p.unit = rd.text(path, pv, "unit", false).value_or("");
    p.description = rd.text(path, pv, "description", false).value_or("");
    if (auto s = rd.text(path, pv, "access", false)) {
      if (*s == "rw")
        p.access = access::rw;
      else if (*s == "wo")
        p.access = access::wo;
      else if (*s != "ro")
        rd.fail(path + ".access", *pv.find("access"), "must be \"ro\", \"rw\" or \"wo\"");
    }
    if (auto w = rd.number(path, pv, "write_fc")) {
      if (*w != 6 && *w != 16)
        rd.fail(path + ".write_fc", *pv.find("write_fc"), "must be 6 or 16");
      else if (*w == 6 && p.width() != 1)
        rd.fail(path + ".write_fc", *pv.find("write_fc"),
                "function code 6 writes one register; this point has two");
      else
        p.write_fc = static_cast<uint8_t>(*w);
    }
    if (p.type == value_type::text
        && (p.access != access::ro || (pv.find("scale") != nullptr) || pv.find("enum")
            || pv.find("bits")))
      rd.fail(path + ".type", pv, "a string point is read-only, with no scale or labels");
    if (p.access != access::ro && (p.fc == 2 || p.fc == 4))
      rd.fail(path + ".access", pv,
              "discrete inputs (fc 2) and input registers (fc 4) cannot be written");
    for (auto key : {"enum", "bits"}) {
      const auto* labels = pv.find(key);
      if (!labels)
        continue;
      if (!labels->is_object()) {
        rd.fail(path + "." + key, *labels, "must be an object of \"value\": \"label\"");
        continue;
      }
      for (const auto& [k, v] : labels->as_object()) {
        char* end = nullptr;
        long long n = std::strtoll(k.c_str(), &end, 0);
        bool key_ok = !k.empty() && *end == '\0';
        bool is_bits = std::string_view{key} == "bits";
        if (!key_ok || (is_bits && (n < 0 || n >= 16 * p.width())) || !v.is_string()) {
          rd.fail(path + "." + key + "." + k, v,
                  is_bits ? "bit labels map a bit number of the value to a string"
                          : "enum labels map an integer value to a string");
          continue;
        }
        if (is_bits)
          p.bit_labels[static_cast<int>(n)] = v.as_string();
        else
          p.enum_labels[n] = v.as_string();
      }
    }
    if (auto sev = rd.text(path, pv, "severity", false)) {
      if (p.bit_labels.empty())
        rd.fail(path + ".severity", *pv.find("severity"),
                "only points with bit labels raise alarms, and so have a severity");
      else if (*sev == "info")
        p.severity = alarms::severity::info;
      else if (*sev == "warning")
        p.severity = alarms::severity::warning;
      else if (*sev == "major")
        p.severity = alarms::severity::major;
      else if (*sev == "critical")
        p.severity = alarms::severity::critical;
      else
        rd.fail(path + ".severity", *pv.find("severity"),
                "must be \"info\", \"warning\", \"major\" or \"critical\"");
    }
    t.points.push_back(std::move(p));
  }
  // Overlaps within one function code's address space.
  for (std::size_t i = 0; i < t.points.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      const auto& a = t.points[i];
      const auto& b = t.points[j];
      if (a.fc == b.fc && a.address < b.end() && b.address < a.end())
        rd.out.push_back(
          {fmt::format("points[{}].address", i),
           fmt::format("\"{}\" (fc {}, 0x{:04X}..0x{:04X}) overlaps \"{}\" "
                       "(points[{}], 0x{:04X}..0x{:04X})",
                       a.name, a.fc, a.address, a.end() - 1, b.name, j, b.address, b.end() - 1)});
    }
  if (!rd.out.empty())
    return rd.out;
  return t;
}

std::vector<read_request> plan_reads(const table& t) {
  std::vector<read_request> plan;
  for (uint8_t fc : {1, 2, 3, 4}) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < t.points.size(); ++i)
      if (t.points[i].fc == fc && t.points[i].access != access::wo
          && t.points[i].type != value_type::text)
        idx.push_back(i);
    std::sort(idx.begin(), idx.end(),
              [&](auto a, auto b) { return t.points[a].address < t.points[b].address; });
    const uint32_t max_count = (fc <= 2) ? 2000 : t.max_registers;
    const uint32_t max_gap = (fc <= 2) ? 2000 : t.max_gap;
    read_request cur;
    for (auto i : idx) {
      const auto& p = t.points[i];
      uint32_t cur_end = static_cast<uint32_t>(cur.address) + cur.count;
      bool fits = !cur.points.empty() && p.address >= cur_end && p.address - cur_end <= max_gap
                  && static_cast<uint32_t>(p.end()) - cur.address <= max_count;
      if (!fits) {
        if (!cur.points.empty())
          plan.push_back(std::move(cur));
        cur = read_request{fc, p.address, 0, {}};
      }
      cur.count = static_cast<uint16_t>(p.end() - cur.address);
      cur.points.push_back(i);
    }
    if (!cur.points.empty())
      plan.push_back(std::move(cur));
  }
  return plan;
}

namespace {

uint32_t join(const point& p, const uint16_t* regs) noexcept {
  return p.word_order == word_order::big ? (static_cast<uint32_t>(regs[0]) << 16) | regs[1]
                                         : (static_cast<uint32_t>(regs[1]) << 16) | regs[0];
}

}  // namespace

reading decode(const point& p, const uint16_t* regs) noexcept {
  double raw = 0;
  switch (p.type) {
    case value_type::boolean: raw = regs[0] != 0 ? 1 : 0; break;
    case value_type::u16: raw = regs[0]; break;
    case value_type::s16: raw = static_cast<int16_t>(regs[0]); break;
    case value_type::u32: raw = join(p, regs); break;
    case value_type::s32: raw = static_cast<int32_t>(join(p, regs)); break;
    case value_type::f32: {
      float f = std::bit_cast<float>(join(p, regs));
      if (!std::isfinite(f))
        return {0, quality::invalid};
      raw = f;
      break;
    }
    case value_type::text: return {0, quality::invalid};  // not a number
  }
  double value = raw * p.scale;
  if (!std::isfinite(value))  // a scale that overflows the raw value
    return {0, quality::invalid};
  return {value, quality::measured};
}

std::vector<uint16_t> encode(const point& p, double value) {
  double raw = value / p.scale;
  auto clamp_round = [&](double lo, double hi) {
    if (!std::isfinite(raw))
      return 0.0;
    return std::clamp(std::round(raw), lo, hi);
  };
  uint32_t word = 0;
  switch (p.type) {
    case value_type::boolean: return {static_cast<uint16_t>(raw != 0 ? 1 : 0)};
    case value_type::u16: return {static_cast<uint16_t>(clamp_round(0, 65535))};
    case value_type::s16:
      return {static_cast<uint16_t>(static_cast<int16_t>(clamp_round(-32768, 32767)))};
    case value_type::u32: word = static_cast<uint32_t>(clamp_round(0, 4294967295.0)); break;
    case value_type::s32:
      word = static_cast<uint32_t>(static_cast<int32_t>(clamp_round(-2147483648.0, 2147483647.0)));
      break;
    case value_type::f32: word = std::bit_cast<uint32_t>(static_cast<float>(raw)); break;
    case value_type::text: return std::vector<uint16_t>(p.registers, 0);
  }
  auto hi = static_cast<uint16_t>(word >> 16);
  auto lo = static_cast<uint16_t>(word & 0xFFFF);
  if (p.word_order == word_order::big)
    return {hi, lo};
  return {lo, hi};
}

std::optional<std::string> decode_text(const point& p, const uint16_t* regs) {
  std::string out;
  out.reserve(2U * p.registers);
  for (uint16_t i = 0; i < p.registers; ++i)
    for (int shift : {8, 0}) {
      auto c = static_cast<unsigned char>((regs[i] >> shift) & 0xFF);
      if (c == 0) {
        while (!out.empty() && out.back() == ' ')
          out.pop_back();
        return out;
      }
      if (c < 0x20 || c > 0x7E)
        return std::nullopt;
      out.push_back(static_cast<char>(c));
    }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::vector<uint16_t> encode_text(const point& p, std::string_view text) {
  std::vector<uint16_t> regs(p.registers, 0);
  for (std::size_t i = 0; i < text.size() && i < 2U * p.registers; ++i)
    regs[i / 2] |= static_cast<uint16_t>(static_cast<unsigned char>(text[i]) << (i % 2 ? 0 : 8));
  return regs;
}

std::string label(const point& p, double value) {
  auto raw = static_cast<int64_t>(std::llround(value / p.scale));
  if (!p.enum_labels.empty()) {
    auto it = p.enum_labels.find(raw);
    return it != p.enum_labels.end() ? it->second : fmt::format("unknown ({})", raw);
  }
  std::string out;
  for (const auto& [bit, name] : p.bit_labels)
    if ((static_cast<uint64_t>(raw) >> bit) & 1U)
      out += (out.empty() ? "" : "|") + name;
  return out;
}

}  // namespace plantd::pointtables
