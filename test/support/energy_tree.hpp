// A large energy-carbon tree for tests and benches (energy_bench's shape):
// the plant, 10 branches, 100 workshops each, 49 pieces of equipment each
// (about 50,000 units); every unit has its electricity indicator, units
// above equipment add standard coal, equipment has an electricity meter.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "plantd/v1/energy.pb.h"

namespace plantd::test {

inline void add_unit(v1::EnergyModel& m, const std::string& id, const std::string& parent,
                     const char* kind, int level) {
  auto* n = m.add_nodes();
  n->set_id(id);
  n->set_name(id);
  n->set_kind(kind);
  n->set_parent(parent);
  n->set_metering_level(level);
  bool equipment = std::string_view{kind} == "equipment";
  auto* e = m.add_indicators();
  e->set_id(id + ".e");
  e->set_name("Electricity");
  e->set_template_id("electricity_use");
  e->set_owner(id);
  e->set_source("formula");
  e->set_formula(equipment ? "#" + id + ".m.v" : "sum_children(electricity_use)");
  if (!equipment) {
    auto* t = m.add_indicators();
    t->set_id(id + ".tce");
    t->set_name("Standard coal");
    t->set_template_id("standard_coal");
    t->set_owner(id);
    t->set_source("formula");
    t->set_formula("#" + id + ".e * coal(electricity)");
    return;
  }
  auto* mt = m.add_meters();
  mt->set_id(id + ".m");
  mt->set_name("meter");
  mt->set_energy_type("electricity");
  mt->set_node(id);
  mt->set_metering_level(3);
  auto* v = m.add_indicators();
  v->set_id(id + ".m.v");
  v->set_name("Reading");
  v->set_template_id("active_energy");
  v->set_owner(id + ".m");
  v->set_source("meter");
}

// Adds the whole tree to `m` (which holds the seeded reference data).
inline void add_large_tree(v1::EnergyModel& m) {
  add_unit(m, "plant", "", "plant", 1);
  for (int b = 0; b < 10; ++b) {
    auto bid = fmt::format("b{}", b);
    add_unit(m, bid, "plant", "branch", 2);
    for (int w = 0; w < 100; ++w) {
      auto wid = fmt::format("{}w{}", bid, w);
      add_unit(m, wid, bid, "workshop", 2);
      for (int e = 0; e < 49; ++e)
        add_unit(m, fmt::format("{}e{}", wid, e), wid, "equipment", 3);
    }
  }
}

}  // namespace plantd::test
