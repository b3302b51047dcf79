// Fuzzes the point-table loader (drivers/pointtables/point_table.hpp): any
// bytes are a table file's JSON for parse_table. A table that loads is
// planned (plan_reads), and the plan is checked against its contract: every
// readable point in exactly one request of its function code, inside it,
// requests within max_registers (2000 bits for fc 1/2), write-only points
// left out. Each point's value is encoded, decoded and labelled, and the
// table is checked for every device role.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>
#include <vector>

#include "drivers/pointtables/point_table.hpp"
#include "drivers/pointtables/registry.hpp"

using namespace plantd::pointtables;

namespace {

[[noreturn]] void broken(const char* what, std::size_t point) {
  std::fprintf(stderr, "read plan broken: %s (point %zu)\n", what, point);
  std::abort();
}

void check_plan(const table& t, const std::vector<read_request>& plan) {
  std::vector<int> seen(t.points.size(), 0);
  for (const auto& req : plan) {
    const uint32_t max = req.fc <= 2 ? 2000 : t.max_registers;
    if (req.count == 0 || req.count > max)
      broken("request count out of range", req.points.empty() ? 0 : req.points[0]);
    if (static_cast<uint32_t>(req.address) + req.count > 0x10000)
      broken("request runs past register 65535", req.points.empty() ? 0 : req.points[0]);
    for (auto i : req.points) {
      if (i >= t.points.size())
        broken("index out of range", i);
      const auto& p = t.points[i];
      if (p.fc != req.fc)
        broken("point in a request of another function code", i);
      if (p.access == access::wo)
        broken("write-only point read", i);
      if (p.address < req.address
          || static_cast<uint32_t>(p.address) + p.width()
               > static_cast<uint32_t>(req.address) + req.count)
        broken("point outside its request", i);
      ++seen[i];
    }
  }
  for (std::size_t i = 0; i < t.points.size(); ++i)
    if (seen[i]
        != ((t.points[i].access == access::wo || t.points[i].type == value_type::text) ? 0 : 1))
      broken("point not read exactly once", i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto parsed = parse_table(text);
  auto* t = std::get_if<table>(&parsed);
  if (!t)
    return 0;
  check_plan(*t, plan_reads(*t));
  for (const auto& p : t->points) {
    if (p.type == value_type::text) {
      for (std::string_view s :
           {"", "A", "SERIAL-0001", "SERIAL-0001-LONGER-THAN-MOST-STRING-POINTS"}) {
        auto regs = encode_text(p, s);
        if (regs.size() != p.width())
          broken("encode_text gave the wrong number of registers", 0);
        auto back = decode_text(p, regs.data());
        if (!back || *back != s.substr(0, std::min<std::size_t>(s.size(), 2U * p.width())))
          broken("text does not round-trip", 0);
      }
      continue;
    }
    for (double v : {0.0, 1.0, -1.0, 12345.678, 1e12, -1e300}) {
      auto regs = encode(p, v);
      if (regs.size() != p.width())
        broken("encode gave the wrong number of registers", 0);
      auto r = decode(p, regs.data());
      (void)label(p, r.value);
    }
  }
  for (auto role : {"meter", "inverter", "cabinet", "io"})
    (void)role_problems(*t, role);
  return 0;
}
