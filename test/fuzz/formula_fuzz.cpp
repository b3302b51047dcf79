// Fuzzes the indicator formula language (model/energy/formula.hpp).
// Any bytes are formula text: parse_formula, and on success canonical(),
// which must parse again to the same canonical text (when the formula has no
// [path], whose unresolved form is not formula syntax). The text is also
// compiled against a small enterprise model (resolution of #ids, [paths] and
// "names", type check), and a compiled formula printed both ways.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/energy/formula.hpp"
#include "model/energy/model.hpp"

using namespace plantd;
using namespace plantd::energy;

namespace {

void must(const energy::result& r) {
  if (!r) {
    std::fprintf(stderr, "fuzz setup: %s\n", r.error().message().c_str());
    std::abort();
  }
}

node make_node(const char* id, const char* name, node_kind k, const char* parent, int level) {
  node n;
  n.id = id;
  n.name = name;
  n.kind = k;
  n.parent = parent;
  n.metering_level = static_cast<uint8_t>(level);
  return n;
}

meter make_meter(const char* id, const char* name, const char* et, const char* owner) {
  meter m;
  m.id = id;
  m.name = name;
  m.energy_type = et;
  m.node = owner;
  m.metering_level = 2;
  return m;
}

indicator ind(const char* id, const char* name, const char* tpl, const char* owner, source_kind s,
              const char* formula = "") {
  indicator i;
  i.id = id;
  i.name = name;
  i.template_id = tpl;
  i.owner = owner;
  i.source = s;
  i.formula = formula;
  return i;
}

// A plant with a branch and a boiler room, electricity, water and gas meters,
// and formula indicators of several units (kWh, m3, kgce, currency).
const model& example() {
  static const model m = [] {
    model m = seeded_model();
    price p;
    p.flat = 0.8;
    m.energy_types.at("electricity").prices = {p};
    must(m.put_node(make_node("plant", "Plant", node_kind::plant, "", 1)));
    must(m.put_node(make_node("b1", "Branch 1", node_kind::branch, "plant", 2)));
    must(m.put_node(make_node("boiler", "Boiler room", node_kind::workshop, "plant", 2)));
    must(m.put_meter(make_meter("m_e0", "Incoming electricity", "electricity", "plant")));
    must(m.put_meter(make_meter("m_w0", "Incoming water", "water", "plant")));
    must(m.put_meter(make_meter("m_g2", "Boiler gas", "natural_gas", "boiler")));
    must(m.put_meter(make_meter("m_e1", "B1 electricity", "electricity", "b1")));
    must(m.put_indicator(ind("m_e0.v", "Reading", "active_energy", "m_e0", source_kind::meter)));
    must(m.put_indicator(ind("m_w0.v", "Reading", "water_flow", "m_w0", source_kind::meter)));
    must(m.put_indicator(ind("m_g2.v", "Reading", "gas_flow", "m_g2", source_kind::meter)));
    must(m.put_indicator(ind("m_e1.v", "Reading", "active_energy", "m_e1", source_kind::meter)));
    must(m.put_indicator(
      ind("p.elec", "Electricity", "electricity_use", "plant", source_kind::formula, "#m_e0.v")));
    must(m.put_indicator(ind("p.gas", "Gas", "gas_use", "plant", source_kind::formula,
                             "[Plant/Boiler room/Boiler gas:Reading]")));
    must(m.put_indicator(ind("p.tce", "Standard coal", "standard_coal", "plant",
                             source_kind::formula, "#p.elec * coal(electricity)")));
    must(m.put_indicator(ind("p.cost", "Cost", "cost", "plant", source_kind::formula,
                             "#p.elec * price(electricity)")));
    must(m.put_indicator(
      ind("b1.elec", "Electricity", "electricity_use", "b1", source_kind::formula, "#m_e1.v")));
    return m;
  }();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto r = parse_formula(text);
  if (r) {
    std::string c = canonical(**r);
    if (text.find('[') == std::string_view::npos) {
      auto again = parse_formula(c);
      if (!again || canonical(**again) != c) {
        std::fprintf(stderr, "canonical text does not parse back: \"%s\" -> %s\n", c.c_str(),
                     again ? canonical(**again).c_str() : again.error().text().c_str());
        std::abort();
      }
    }
  }
  const model& m = example();
  static const char* const targets[] = {"p.tce", "p.elec", "p.cost", "b1.elec"};
  const indicator& target = m.indicators.at(targets[size % 4]);
  if (auto c = compile_formula(text, m, target)) {
    (void)canonical(**c);
    (void)display(**c, m);
    (void)dependencies(**c, m, target);
  }
  return 0;
}
