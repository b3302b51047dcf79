#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include <fmt/format.h>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include "model/energy/counter.hpp"
#include "model/energy/engine.hpp"
#include "model/energy/model.hpp"
#include "model/energy/query.hpp"

using namespace plantd;
using namespace plantd::energy;

namespace {

void ok(const result& r) {
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r);
}

meter make_meter(std::string id, std::string name, std::string et, std::string node, int level) {
  meter m;
  m.id = std::move(id);
  m.name = std::move(name);
  m.energy_type = std::move(et);
  m.node = std::move(node);
  m.metering_level = level;
  return m;
}

node make_node(std::string id, std::string name, node_kind k, std::string parent, int level) {
  node n;
  n.id = std::move(id);
  n.name = std::move(name);
  n.kind = k;
  n.parent = std::move(parent);
  n.metering_level = level;
  return n;
}

indicator ind(std::string id, std::string name, std::string tpl, std::string owner, source_kind s,
              std::string formula = {}) {
  indicator i;
  i.id = std::move(id);
  i.name = std::move(name);
  i.template_id = std::move(tpl);
  i.owner = std::move(owner);
  i.source = s;
  i.formula = std::move(formula);
  return i;
}

// The platform's example enterprise: purchased electricity, water and gas at
// plant level; branch factory 1 on electricity and water; the boiler room on
// gas, water and electricity; equipment meters below them.
model example() {
  model m = seeded_model();
  auto& e = m.energy_types.at("electricity");
  price p;
  p.version = "2026 tariff";
  p.flat = 0.8;
  m.energy_types.at("electricity").prices = {p};  // the seeded example replaced
  p.flat = 4.2;
  m.energy_types.at("water").prices.push_back(p);
  p.flat = 3.5;
  m.energy_types.at("natural_gas").prices.push_back(p);
  (void)e;
  ok(m.put_node(make_node("plant", "Plant", node_kind::plant, "", 1)));
  ok(m.put_node(make_node("b1", "Branch factory 1", node_kind::branch, "plant", 2)));
  ok(m.put_node(make_node("boiler", "Boiler room", node_kind::workshop, "plant", 2)));
  ok(m.put_node(make_node("press", "Press line", node_kind::equipment, "b1", 3)));
  ok(m.put_node(make_node("boiler1", "Boiler 1", node_kind::equipment, "boiler", 3)));
  ok(m.put_meter(make_meter("m_e0", "Incoming electricity", "electricity", "plant", 1)));
  ok(m.put_meter(make_meter("m_w0", "Incoming water", "water", "plant", 1)));
  ok(m.put_meter(make_meter("m_g0", "Incoming gas", "natural_gas", "plant", 1)));
  ok(m.put_meter(make_meter("m_e1", "B1 electricity", "electricity", "b1", 2)));
  ok(m.put_meter(make_meter("m_w1", "B1 water", "water", "b1", 2)));
  ok(m.put_meter(make_meter("m_e2", "Boiler electricity", "electricity", "boiler", 2)));
  ok(m.put_meter(make_meter("m_w2", "Boiler water", "water", "boiler", 2)));
  ok(m.put_meter(make_meter("m_g2", "Boiler gas", "natural_gas", "boiler", 2)));
  ok(m.put_meter(make_meter("m_e11", "Press electricity", "electricity", "press", 3)));
  ok(m.put_meter(make_meter("m_g21", "Boiler 1 gas", "natural_gas", "boiler1", 3)));
  for (auto [mid, tpl] : {std::pair{"m_e0", "active_energy"},
                          {"m_w0", "water_flow"},
                          {"m_g0", "gas_flow"},
                          {"m_e1", "active_energy"},
                          {"m_w1", "water_flow"},
                          {"m_e2", "active_energy"},
                          {"m_w2", "water_flow"},
                          {"m_g2", "gas_flow"},
                          {"m_e11", "active_energy"},
                          {"m_g21", "gas_flow"}})
    ok(m.put_indicator(ind(std::string(mid) + ".v", "Reading", tpl, mid, source_kind::meter)));
  ok(m.put_indicator(
    ind("p.elec", "Electricity", "electricity_use", "plant", source_kind::formula, "#m_e0.v")));
  ok(m.put_indicator(
    ind("p.water", "Water", "water_use", "plant", source_kind::formula, "#m_w0.v")));
  ok(m.put_indicator(ind("p.gas", "Gas", "gas_use", "plant", source_kind::formula, "#m_g0.v")));
  ok(m.put_indicator(
    ind("p.tce", "Standard coal", "standard_coal", "plant", source_kind::formula,
        "#p.elec * coal(electricity) + #p.water * coal(water) + #p.gas * coal(natural_gas)")));
  ok(m.put_indicator(ind("p.co2", "Carbon", "carbon", "plant", source_kind::formula,
                         "#p.elec * co2(electricity) + #p.gas * co2(natural_gas)")));
  ok(m.put_indicator(
    ind("p.cost", "Cost", "cost", "plant", source_kind::formula,
        "#p.elec * price(electricity) + #p.water * price(water) + #p.gas * price(natural_gas)")));
  ok(m.put_indicator(ind("b1.elec", "Electricity", "electricity_use", "b1", source_kind::formula,
                         "[Plant/Branch factory 1/B1 electricity:Reading]")));
  return m;
}

absl::TimeZone shanghai() {
  absl::TimeZone tz;
  REQUIRE(absl::LoadTimeZone("Asia/Shanghai", &tz));
  return tz;
}

absl::Time at(const absl::TimeZone& tz, int y, int mo, int d, int h = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, 0, 0), tz);
}

}  // namespace

TEST_CASE("units: scale and dimension", "[energy]") {
  auto tce = parse_unit("tce");
  REQUIRE(tce);
  CHECK(tce->scale == 1000);
  auto cost = parse_unit("CNY/kWh");
  REQUIRE(cost);
  CHECK(dimension_text(*cost) == "CNY/MJ");
  CHECK(parse_unit("kWh")->same_dimension(*parse_unit("GJ")));
  CHECK_FALSE(parse_unit("kWh")->same_dimension(*parse_unit("m3")));
  CHECK_FALSE(parse_unit("kWh/"));
  CHECK_FALSE(parse_unit("3kWh"));
}

TEST_CASE("formulas: rejected at save with a precise message", "[energy]") {
  model m = example();
  auto try_formula = [&](std::string f) {
    return m.put_indicator(ind("x", "X", "standard_coal", "b1", source_kind::formula, f));
  };
  SECTION("syntax error with its position") {
    auto r = try_formula("#p.elec * (coal(electricity) + ");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::invalid_argument);
    CHECK(r.error().message()
          == "formula: at 32: expected a number, a reference or '(' at end of formula");
    r = try_formula("#p.elec ** 2");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("at 10:") != std::string::npos);
  }
  SECTION("unknown reference") {
    auto r = try_formula("#nope * coal(electricity)");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "formula: at 1: unknown indicator #nope");
    r = try_formula("[Plant/Branch factory 2:Electricity] * coal(electricity)");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("no unit or meter \"Branch factory 2\" under \"Plant\"")
          != std::string::npos);
  }
  SECTION("unit mismatch") {
    auto r = m.put_indicator(
      ind("x", "X", "electricity_use", "b1", source_kind::formula, "#m_e1.v + #m_w1.v"));
    REQUIRE_FALSE(r);
    // The units as the records write them (kWh, t), not their base units (MJ, kg).
    CHECK(r.error().message().find("unit mismatch: kWh of 电力 + t of 水") != std::string::npos);
    r = try_formula("#p.elec");  // kWh is not tce
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("the formula gives kWh of 电力 but indicator \"X\" is in tce")
          != std::string::npos);
    r = try_formula("#p.elec * price(electricity)");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("the formula gives kWh * CNY/kWh but indicator \"X\" is in tce")
          != std::string::npos);
    r = try_formula("2 * #p.elec / coal(electricity)");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("the formula gives kWh / (kgce/kWh) but") != std::string::npos);
  }
  SECTION("energy type mismatch with the same unit") {
    // Water and gas are both volumes when water is in m3.
    auto w = m.energy_types.at("water");
    w.unit = "m3";
    model m2 = seeded_model();
    ok(m2.put_energy_type(w));
    ok(m2.put_node(make_node("plant", "Plant", node_kind::plant, "", 1)));
    ok(m2.put_meter(make_meter("mw", "W", "water", "plant", 1)));
    ok(m2.put_meter(make_meter("mg", "G", "natural_gas", "plant", 1)));
    indicator_template t = m2.templates.at("water_flow");
    t.unit = "m3";
    ok(m2.put_template(t));
    auto wt = m2.templates.at("water_use");
    wt.unit = "m3";
    ok(m2.put_template(wt));
    ok(m2.put_indicator(ind("w", "W", "water_flow", "mw", source_kind::meter)));
    ok(m2.put_indicator(ind("g", "G", "gas_flow", "mg", source_kind::meter)));
    auto r = m2.put_indicator(ind("x", "X", "water_use", "plant", source_kind::formula, "#w + #g"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("energy type mismatch: m3 of 水 + m3 of 天然气")
          != std::string::npos);
    r = m2.put_indicator(
      ind("y", "Y", "standard_coal", "plant", source_kind::formula, "#w * coal(natural_gas)"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("energy type mismatch") != std::string::npos);
  }
  SECTION("cycles, with their path") {
    ok(m.put_indicator(ind("a", "A", "electricity_use", "b1", source_kind::formula, "#m_e1.v")));
    ok(m.put_indicator(ind("b", "B", "electricity_use", "boiler", source_kind::formula, "#a")));
    auto r = m.put_indicator(ind("a", "A", "electricity_use", "b1", source_kind::formula, "#b"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message()
          == "formula: cycle: [Plant/Branch factory 1:A] -> [Plant/Boiler room:B] -> [Plant/Branch "
             "factory 1:A]");
    CHECK(m.indicators.at("a").formula == "#m_e1.v");  // unchanged
    // Through sum_children: the plant sums its children, a child reads the plant.
    ok(m.put_indicator(ind("p.sum", "Children electricity", "electricity_use", "plant",
                           source_kind::formula, "sum_children(electricity_use)")));
    r = m.put_indicator(ind("c", "C", "electricity_use", "press", source_kind::formula, "#p.sum"));
    CHECK(r);  // the press is not a child of the plant
    r = m.put_indicator(ind("d", "D", "electricity_use", "b1", source_kind::formula, "#p.sum"));
    REQUIRE_FALSE(r);
    CHECK(
      r.error().message().find("cycle: [Plant/Branch factory 1:D] -> [Plant:Children electricity]")
      != std::string::npos);
    CHECK_FALSE(m.indicators.count("d"));
  }
}

TEST_CASE("formulas: a huge formula is refused, never a crash", "[energy][bad-input]") {
  // 20,000 terms once overflowed the stack of every recursive walk of the
  // tree (resolve, type, compile, print, destroy): plantd died with SIGSEGV.
  auto chain = [](std::size_t terms, const char* op) {
    std::string f = "1";
    for (std::size_t i = 1; i < terms; ++i)
      f += std::string{op} + "1";
    return f;
  };
  SECTION("20,000 terms (40 KB): refused") {
    auto r = parse_formula(chain(20'000, "+"));
    REQUIRE_FALSE(r);
    CHECK(r.error().text().find("longer than") != std::string::npos);
  }
  SECTION("5,000 terms within the length: refused at the operator limit") {
    auto r = parse_formula(chain(5'000, "+"));
    REQUIRE_FALSE(r);
    CHECK(r.error().text().find("more than 1000 operators") != std::string::npos);
  }
  SECTION("longer than 16 KB: refused before parsing") {
    auto r = parse_formula(std::string(20'000, ' ') + "1");
    REQUIRE_FALSE(r);
    CHECK(r.error().text().find("longer than 16384 characters") != std::string::npos);
  }
  SECTION("deep nesting and long unary chains: refused") {
    CHECK_FALSE(parse_formula(std::string(5'000, '(') + "1" + std::string(5'000, ')')));
    CHECK_FALSE(parse_formula(std::string(5'000, '-') + "1"));
  }
  SECTION("1,000 operators: parsed, checked, saved and printed") {
    auto f = chain(1'001, " * ");
    auto r = parse_formula(f);
    REQUIRE(r);
    CHECK(canonical(**r) == f);
    model m = example();
    std::string g = "#p.elec * coal(electricity)";
    for (int i = 0; i < 999; ++i)  // 1 + 999 = 1000 operators
      g += " * 1";
    ok(m.put_indicator(ind("x", "X", "standard_coal", "b1", source_kind::formula, g)));
    auto over =
      m.put_indicator(ind("x", "X", "standard_coal", "b1", source_kind::formula, g + " * 1"));
    REQUIRE_FALSE(over);
    CHECK(over.error().code == errc::invalid_argument);
  }
}

TEST_CASE("formulas: paths resolve to ids, renames break nothing", "[energy]") {
  model m = example();
  CHECK(m.indicators.at("b1.elec").formula == "#m_e1.v");
  auto n = m.nodes.at("b1");
  n.name = "Workshop A";
  ok(m.put_node(n));
  CHECK(m.indicator_path("b1.elec") == "Plant/Workshop A:Electricity");
  CHECK(display(*m.formula_of("b1.elec"), m) == "[Plant/Workshop A/B1 electricity:Reading]");
  CHECK(m.check().empty());
}

TEST_CASE("indexes: children, meters and indicators follow every edit, copies own theirs",
          "[energy]") {
  auto ids = [](auto range) { return std::vector<std::string>(range.begin(), range.end()); };
  using v = std::vector<std::string>;
  std::optional<model> copy;
  {
    model m = example();
    CHECK(ids(m.child_nodes("plant")) == v{"b1", "boiler"});
    CHECK(ids(m.meters_of("boiler")) == v{"m_e2", "m_g2", "m_w2"});
    // Move the press line under the boiler room, then back; move a meter.
    auto press = m.nodes.at("press");
    press.parent = "boiler";
    ok(m.put_node(press));
    CHECK(ids(m.child_nodes("b1")).empty());
    CHECK(ids(m.child_nodes("boiler")) == v{"boiler1", "press"});
    auto mt = m.meters.at("m_w2");
    mt.node = "b1";
    ok(m.put_meter(mt));
    CHECK(ids(m.meters_of("boiler")) == v{"m_e2", "m_g2"});
    CHECK(ids(m.meters_of("b1")) == v{"m_e1", "m_w1", "m_w2"});
    // A new indicator, then its owner changes, then it goes.
    ok(m.put_indicator(ind("x", "Gas", "gas_use", "boiler", source_kind::formula, "#m_g2.v")));
    CHECK(ids(m.indicators_of("boiler")) == v{"x"});
    auto x = m.indicators.at("x");
    x.owner = "b1";
    ok(m.put_indicator(x));
    CHECK(ids(m.indicators_of("boiler")).empty());
    CHECK(ids(m.indicators_of("b1")) == v{"b1.elec", "x"});
    ok(m.remove_indicator("x"));
    CHECK(ids(m.indicators_of("b1")) == v{"b1.elec"});
    // A refused delete keeps the links; a done one drops them.
    CHECK_FALSE(m.remove_meter("m_e1"));
    CHECK(ids(m.meters_of("b1")) == v{"m_e1", "m_w1", "m_w2"});
    ok(m.remove_indicator("m_w2.v"));
    ok(m.remove_meter("m_w2"));
    CHECK(ids(m.meters_of("b1")) == v{"m_e1", "m_w1"});
    copy = m;  // the original goes at the end of this scope
  }
  CHECK(ids(copy->child_nodes("boiler")) == v{"boiler1", "press"});
  CHECK(ids(copy->meters_of("b1")) == v{"m_e1", "m_w1"});
  CHECK(ids(copy->indicators_of("m_e1")) == v{"m_e1.v"});
  model moved = std::move(*copy);
  copy.reset();
  CHECK(ids(moved.child_nodes("plant")) == v{"b1", "boiler"});
  CHECK(moved.path_of("press") == "Plant/Boiler room/Press line");
}

TEST_CASE("integrity: deleting what is in use is refused, listing every use", "[energy]") {
  model m = example();
  auto r = m.remove_energy_type("natural_gas");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::failed_precondition);
  auto msg = r.error().message();
  CHECK(msg.find("indicator template \"累计燃气流量\" (gas_flow)") != std::string::npos);
  CHECK(msg.find("meter Plant/Boiler room/Boiler gas") != std::string::npos);
  CHECK(msg.find("formula of [Plant:Standard coal]") != std::string::npos);
  CHECK(m.energy_types.count("natural_gas"));

  r = m.remove_meter("m_e1");
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("indicator [Plant/Branch factory 1/B1 electricity:Reading]")
        != std::string::npos);
  r = m.remove_indicator("m_e1.v");
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("formula of [Plant/Branch factory 1:Electricity]")
        != std::string::npos);
  r = m.remove_node("b1");
  REQUIRE_FALSE(r);
  r = m.remove_template("gas_flow");
  REQUIRE_FALSE(r);
  // Unused things go.
  ok(m.remove_template("heat_flow"));
  ok(m.remove_indicator("b1.elec"));
  CHECK(m.remove_node("nope").error().code == errc::not_found);
}

TEST_CASE("templates of one energy type in derived units: its cost, standard coal, carbon",
          "[energy]") {
  model m = example();
  auto tpl = [](std::string id, std::string name, std::string et, std::string unit) {
    indicator_template t;
    t.id = std::move(id);
    t.name = std::move(name);
    t.energy_type = std::move(et);
    t.unit = std::move(unit);
    return t;
  };
  ok(m.put_template(tpl("elec_cost", "电力成本", "electricity", "CNY")));
  ok(m.put_template(tpl("elec_tce", "电力折标量", "electricity", "tce")));
  ok(m.put_template(tpl("gas_cost", "天然气成本", "natural_gas", "CNY")));
  ok(m.put_template(tpl("elec_co2", "Electricity carbon", "electricity", "tCO2")));
  // Not a derived unit, nor the energy's own.
  auto r = m.put_template(tpl("elec_m3", "Electricity in m3", "electricity", "m3"));
  REQUIRE_FALSE(r);
  CHECK(
    r.error().message().find("m3 is not a quantity of 电力 (measured in kWh), nor its cost (CNY)")
    != std::string::npos);
  // A collection template measures the energy itself.
  auto c = tpl("elec_cost_meter", "Meter cost", "electricity", "CNY");
  c.kind = indicator_kind::collection;
  CHECK_FALSE(m.put_template(c));
  ok(m.put_indicator(ind("p.ec", "Electricity cost", "elec_cost", "plant", source_kind::formula,
                         "#p.elec * price(electricity)")));
  ok(m.put_indicator(ind("p.gc", "Gas cost", "gas_cost", "plant", source_kind::formula,
                         "#p.gas * price(natural_gas)")));
  ok(m.put_indicator(ind("p.et", "Electricity coal", "elec_tce", "plant", source_kind::formula,
                         "#p.elec * coal(electricity)")));
  // Costs of two energy types add up into the total cost.
  ok(m.put_indicator(
    ind("p.total", "Total cost", "cost", "plant", source_kind::formula, "#p.ec + #p.gc")));
  // The energy's own quantity still refuses another energy's.
  r = m.put_indicator(
    ind("p.bad", "Bad", "electricity_use", "plant", source_kind::formula, "#p.elec + #p.gas"));
  REQUIRE_FALSE(r);
  // And a cost is not a quantity of electricity.
  r =
    m.put_indicator(ind("p.bad", "Bad", "electricity_use", "plant", source_kind::formula, "#p.ec"));
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("the formula gives CNY but indicator \"Bad\" is in kWh of 电力")
        != std::string::npos);
  engine e(shanghai());
  e.load(m);
  absl::CivilDay day(2026, 11, 20);
  for (int h = 0; h < 24; ++h) {
    REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + h, {100, quality::measured}));
    REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(day) + h, {10, quality::measured}));
  }
  auto now = at(shanghai(), 2026, 11, 22);
  auto dp = period_of(resolution::day, absl::CivilSecond(day));
  CHECK(e.value("p.total", dp, now).value == Approx(2400 * 0.8 + 240 * 3.5));
  CHECK(e.value("p.et", dp, now).value == Approx(2400 * 0.1229 / 1000));
}

TEST_CASE("evaluation: the example enterprise, hand-computed", "[energy]") {
  auto tz = shanghai();
  model m = example();
  engine e(tz);
  e.load(m);
  absl::CivilDay day(2026, 11, 20);
  auto now = at(tz, 2026, 11, 21, 10);
  // One day of hourly values: 1000 kWh, 48 t water, 240 m3 gas in total.
  for (int h = 0; h < 24; ++h) {
    absl::CivilHour hour = absl::CivilHour(day) + h;
    REQUIRE(e.set_hour("m_e0.v", hour, {1000.0 / 24, quality::measured}));
    REQUIRE(e.set_hour("m_w0.v", hour, {2, quality::measured}));
    REQUIRE(e.set_hour("m_g0.v", hour, {10, quality::measured}));
  }
  period d = period_of(resolution::day, absl::CivilSecond(day));
  CHECK(e.value("p.elec", d, now).value == Approx(1000));
  CHECK(e.value("p.elec", d, now).quality == quality::measured);
  // tce = (1000 x 0.1229 + 48 x 0.0857 + 240 x 1.2143) / 1000
  CHECK(e.value("p.tce", d, now).value == Approx((122.9 + 4.1136 + 291.432) / 1000));
  // tCO2 = (1000 x 0.5306 (2023 national, latest <= 2026) + 240 x 1.974) / 1000
  CHECK(e.value("p.co2", d, now).value == Approx((530.6 + 473.76) / 1000));
  CHECK(e.value("p.cost", d, now).value == Approx(1000 * 0.8 + 48 * 4.2 + 240 * 3.5));
  auto v = e.versions("p.co2", d);
  REQUIRE(v.size() == 2);
  CHECK(v[0].version.find("2023") != std::string::npos);
  // An hour alone.
  period h5 = period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + 5));
  CHECK(e.value("p.gas", h5, now).value == Approx(10));

  SECTION("missing inputs give missing results, never 0") {
    period other = period_of(resolution::day, absl::CivilSecond(day - 1));
    CHECK(e.value("p.tce", other, now).quality == quality::missing);
    CHECK(e.value("b1.elec", d, now).quality == quality::missing);
    // One hour missing in an ended day: the day is missing.
    REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(day) + 3, {0, quality::missing}));
    CHECK(e.value("p.gas", d, now).quality == quality::missing);
    CHECK(e.value("p.tce", d, now).quality == quality::missing);
    CHECK(e.value("p.elec", d, now).quality == quality::measured);
  }
  SECTION("a back-dated reading re-computes only its dependents") {
    period mo = period_of(resolution::month, absl::CivilSecond(day));
    e.value("p.tce", mo, now);  // keep the month frame
    auto before = e.evaluations();
    REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(day) + 7, {20, quality::estimated}));
    auto work = e.evaluations() - before;
    // Kept: the day and month frames. In the day: m_g0.v -> p.gas -> p.tce,
    // p.co2, p.cost (5 of 27 cells). The month to date (most days missing,
    // estimated) the same 5.
    INFO("frames " << e.frames_kept());
    CHECK(work == 5 + 5);
    CHECK(e.frames_kept() == 3);
    CHECK(e.value("p.gas", d, now).value == Approx(250));
    CHECK(e.value("p.gas", d, now).quality == quality::estimated);
    CHECK(e.value("p.tce", d, now).value == Approx((122.9 + 4.1136 + 250 * 1.2143) / 1000));
  }
  SECTION("incremental results equal a full evaluation") {
    REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + 9, {100, quality::measured}));
    auto inc = e.value("p.cost", d, now).value;
    engine fresh(tz);
    fresh.load(m);
    for (int h = 0; h < 24; ++h) {
      absl::CivilHour hour = absl::CivilHour(day) + h;
      fresh.set_hour("m_e0.v", hour, {h == 9 ? 100 : 1000.0 / 24, quality::measured});
      fresh.set_hour("m_w0.v", hour, {2, quality::measured});
      fresh.set_hour("m_g0.v", hour, {10, quality::measured});
    }
    CHECK(fresh.value("p.cost", d, now).value == Approx(inc));
  }
}

TEST_CASE("queries: spans parsed, indicators planned in the order asked, series evaluated",
          "[energy][query]") {
  query_spec q;
  ok(parse_span("", "2026-11-20", "", q));  // a day by default, `to` = `from`
  CHECK(q.res == resolution::day);
  CHECK(q.first == q.last);
  ok(parse_span("hour", "2026-11-20", "2026-11-21", q));
  CHECK(q.last - q.first == 47);
  ok(parse_span("month", "2026-01", "2026-12", q));
  CHECK(periods_of(q).size() == 12);
  CHECK(label(periods_of(q).back()) == "2026-12");
  auto refused = [](std::string_view res, std::string_view from, std::string_view to) {
    query_spec x;
    auto r = parse_span(res, from, to, x);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::invalid_argument);
    return r.error().list.front().path;
  };
  CHECK(refused("week", "2026-11-20", "") == "resolution");
  CHECK(refused("month", "2026-11-20", "") == "from");  // a day for a month
  CHECK(refused("day", "2026-11-21", "2026-11-20") == "to");
  CHECK(refused("hour", "2020-01-01", "2026-01-01") == "to");  // over 20,000 periods

  model m = example();
  q = {};
  q.indicators = {"p.cost", "nope"};
  q.node = "b1";
  ok(parse_span("day", "2026-11-20", "2026-11-21", q));
  auto plan = plan_query(m, q);
  REQUIRE(plan);
  // Those named first, then the node's own, then its meters'.
  CHECK(plan->order == std::vector<std::string>{"p.cost", "nope", "b1.elec", "m_e1.v", "m_w1.v"});
  CHECK(plan->known == std::vector<std::string>{"p.cost", "b1.elec", "m_e1.v", "m_w1.v"});
  q.strict = true;  // a report's columns: an unknown one fails it
  auto strict = plan_query(m, q);
  REQUIRE_FALSE(strict);
  CHECK(strict.error().code == errc::not_found);
  q.strict = false;
  q.node = "nowhere";
  CHECK(plan_query(m, q).error().code == errc::not_found);
  q.node.clear();
  q.indicators.clear();
  CHECK(plan_query(m, q).error().code == errc::invalid_argument);

  auto tz = shanghai();
  engine e(tz);
  e.load(m);
  absl::CivilDay day(2026, 11, 20);
  for (int h = 0; h < 24; ++h) {
    REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + h, {10, quality::measured}));
    REQUIRE(e.set_hour("m_w0.v", absl::CivilHour(day) + h, {0, quality::measured}));
    REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(day) + h, {0, quality::measured}));
  }
  q.indicators = {"p.elec", "p.cost", "nope"};
  ok(parse_span("day", "2026-11-20", "2026-11-21", q));
  plan = plan_query(m, q);
  REQUIRE(plan);
  auto series = evaluate(m, e, *plan, q, at(tz, 2026, 11, 22));
  REQUIRE(series.size() == 3);
  CHECK(series[0].id == "p.elec");
  CHECK(series[0].path == m.indicator_path("p.elec"));
  CHECK(series[0].periods == std::vector<std::string>{"2026-11-20", "2026-11-21"});
  CHECK(series[0].values[0] == Approx(240));
  CHECK(series[0].qualities[0] == static_cast<uint8_t>(quality::measured));
  CHECK(series[0].qualities[1] != static_cast<uint8_t>(quality::measured));  // no hours
  CHECK(series[1].values[0] == Approx(240 * 0.8));
  // The price's version, first and last used.
  REQUIRE_FALSE(series[1].versions.empty());
  auto tariff = std::find_if(series[1].versions.begin(), series[1].versions.end(),
                             [](const version_range& v) { return v.version == "2026 tariff"; });
  REQUIRE(tariff != series[1].versions.end());
  CHECK(tariff->first_period == "2026-11-20");
  CHECK(tariff->last_period == "2026-11-21");
  CHECK(series[2].error == "no indicator nope");
  CHECK(series[2].values.empty());
}

TEST_CASE("evaluation: days before the held hours add up from their sums", "[energy]") {
  auto tz = shanghai();
  model m = example();
  // Ten days of gas, day k with 24 hours of k+1 m3 except hour 5 of day 3
  // (missing) and hour 7 of day 4 (estimated).
  absl::CivilDay first(2026, 11, 1);
  auto fill = [&](engine& e) {
    for (int k = 0; k < 10; ++k)
      for (int h = 0; h < 24; ++h) {
        if (k == 3 && h == 5)
          continue;
        auto q = k == 4 && h == 7 ? quality::estimated : quality::measured;
        REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(first + k) + h, {k + 1.0, q}));
      }
  };
  auto now = at(tz, 2026, 11, 21, 10);
  engine held(tz), sums_first(tz), all(tz);
  for (auto* e : {&held, &sums_first, &all})
    e->load(m);
  fill(all);
  fill(held);
  auto day_of = [&](int k) { return period_of(resolution::day, absl::CivilSecond(first + k)); };
  period hour_of_day2 =
    period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(first + 2) + 4));
  CHECK(held.value("p.gas", hour_of_day2, now).value == Approx(3));  // kept as a frame
  held.keep_hours_from(first + 6);                                   // days 0..5 become sums
  sums_first.keep_hours_from(first + 6);  // as a start-up: older inputs go straight into sums
  fill(sums_first);
  REQUIRE(held.hours_kept_from() == first + 6);
  for (auto* e : {&held, &sums_first}) {
    for (int k = 0; k < 10; ++k) {
      auto want = all.value("p.gas", day_of(k), now);
      auto got = e->value("p.gas", day_of(k), now);
      INFO("day " << k);
      CHECK(got.quality == want.quality);
      CHECK(got.value == Approx(want.value));
    }
    CHECK(e->value("p.gas", day_of(3), now).quality == quality::missing);
    CHECK(e->value("p.gas", day_of(4), now).quality == quality::estimated);
    CHECK(e->value("p.tce", day_of(2), now).value
          == Approx(all.value("p.tce", day_of(2), now).value));
    // Hours of those days are no longer held; the held ones are.
    CHECK(e->value("p.gas", hour_of_day2, now).quality == quality::missing);
    CHECK(e->hour_input("m_g0.v", absl::CivilHour(first + 2) + 4).quality == quality::missing);
    CHECK(e->value("p.gas",
                   period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(first + 7) + 4)),
                   now)
            .value
          == Approx(8));
  }
  // A new value for an hour of a summed day needs the value it replaces...
  auto h = absl::CivilHour(first + 2) + 4;
  CHECK_FALSE(held.set_hour("m_g0.v", h, {30, quality::measured}));
  CHECK_FALSE(held.add_hour("m_g0.v", h, 1, quality::measured));
  CHECK(held.value("p.gas", day_of(2), now).value == Approx(72));
  REQUIRE(held.set_hour("m_g0.v", h, {30, quality::measured}, reading{3, quality::measured}));
  CHECK(held.value("p.gas", day_of(2), now).value == Approx(72 - 3 + 30));
  // ...and the hour missing from day 3 is simply added.
  REQUIRE(held.set_hour("m_g0.v", absl::CivilHour(first + 3) + 5, {4, quality::manual}));
  CHECK(held.value("p.gas", day_of(3), now).value == Approx(96));
  CHECK(held.value("p.gas", day_of(3), now).quality == quality::manual);
  // The window only moves forward.
  held.keep_hours_from(first + 1);
  CHECK(held.hours_kept_from() == first + 6);
}

TEST_CASE("evaluation: manual daily entries, production and intensity", "[energy]") {
  auto tz = shanghai();
  model m = example();
  product pr;
  pr.id = "steel";
  pr.name = "Steel parts";
  pr.unit = "t";
  pr.node = "b1";
  ok(m.put_product(pr));
  indicator_template it;
  it.id = "intensity";
  it.name = "Energy per tonne";
  it.unit = "kgce/t";
  ok(m.put_template(it));
  ok(m.put_indicator(
    ind("b1.manual", "Electricity (read daily)", "electricity_use", "b1", source_kind::manual)));
  ok(m.put_indicator(ind("b1.int", "Energy per tonne", "intensity", "b1", source_kind::formula,
                         "#b1.manual * coal(electricity) / production(steel)")));
  engine e(tz);
  e.load(m);
  auto now = at(tz, 2026, 12, 2);
  for (int d = 1; d <= 30; ++d) {
    REQUIRE(e.set_day("b1.manual", absl::CivilDay(2026, 11, d), {1000, quality::manual}));
    REQUIRE(
      e.set_day("steel", absl::CivilDay(2026, 11, d), {d == 15 ? 0.0 : 2.0, quality::manual}));
  }
  period nov = period_of(resolution::month, absl::CivilSecond(absl::CivilDay(2026, 11, 1)));
  // Month: 30,000 kWh x 0.1229 / 58 t — a ratio of sums, not a sum of ratios.
  auto r = e.value("b1.int", nov, now);
  CHECK(r.value == Approx(30000 * 0.1229 / 58));
  CHECK(r.quality == quality::manual);
  // Day 15: no production: the ratio is invalid, not infinite.
  auto d15 = period_of(resolution::day, absl::CivilSecond(absl::CivilDay(2026, 11, 15)));
  CHECK(e.value("b1.int", d15, now).quality == quality::invalid);
  // Hours of a daily entry are missing.
  auto h = period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(2026, 11, 3, 4)));
  CHECK(e.value("b1.manual", h, now).quality == quality::missing);
  // A correction back-dated propagates into the kept month.
  REQUIRE(e.set_day("b1.manual", absl::CivilDay(2026, 11, 3), {1580, quality::manual}));
  CHECK(e.value("b1.int", nov, now).value == Approx(30580 * 0.1229 / 58));
  // A missing day of an ended month makes the month missing.
  REQUIRE(e.set_day("steel", absl::CivilDay(2026, 11, 4), {0, quality::missing}));
  CHECK(e.value("b1.int", nov, now).quality == quality::missing);
  // The month in progress requires only the days that ended.
  auto dec = period_of(resolution::month, absl::CivilSecond(absl::CivilDay(2026, 12, 1)));
  REQUIRE(e.set_day("b1.manual", absl::CivilDay(2026, 12, 1), {500, quality::manual}));
  CHECK(e.value("b1.manual", dec, now).value == Approx(500));
  // Month to date with a day that ended without an entry: what was entered, estimated.
  auto mtd = e.value("b1.manual", dec, at(tz, 2026, 12, 3));
  CHECK(mtd.value == Approx(500));
  CHECK(mtd.quality == quality::estimated);
  CHECK(e.value("b1.int", dec, at(tz, 2026, 12, 3)).quality
        == quality::missing);  // no production yet
  // Once December has ended, the missing day makes it missing.
  CHECK(e.value("b1.manual", dec, at(tz, 2027, 1, 1)).quality == quality::missing);
}

TEST_CASE("evaluation: frames kept within their byte budget, a recycled frame is right",
          "[energy]") {
  auto tz = shanghai();
  model m = example();
  engine probe(tz);
  probe.load(m);
  engine::options o;
  o.max_frame_bytes = probe.cells() * 9 * 3 + 10;  // three frames
  engine e(tz, o);
  e.load(m);
  absl::CivilDay day(2026, 11, 20);
  auto now = at(tz, 2026, 11, 21, 10);
  for (int h = 0; h < 24; ++h)
    REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(day) + h, {1.0 + h, quality::measured}));
  for (int h = 0; h < 24; ++h) {
    period p = period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + h));
    CHECK(e.value("p.gas", p, now).value == Approx(1.0 + h));
    CHECK(e.frames_kept() <= 3);
  }
  CHECK(e.frames_kept() == 3);
  // An hour evicted long ago is computed again from its leaves.
  auto h0 = period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day)));
  CHECK(e.value("p.gas", h0, now).value == Approx(1.0));
  CHECK(e.value("p.elec", h0, now).quality == quality::missing);
  // A change reaches the kept frames; the evicted ones see it when asked.
  REQUIRE(e.set_hour("m_g0.v", absl::CivilHour(day) + 22, {100, quality::measured}));
  auto h22 = period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + 22));
  CHECK(e.value("p.gas", h22, now).value == Approx(100));
  CHECK(e.value("p.gas", period_of(resolution::day, absl::CivilSecond(day)), now).value
        == Approx(24 * 25 / 2.0 - 23 + 100));
  CHECK(e.frames_kept() == 3);
}

// Ends the last version of `list` on `from` and appends a copy of it valid
// from then on, changed by `change` (a new tariff, a new coefficient).
template <class V, class F>
void new_version_from(std::vector<V>& list, std::string version, absl::CivilDay from, F change) {
  list.back().valid_to = from;
  V next = list.back();
  next.version = std::move(version);
  next.valid_from = from;
  next.valid_to.reset();
  change(next);
  list.push_back(std::move(next));
}

// Electricity at 0.6, 1.2 from 08:00 to 12:00.
static void set_peak_tariff(model& m) {
  auto el = m.energy_types.at("electricity");
  el.prices.clear();
  price p;
  p.version = "TOU 2026";
  p.flat = 0.6;
  plant::price_slot peak;
  peak.start = "08:00";
  peak.end = "12:00";
  peak.price_per_kwh = 1.2;
  p.tou.push_back(peak);
  el.prices.push_back(p);
  ok(m.put_energy_type(el));
}

TEST_CASE("evaluation: TOU prices by hour", "[energy]") {
  auto tz = shanghai();
  model m = example();
  set_peak_tariff(m);
  ok(m.put_indicator(ind("p.ecost", "Electricity cost", "cost", "plant", source_kind::formula,
                         "#p.elec * price(electricity)")));
  engine e(tz);
  e.load(m);
  absl::CivilDay day(2026, 11, 20);
  for (int h = 0; h < 24; ++h)
    e.set_hour("m_e0.v", absl::CivilHour(day) + h, {10, quality::measured});
  // Counter shares add up in the hour's input, the worse quality wins.
  auto h3 = absl::CivilHour(day) + 3;
  REQUIRE(e.add_hour("m_e0.v", h3, 2.5, quality::estimated));
  CHECK(e.hour_input("m_e0.v", h3).value == Approx(12.5));
  CHECK(e.hour_input("m_e0.v", h3).quality == quality::estimated);
  CHECK(e.hour_input("m_e0.v", absl::CivilHour(day) - 1).quality == quality::missing);
  CHECK(e.hour_input("p.elec", h3).quality == quality::missing);  // not a meter input
  REQUIRE(e.set_hour("m_e0.v", h3, {10, quality::measured}));
  auto now = at(tz, 2026, 11, 22);
  CHECK(e.value("p.ecost", period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + 9)),
                now)
          .value
        == Approx(12));
  CHECK(e.value("p.ecost",
                period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + 13)), now)
          .value
        == Approx(6));
  // Flat use: the day's cost is its hours' costs (4 h at 1.2, 20 h at 0.6).
  auto dp = period_of(resolution::day, absl::CivilSecond(day));
  CHECK(e.value("p.ecost", dp, now).value == Approx(10 * (4 * 1.2 + 20 * 0.6)));
}

TEST_CASE("evaluation: a TOU cost is each hour's use at that hour's price, summed", "[energy]") {
  auto tz = shanghai();
  model m = example();
  set_peak_tariff(m);
  ok(m.put_indicator(ind("p.ecost", "Electricity cost", "cost", "plant", source_kind::formula,
                         "#p.elec * price(electricity)")));
  // Reads the summed cost: twice it, every period.
  ok(m.put_indicator(
    ind("p.ecost2", "Twice the cost", "cost", "plant", source_kind::formula, "#p.ecost * 2")));
  engine e(tz);
  e.load(m);
  auto price_at = [](int h) { return h >= 8 && h < 12 ? 1.2 : 0.6; };
  // November 1-21, hour h of day d uses d + h kWh: more at the peak.
  double month_cost = 0, month_use = 0;
  std::vector<double> day_cost(22, 0);
  for (int d = 1; d <= 21; ++d)
    for (int h = 0; h < 24; ++h) {
      double use = d + h;
      REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(2026, 11, d, h), {use, quality::measured}));
      day_cost[d] += use * price_at(h);
      month_use += use;
    }
  for (int d = 1; d <= 21; ++d)
    month_cost += day_cost[d];
  auto now = at(tz, 2026, 11, 22);
  absl::CivilDay day(2026, 11, 20);
  auto dp = period_of(resolution::day, absl::CivilSecond(day));
  auto mp = period_of(resolution::month, absl::CivilSecond(day));
  auto cost = e.value("p.ecost", dp, now);
  CHECK(cost.value == Approx(day_cost[20]));
  CHECK(cost.quality == quality::measured);
  // Not the day's use at the average price (which under-counts the peak).
  double avg = (4 * 1.2 + 20 * 0.6) / 24;
  CHECK(cost.value != Approx(e.value("p.elec", dp, now).value * avg));
  CHECK(e.value("p.ecost2", dp, now).value == Approx(2 * day_cost[20]));
  CHECK(e.value("p.elec", mp, now).value == Approx(month_use));
  CHECK(e.value("p.ecost", mp, now).value == Approx(month_cost));
  CHECK(e.value("p.ecost2", mp, now).value == Approx(2 * month_cost));
  // The year adds up its months (November so far; earlier months have ended
  // without inputs, so the year to date is estimated, as the use is).
  auto yp = period_of(resolution::year, absl::CivilSecond(day));
  CHECK(e.value("p.elec", yp, now).quality == quality::estimated);
  CHECK(e.value("p.ecost", yp, now).quality == quality::estimated);
  CHECK(e.value("p.ecost", yp, now).value == Approx(month_cost));
  CHECK(e.value("p.ecost", yp, at(tz, 2027, 1, 1)).quality == quality::missing);

  // Evaluated hour by hour, kept hour frames are used as they are, not
  // evaluated again.
  {
    engine::options hourly;
    hourly.sum_by_class = false;
    engine e2(tz, hourly);
    e2.load(m);
    for (int h = 0; h < 24; ++h)
      REQUIRE(e2.set_hour("m_e0.v", absl::CivilHour(day) + h, {double(20 + h), quality::measured}));
    for (int h = 0; h < 24; ++h)
      e2.value("p.ecost", period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + h)),
               now);
    auto before = e2.evaluations();
    CHECK(e2.value("p.ecost", dp, now).value == Approx(day_cost[20]));
    CHECK(e2.evaluations() - before <= e2.cells());  // the day frame alone
  }

  // A peak hour corrected: the kept day and month frames follow.
  REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + 9, {100, quality::estimated}));
  double delta = (100 - (20 + 9)) * 1.2;
  cost = e.value("p.ecost", dp, now);
  CHECK(cost.value == Approx(day_cost[20] + delta));
  CHECK(cost.quality == quality::estimated);
  CHECK(e.value("p.ecost", mp, now).value == Approx(month_cost + delta));
  // An ended hour without a value: the day's cost is missing, never a
  // partial sum; the month to date is the rest, estimated.
  REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + 3, {0, quality::missing}));
  CHECK(e.value("p.ecost", dp, now).quality == quality::missing);
  CHECK(e.value("p.ecost", mp, now).quality == quality::estimated);
  CHECK(e.value("p.ecost", mp, now).value == Approx(month_cost + delta - day_cost[20] - delta));
  REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + 3, {20 + 3, quality::measured}));
  CHECK(e.value("p.ecost", dp, now).value == Approx(day_cost[20] + delta));

  // Today so far: the hours begun count, the rest are not required.
  auto noon = absl::FromCivil(absl::CivilSecond(2026, 11, 21, 12, 30, 0), tz);
  auto today = period_of(resolution::day, absl::CivilSecond(2026, 11, 21, 0, 0, 0));
  double so_far = 0;
  for (int h = 0; h <= 12; ++h)
    so_far += (21 + h) * price_at(h);
  CHECK(e.value("p.ecost", today, noon).value == Approx(so_far));

  // Days held as their sums have no hours: the formula on the day's sum at
  // the average price, flagged estimated.
  auto d5 = period_of(resolution::day, absl::CivilSecond(absl::CivilDay(2026, 11, 5)));
  CHECK(e.value("p.ecost", d5, now).value
        == Approx(day_cost[5]));  // kept: the next call must not reuse it
  e.keep_hours_from(absl::CivilDay(2026, 11, 10));
  cost = e.value("p.ecost", d5, now);
  double use5 = 0;
  for (int h = 0; h < 24; ++h)
    use5 += 5 + h;
  CHECK(cost.value == Approx(use5 * avg));
  CHECK(cost.quality == quality::estimated);
  CHECK(e.value("p.ecost", dp, now).value == Approx(day_cost[20] + delta));
  CHECK(e.value("p.ecost", mp, now).quality == quality::estimated);
}

TEST_CASE("evaluation: a meter at its TOU price plus a daily entry at its price, in one formula",
          "[energy]") {
  auto tz = shanghai();
  model m = example();
  set_peak_tariff(m);
  ok(m.put_indicator(ind("b1.wman", "Water (read daily)", "water_use", "b1", source_kind::manual)));
  ok(m.put_indicator(ind("p.mixed", "Mixed cost", "cost", "plant", source_kind::formula,
                         "#m_e0.v * price(electricity) + #b1.wman * price(water)")));
  // The same sum as two indicators: the way that came out right before.
  ok(m.put_indicator(ind("p.ecost", "Electricity cost", "cost", "plant", source_kind::formula,
                         "#m_e0.v * price(electricity)")));
  ok(m.put_indicator(ind("p.wcost", "Water cost", "cost", "plant", source_kind::formula,
                         "#b1.wman * price(water)")));
  engine e(tz);
  e.load(m);
  double month = 0;
  std::vector<double> day_cost(31, 0);
  for (int d = 1; d <= 30; ++d) {
    for (int h = 0; h < 24; ++h) {
      double use = h >= 8 && h < 12 ? 50 + d : 5;  // most of it at the peak
      REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(2026, 11, d, h), {use, quality::measured}));
      day_cost[d] += use * (h >= 8 && h < 12 ? 1.2 : 0.6);
    }
    REQUIRE(e.set_day("b1.wman", absl::CivilDay(2026, 11, d), {double(d), quality::manual}));
    day_cost[d] += d * 4.2;
    month += day_cost[d];
  }
  auto now = at(tz, 2026, 12, 2);
  for (int d : {1, 17, 30}) {
    auto dp = period_of(resolution::day, absl::CivilSecond(absl::CivilDay(2026, 11, d)));
    auto r = e.value("p.mixed", dp, now);
    CHECK(r.value == Approx(day_cost[d]).epsilon(1e-12));
    CHECK(r.value == Approx(e.value("p.ecost", dp, now).value + e.value("p.wcost", dp, now).value));
    CHECK(r.quality == quality::manual);  // part of it was entered by hand
  }
  auto mp = period_of(resolution::month, absl::CivilSecond(absl::CivilDay(2026, 11, 1)));
  CHECK(e.value("p.mixed", mp, now).value == Approx(month).epsilon(1e-12));
  // The versions the indicator used are its terms' (the hidden groups it is made of).
  auto v = e.versions("p.mixed", mp);
  std::set<std::string> whats;
  for (const auto& u : v)
    whats.insert(u.what);
  CHECK(v.size() == 2);
  CHECK(whats == std::set<std::string>{"price(electricity)", "price(water)"});
  // Its hours: the daily part has none, so the hour is missing, never the meter's part alone.
  auto h9 = period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(2026, 11, 3, 9)));
  CHECK(e.value("p.mixed", h9, now).quality == quality::missing);
}

// A random cost formula over hourly meters and daily entries of three energy
// types (electricity at TOU prices with a new tariff mid-month, water at a
// price changing mid-month, gas at one flat price), against a slow reference
// evaluator that prices every hour of a meter at its hour's price and every
// daily entry at its day's mean price.
TEST_CASE("evaluation: random cost formulas agree with an hour-by-hour reference",
          "[energy][property]") {
  auto tz = shanghai();
  std::mt19937 rng(20261130);
  auto uniform = [&](double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
  };
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (int round = 0; round < 4; ++round) {
    model m = example();
    // Electricity: TOU (a random peak window and prices) to the 20th, then another.
    struct tariff {
      int from, to;
      double flat, peak;
      int peak_from, peak_to;
    };
    std::vector<tariff> elec{{1, 20, uniform(0.3, 0.8), uniform(0.9, 1.6), pick(12), 0},
                             {20, 32, uniform(0.3, 0.8), uniform(0.9, 1.6), 12 + pick(6), 0}};
    for (auto& t : elec)
      t.peak_to = std::min(23, t.peak_from + 1 + pick(8));
    auto el = m.energy_types.at("electricity");
    el.prices.clear();
    for (const auto& t : elec) {
      price p;
      p.version = fmt::format("from {}", t.from);
      p.valid_from = absl::CivilDay(2026, 11, t.from);
      if (t.to <= 30)
        p.valid_to = absl::CivilDay(2026, 11, t.to);
      p.flat = t.flat;
      plant::price_slot s;
      s.start = fmt::format("{:02}:00", t.peak_from);
      s.end = fmt::format("{:02}:00", t.peak_to);
      s.price_per_kwh = t.peak;
      p.tou.push_back(s);
      el.prices.push_back(p);
    }
    ok(m.put_energy_type(el));
    double w1 = uniform(2, 5), w2 = uniform(2, 5);
    auto water = m.energy_types.at("water");
    water.prices.clear();
    price wp;
    wp.version = "old";
    wp.flat = w1;
    wp.valid_to = absl::CivilDay(2026, 11, 15);
    water.prices.push_back(wp);
    wp.version = "new";
    wp.valid_from = absl::CivilDay(2026, 11, 15);
    wp.valid_to.reset();
    wp.flat = w2;
    water.prices.push_back(wp);
    ok(m.put_energy_type(water));
    auto price_of = [&](const std::string& type, int d, int h) {
      if (type == "natural_gas")
        return 3.5;
      if (type == "water")
        return d < 15 ? w1 : w2;
      const auto& t = d < elec[1].from ? elec[0] : elec[1];
      return h >= t.peak_from && h < t.peak_to ? t.peak : t.flat;
    };
    auto day_mean = [&](const std::string& type, int d) {
      double s = 0;
      for (int h = 0; h < 24; ++h)
        s += price_of(type, d, h);
      return s / 24;
    };
    ok(m.put_indicator(
      ind("b1.eman", "Electricity (read daily)", "electricity_use", "b1", source_kind::manual)));
    ok(m.put_indicator(
      ind("b1.wman", "Water (read daily)", "water_use", "b1", source_kind::manual)));
    ok(m.put_indicator(ind("b1.gman", "Gas (read daily)", "gas_use", "b1", source_kind::manual)));
    struct leaf_ref {
      std::string id, type;
      bool daily;
    };
    std::vector<leaf_ref> leaves{{"m_e0.v", "electricity", false}, {"m_e1.v", "electricity", false},
                                 {"b1.eman", "electricity", true}, {"m_w0.v", "water", false},
                                 {"b1.wman", "water", true},       {"m_g0.v", "natural_gas", false},
                                 {"b1.gman", "natural_gas", true}};
    // Inputs: every hour and day of November.
    std::map<std::string, std::vector<double>> in;
    for (const auto& l : leaves) {
      auto& v = in[l.id];
      v.assign(l.daily ? 31 : 31 * 24, 0);
      for (int d = 1; d <= 30; ++d)
        if (l.daily)
          v[d] = uniform(0, 500);
        else
          for (int h = 0; h < 24; ++h)
            v[d * 24 + h] = uniform(0, 40);
    }
    // The formulas: sums of terms  [-] [c *] (q1 [+ q2]) * price(T).
    struct term {
      double sign, c;
      std::vector<std::size_t> q;
      std::string type;
    };
    std::vector<std::vector<term>> formulas;
    for (int f = 0; f < 40; ++f) {
      std::vector<term> ts;
      std::string text;
      int n = 1 + pick(4);
      for (int k = 0; k < n; ++k) {
        term t;
        t.sign = pick(3) == 0 ? -1 : 1;
        t.c = pick(2) ? 1 : static_cast<double>(1 + pick(9)) / 4;
        auto first = static_cast<std::size_t>(pick(static_cast<int>(leaves.size())));
        t.type = leaves[first].type;
        t.q.push_back(first);
        if (pick(2))
          for (std::size_t j = 0; j < leaves.size(); ++j)
            if (j != first && leaves[j].type == t.type && pick(2)) {
              t.q.push_back(j);
              break;
            }
        std::string q = "#" + leaves[t.q[0]].id;
        if (t.q.size() > 1)
          q = "(" + q + " + #" + leaves[t.q[1]].id + ")";
        std::string body =
          pick(2) ? q + " * price(" + t.type + ")" : "price(" + t.type + ") * " + q;
        if (t.c != 1)
          body = fmt::format("{} * {}", t.c, body);
        text +=
          k == 0 ? (t.sign < 0 ? "-(" + body + ")" : body) : (t.sign < 0 ? " - " : " + ") + body;
        ts.push_back(std::move(t));
      }
      INFO(text);
      ok(m.put_indicator(ind(fmt::format("f{}", f), fmt::format("F{}", f), "cost", "plant",
                             source_kind::formula, text)));
      formulas.push_back(std::move(ts));
    }
    engine e(tz);
    e.load(m);
    for (const auto& l : leaves)
      for (int d = 1; d <= 30; ++d) {
        if (l.daily) {
          REQUIRE(e.set_day(l.id, absl::CivilDay(2026, 11, d), {in[l.id][d], quality::manual}));
          continue;
        }
        for (int h = 0; h < 24; ++h)
          REQUIRE(e.set_hour(l.id, absl::CivilHour(2026, 11, d, h),
                             {in[l.id][d * 24 + h], quality::measured}));
      }
    auto reference = [&](const std::vector<term>& ts, int from_day, int to_day) {
      double total = 0;
      for (const auto& t : ts)
        for (auto qi : t.q) {
          const auto& l = leaves[qi];
          for (int d = from_day; d <= to_day; ++d) {
            if (l.daily) {
              total += t.sign * t.c * in[l.id][d] * day_mean(l.type, d);
              continue;
            }
            for (int h = 0; h < 24; ++h)
              total += t.sign * t.c * in[l.id][d * 24 + h] * price_of(l.type, d, h);
          }
        }
      return total;
    };
    auto now = at(tz, 2026, 12, 2);
    auto mp = period_of(resolution::month, absl::CivilSecond(absl::CivilDay(2026, 11, 1)));
    for (std::size_t f = 0; f < formulas.size(); ++f) {
      auto id = fmt::format("f{}", f);
      INFO(display(*m.formula_of(id), m));
      double want = reference(formulas[f], 1, 30);
      auto got = e.value(id, mp, now);
      CHECK(got.quality != quality::missing);
      CHECK(got.value == Approx(want).epsilon(1e-9).margin(1e-6));
      for (int d : {3, 15, 20, 30}) {
        auto dp = period_of(resolution::day, absl::CivilSecond(absl::CivilDay(2026, 11, d)));
        CHECK(e.value(id, dp, now).value
              == Approx(reference(formulas[f], d, d)).epsilon(1e-9).margin(1e-6));
      }
    }
  }
}

// Costs summed by price class (engine::options::sum_by_class) against the
// same engine evaluating every hour: the same value and quality for every
// period, with inputs missing here and there, estimated and manual hours,
// a month in progress (as of the middle of an hour some inputs have
// reached), a TOU tariff replaced mid-month, a water price that starts on
// the 10th (no price before), a new standard-coal version on the 15th, a
// meter that never reported, and daylight-saving changes (Berlin).
TEST_CASE("evaluation: costs summed by price class agree with every hour evaluated",
          "[energy][property]") {
  std::mt19937 rng(20261201);
  auto uniform = [&](double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
  };
  model m = example();
  set_peak_tariff(m);
  {
    auto el = m.energy_types.at("electricity");
    el.prices[0].valid_from = absl::CivilDay(2026, 1, 1);
    new_version_from(el.prices, "TOU from the 20th", absl::CivilDay(2026, 11, 20), [](price& p) {
      p.flat = 0.5;
      p.tou = {{{}, "17:00", "21:00", 1.4}};
    });
    coefficient old;
    old.version = "old";
    old.value = 0.1229;
    el.coal_equivalent = {old};
    new_version_from(el.coal_equivalent, "new", absl::CivilDay(2026, 11, 15),
                     [](coefficient& c) { c.value = 0.1404; });
    ok(m.put_energy_type(el));
    auto water = m.energy_types.at("water");
    water.prices[0].valid_from = absl::CivilDay(2026, 11, 10);
    ok(m.put_energy_type(water));
  }
  std::vector<std::string> formulas{
    "#p.elec * price(electricity)",
    "(#m_e0.v + #m_e1.v) * price(electricity)",
    "price(electricity) * #m_e0.v * 0.5 - #m_e2.v * price(electricity)",
    "-(#m_e11.v * price(electricity))",
    "#m_e0.v * price(electricity) / 4",
    "(#m_e1.v / 2) * price(electricity)",
    "#p.elec * coal(electricity)",
    "#m_w0.v * price(water)",
    "(#m_e0.v + #m_e1.v) * price(electricity) + #m_w0.v * price(water)",
    "#m_g21.v * price(natural_gas) + #m_e0.v * price(electricity)",
    "#m_e0.v * #m_e1.v / #m_e2.v * price(electricity)",
    "#m_e0.v / #m_e1.v * #p.elec * price(electricity)",
  };
  for (std::size_t f = 0; f < formulas.size(); ++f)
    ok(
      m.put_indicator(ind(fmt::format("c{}", f), fmt::format("C{}", f),
                          formulas[f].find("coal(") != std::string::npos ? "standard_coal" : "cost",
                          "plant", source_kind::formula, formulas[f])));
  ok(m.put_indicator(ind("c_on_c", "Cost of a cost", "cost", "plant", source_kind::formula,
                         "#c0 * 2 + #m_e0.v * price(electricity)")));
  for (const char* zone : {"Asia/Shanghai", "Europe/Berlin"}) {
    absl::TimeZone tz;
    REQUIRE(absl::LoadTimeZone(zone, &tz));
    engine::options hourly;
    hourly.sum_by_class = false;
    engine by_class(tz), every_hour(tz, hourly);
    by_class.load(m);
    every_hour.load(m);
    // Late October (a repeated hour in Berlin) to the end of November. Two
    // meters have gaps and hours of every quality; the others are
    // complete and measured, but for the hour in progress at the first
    // two times asked (m_e1, m_e2).
    for (const char* id : {"m_e0.v", "m_e1.v", "m_e2.v", "m_e11.v", "m_w0.v"})
      for (absl::CivilHour h(2026, 10, 20, 0); h < absl::CivilHour(2026, 12, 1, 0); ++h) {
        bool noisy = id == std::string("m_e0.v") || id == std::string("m_w0.v");
        double x = noisy ? uniform(0, 1) : 1;
        if (x < 0.02 || (id == std::string("m_e1.v") && h == absl::CivilHour(2026, 11, 17, 13))
            || (id == std::string("m_e2.v") && h == absl::CivilHour(2026, 11, 30, 23)))
          continue;  // missing
        reading r{uniform(0, 50), x < 0.05   ? quality::estimated
                                  : x < 0.07 ? quality::manual
                                             : quality::measured};
        REQUIRE(by_class.set_hour(id, h, r));
        REQUIRE(every_hour.set_hour(id, h, r));
      }
    auto as_of_list = {absl::FromCivil(absl::CivilSecond(2026, 11, 17, 13, 30, 0), tz),
                       absl::FromCivil(absl::CivilSecond(2026, 11, 30, 23, 10, 0), tz),
                       absl::FromCivil(absl::CivilSecond(2026, 12, 2, 0, 0, 0), tz)};
    std::vector<period> periods{
      period_of(resolution::month, absl::CivilSecond(2026, 10, 1, 0, 0, 0)),
      period_of(resolution::month, absl::CivilSecond(2026, 11, 1, 0, 0, 0)),
      period_of(resolution::year, absl::CivilSecond(2026, 1, 1, 0, 0, 0))};
    for (int d : {3, 10, 15, 17, 20, 30})
      periods.push_back(period_of(resolution::day, absl::CivilSecond(2026, 11, d, 0, 0, 0)));
    periods.push_back(period_of(resolution::day, absl::CivilSecond(2026, 10, 25, 0, 0, 0)));
    int compared = 0, missing = 0, estimated = 0, measured = 0;
    for (auto as_of : as_of_list)
      for (const auto& p : periods)
        for (std::size_t f = 0; f <= formulas.size(); ++f) {
          auto id = f < formulas.size() ? fmt::format("c{}", f) : std::string("c_on_c");
          INFO(zone << " " << id << " " << label(p) << " as of " << absl::FormatTime(as_of, tz));
          auto want = every_hour.value(id, p, as_of);
          auto got = by_class.value(id, p, as_of);
          CHECK(to_string(got.quality) == std::string(to_string(want.quality)));
          CHECK(got.value == Approx(want.value).epsilon(1e-12).margin(1e-9));
          ++compared;
          missing += want.quality == quality::missing ? 1 : 0;
          estimated += want.quality == quality::estimated ? 1 : 0;
          measured += want.quality == quality::measured ? 1 : 0;
        }
    // Both kinds of outcome were exercised.
    CHECK(missing > 10);
    CHECK(estimated > 10);
    CHECK(measured > 10);
    CHECK(compared - missing > 100);
  }

  // A month of a cost: a few evaluations per price, not one per hour.
  model one = example();
  set_peak_tariff(one);
  ok(one.put_indicator(ind("c4", "C4", "cost", "plant", source_kind::formula, formulas[4])));
  auto tz = shanghai();
  engine::options hourly;
  hourly.sum_by_class = false;
  engine by_class(tz), every_hour(tz, hourly);
  by_class.load(one);
  every_hour.load(one);
  for (absl::CivilHour h(2026, 11, 1, 0); h < absl::CivilHour(2026, 12, 1, 0); ++h)
    for (auto* e : {&by_class, &every_hour})
      REQUIRE(e->set_hour("m_e0.v", h, {10, quality::measured}));
  auto month = period_of(resolution::month, absl::CivilSecond(2026, 11, 1, 0, 0, 0));
  auto now = at(tz, 2026, 12, 2);
  auto before_fast = by_class.evaluations(), before_slow = every_hour.evaluations();
  auto fast = by_class.value("c4", month, now);
  auto slow = every_hour.value("c4", month, now);
  REQUIRE(slow.quality == quality::measured);
  CHECK(fast.value == Approx(slow.value).epsilon(1e-12));
  auto fast_evals = by_class.evaluations() - before_fast;
  auto slow_evals = every_hour.evaluations() - before_slow;
  INFO(fast_evals << " evaluations by class, " << slow_evals << " hour by hour");
  CHECK(slow_evals > 720);
  CHECK(fast_evals * 10 < slow_evals);
}

TEST_CASE("evaluation: a coefficient changing within a month sums the month's days", "[energy]") {
  auto tz = shanghai();
  model m = example();
  auto el = m.energy_types.at("electricity");
  el.coal_equivalent.clear();
  coefficient a;
  a.version = "old";
  a.value = 0.1229;
  a.valid_to = absl::CivilDay(2026, 11, 15);
  coefficient b;
  b.version = "new";
  b.valid_from = absl::CivilDay(2026, 11, 15);
  b.value = 0.2;
  el.coal_equivalent = {a, b};
  ok(m.put_energy_type(el));
  ok(m.put_indicator(ind("p.etce", "Electricity coal", "standard_coal", "plant",
                         source_kind::formula, "#p.elec * coal(electricity)")));
  engine e(tz);
  e.load(m);
  double tce = 0;
  for (int d = 1; d <= 30; ++d)
    for (int h = 0; h < 24; ++h) {
      e.set_hour("m_e0.v", absl::CivilHour(2026, 11, d, h), {double(d), quality::measured});
      tce += d * (d < 15 ? 0.1229 : 0.2);
    }
  auto now = at(tz, 2026, 12, 2);
  auto mp = period_of(resolution::month, absl::CivilSecond(absl::CivilDay(2026, 11, 1)));
  // In the template's unit (tce), the coefficient in kgce.
  double unit =
    e.value("p.etce", period_of(resolution::day, absl::CivilSecond(absl::CivilDay(2026, 11, 1))),
            now)
      .value
    / (24 * 1 * 0.1229);
  CHECK(e.value("p.etce", mp, now).value == Approx(tce * unit));
  CHECK(e.value("p.etce", mp, now).quality == quality::measured);
  // The month used both versions; a day one.
  auto v = e.versions("p.etce", mp);
  REQUIRE(v.size() == 2);
  CHECK(v[0].version == "old");
  CHECK(v[1].version == "new");
  CHECK(v[1].value == 0.2);
  v = e.versions("p.etce",
                 period_of(resolution::day, absl::CivilSecond(absl::CivilDay(2026, 11, 14))));
  REQUIRE(v.size() == 1);
  CHECK(v[0].version == "old");
}

TEST_CASE("counters: rollover, reset, swap and gaps", "[energy]") {
  auto tz = shanghai();
  auto ms = [&](int d, int h, int mi) {
    return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 11, d, h, mi, 0), tz));
  };
  counter_tracker c(100000, 1);
  std::vector<counter_event> ev;
  CHECK(c.reading(ms(20, 10, 0), 99990, tz, &ev).empty());
  auto s = c.reading(ms(20, 10, 10), 20, tz, &ev);  // wrapped at 100000
  REQUIRE(s.size() == 1);
  CHECK(s[0].amount == Approx(30));
  CHECK(s[0].q == quality::measured);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == counter_event::rollover);
  // A reset far from the wrap: counted from 0, estimated.
  s = c.reading(ms(20, 10, 20), 5, tz, &ev);
  REQUIRE(s.size() == 1);
  CHECK(s[0].amount == Approx(5));
  CHECK(s[0].q == quality::estimated);
  CHECK(ev.back().kind == counter_event::reset);
  // A gap of 3 h: spread over the hours, estimated.
  s = c.reading(ms(20, 13, 20), 305, tz, &ev);
  REQUIRE(s.size() == 4);
  CHECK(s[0].hour == absl::CivilHour(2026, 11, 20, 10));
  CHECK(s[0].amount == Approx(300.0 * 40 / 180));  // 10:20-11:00 of 10:20-13:20
  CHECK(s[1].amount == Approx(100));
  CHECK(s[3].amount == Approx(300.0 * 20 / 180));
  for (auto& x : s)
    CHECK(x.q == quality::estimated);
  // Meter swap: old meter ended at 310, the new one starts at 2.
  s = c.swap(ms(20, 13, 25), 310, 2, tz, &ev);
  REQUIRE(s.size() == 1);
  CHECK(s[0].amount == Approx(5));
  s = c.reading(ms(20, 13, 30), 12, tz, &ev);
  REQUIRE(s.size() == 1);
  CHECK(s[0].amount == Approx(10));
  CHECK(s[0].q == quality::measured);
  // CT x PT multiplies consumption.
  counter_tracker ct(0, 40);
  ct.reading(ms(1, 0, 0), 10, tz);
  CHECK(ct.reading(ms(1, 0, 5), 11, tz)[0].amount == Approx(40));
}

TEST_CASE(
  "counters: hourly readings are exact through a rollover, off-hour readings are apportioned",
  "[energy]") {
  auto tz = shanghai();
  auto ms = [&](int h, int mi) {
    return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 11, 20, h, mi, 0), tz));
  };
  SECTION("a counter wrapping between two readings an hour apart: exact, measured, no gap") {
    counter_tracker c(100000, 1);
    std::vector<counter_event> ev;
    c.reading(ms(7, 0), 99900, tz, &ev);
    auto s = c.reading(ms(8, 0), 150, tz, &ev);
    REQUIRE(s.size() == 1);
    CHECK(s[0].hour == absl::CivilHour(2026, 11, 20, 7));
    CHECK(s[0].amount == Approx(250));
    CHECK(s[0].q == quality::measured);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == counter_event::rollover);
  }
  SECTION("a reading at 07:30 between hourly ones: the hours it splits are apportioned by time") {
    counter_tracker c;
    std::vector<counter_event> ev;
    c.reading(ms(6, 0), 1000, tz, &ev);
    auto s = c.reading(ms(7, 30), 1090, tz, &ev);  // 90 kWh over 06:00-07:30
    REQUIRE(s.size() == 2);
    CHECK(s[0].amount == Approx(60));
    CHECK(s[1].amount == Approx(30));
    // The 07:00 value was interpolated over 90 minutes: both hours estimated.
    CHECK(s[0].q == quality::estimated);
    CHECK(s[1].q == quality::estimated);
    s = c.reading(ms(8, 0), 1100, tz, &ev);  // inside 07:00-08:00: exact
    REQUIRE(s.size() == 1);
    CHECK(s[0].amount == Approx(10));
    CHECK(s[0].q == quality::measured);
    s = c.reading(ms(9, 0), 1150, tz, &ev);
    REQUIRE(s.size() == 1);
    CHECK(s[0].q == quality::measured);
  }
  SECTION("readings every 10 minutes off the hour: apportioned and measured") {
    counter_tracker c;
    std::vector<counter_event> ev;
    c.reading(ms(7, 55), 0, tz, &ev);
    auto s = c.reading(ms(8, 5), 10, tz, &ev);
    REQUIRE(s.size() == 2);
    CHECK(s[0].amount == Approx(5));
    CHECK(s[0].q == quality::measured);
    CHECK(ev.empty());
  }
}

TEST_CASE("counters: a DST day has 23 hours to fill", "[energy]") {
  absl::TimeZone syd;
  REQUIRE(absl::LoadTimeZone("Australia/Sydney", &syd));
  model m = example();
  engine e(syd);
  e.load(m);
  absl::CivilDay day(2026, 10, 4);  // clocks go 02:00 -> 03:00
  for (int h = 0; h < 24; ++h)
    if (h != 2)
      e.set_hour("m_e0.v", absl::CivilHour(day) + h, {1, quality::measured});
  auto now = absl::FromCivil(absl::CivilSecond(2026, 10, 6, 0, 0, 0), syd);
  auto r = e.value("p.elec", period_of(resolution::day, absl::CivilSecond(day)), now);
  CHECK(r.quality == quality::measured);
  CHECK(r.value == Approx(23));
}

TEST_CASE("metering coverage per level against GB 17167", "[energy]") {
  model m = example();
  // Add an unmetered electricity user at level 3.
  auto n = make_node("lathe", "Lathe", node_kind::equipment, "b1", 3);
  n.energy_type = "electricity";
  ok(m.put_node(n));
  auto cov = metering_coverage(m);
  auto find = [&](std::string et, int level) {
    for (auto& c : cov)
      if (c.energy_type == et && c.level == level)
        return c;
    FAIL("no coverage row");
    return coverage{};
  };
  auto e3 = find("electricity", 3);
  CHECK(e3.using_units == 2);
  CHECK(e3.metered_units == 1);
  CHECK(e3.rate_percent == Approx(50));
  CHECK(e3.required_percent == 95);
  CHECK_FALSE(e3.meets());
  CHECK(e3.unmetered == std::vector<std::string>{"Plant/Branch factory 1/Lathe"});
  auto e1 = find("electricity", 1);
  CHECK(e1.meets());
  auto g2 = find("natural_gas", 2);
  CHECK(g2.using_units == 1);
  CHECK(g2.meets());

  // A level-2 workshop whose only equipment is metered is metered through it.
  ok(m.put_node(make_node("paint", "Paint shop", node_kind::workshop, "plant", 2)));
  ok(m.put_node(make_node("oven", "Oven", node_kind::equipment, "paint", 3)));
  ok(m.put_meter(make_meter("m_g9", "Oven gas", "natural_gas", "oven", 3)));
  cov = metering_coverage(m);
  g2 = find("natural_gas", 2);
  CHECK(g2.using_units == 2);
  CHECK(g2.metered_units == 2);
  CHECK(g2.unmetered.empty());
  // Until a second machine of the shop burns gas without a meter.
  auto dryer = make_node("dryer", "Dryer", node_kind::equipment, "paint", 3);
  dryer.energy_type = "natural_gas";
  ok(m.put_node(dryer));
  cov = metering_coverage(m);
  g2 = find("natural_gas", 2);
  CHECK(g2.metered_units == 1);
  CHECK(g2.unmetered == std::vector<std::string>{"Plant/Paint shop"});
  CHECK(find("natural_gas", 3).unmetered == std::vector<std::string>{"Plant/Paint shop/Dryer"});
}

TEST_CASE("equipment and meter details: out of line, copied deep, freed when empty", "[energy]") {
  node n;
  n.id = "press";
  CHECK(n.equipment.empty());
  CHECK(n.equipment->spec.empty());  // reading allocates nothing
  CHECK(n.equipment.empty());
  n.equipment.edit().spec = "400 t";
  n.equipment.edit().start_date = absl::CivilDay(2024, 5, 1);
  node copy = n;
  copy.equipment.edit().spec = "500 t";
  CHECK(n.equipment->spec == "400 t");
  CHECK(copy.equipment->spec == "500 t");
  CHECK(copy.equipment->start_date == absl::CivilDay(2024, 5, 1));
  copy = n;
  CHECK(copy.equipment->spec == "400 t");
  meter m;
  m.details.edit();
  m.details.shrink();  // nothing set: freed
  CHECK(m.details.empty());
  m.details.edit().maker = "Chint";
  m.details.shrink();
  CHECK(m.details->maker == "Chint");
  meter moved = std::move(m);
  CHECK(moved.details->maker == "Chint");
}

TEST_CASE("counters and days across the autumn DST change: the repeated hour holds both hours",
          "[energy]") {
  absl::TimeZone berlin;
  REQUIRE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  // 2026-10-25: 03:00 CEST becomes 02:00 CET; the day has 25 hours.
  absl::CivilDay day(2026, 10, 25);
  int64_t start = absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(day), berlin));
  counter_tracker c(0, 1, 2 * 3600 * 1000);
  std::map<absl::CivilHour, double> hours;
  c.reading(start, 0, berlin, nullptr);
  for (int k = 1; k <= 25; ++k)  // a reading every real hour, 10 kWh each
    for (const auto& s : c.reading(start + k * 3600'000LL, 10.0 * k, berlin, nullptr)) {
      CHECK(s.q == quality::measured);
      hours[s.hour] += s.amount;
    }
  REQUIRE(hours.size() == 24);  // civil hours
  CHECK(hours[absl::CivilHour(day) + 2] == Approx(20));
  CHECK(hours[absl::CivilHour(day) + 1] == Approx(10));
  CHECK(hours[absl::CivilHour(day) + 3] == Approx(10));
  // The graph adds them up: the day is 250 kWh, measured.
  model m = example();
  engine e(berlin);
  e.load(m);
  for (const auto& [h, v] : hours)
    REQUIRE(e.add_hour("m_e0.v", h, v, quality::measured));
  auto now = absl::FromCivil(absl::CivilSecond(day + 1), berlin);
  auto v = e.value("p.elec", period_of(resolution::day, absl::CivilSecond(day)), now);
  CHECK(v.value == Approx(250));
  CHECK(v.quality == quality::measured);
}

TEST_CASE("days across the spring DST change: the skipped hour is not required", "[energy]") {
  absl::TimeZone berlin;
  REQUIRE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  // 2026-03-29: 02:00 CET becomes 03:00 CEST; the day has 23 hours.
  absl::CivilDay day(2026, 3, 29);
  model m = example();
  engine e(berlin);
  e.load(m);
  for (int h = 0; h < 24; ++h)
    if (h != 2)
      REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + h, {10, quality::measured}));
  auto now = absl::FromCivil(absl::CivilSecond(day + 1), berlin);
  auto dp = period_of(resolution::day, absl::CivilSecond(day));
  auto v = e.value("p.elec", dp, now);
  CHECK(v.value == Approx(230));
  CHECK(v.quality == quality::measured);
  // Any other missing hour still makes the day missing.
  REQUIRE(e.set_hour("m_e0.v", absl::CivilHour(day) + 5, {0, quality::missing}));
  CHECK(e.value("p.elec", dp, now).quality == quality::missing);
}

TEST_CASE("import check: sibling unit names are unique, in a flat tree of thousands too",
          "[energy][import]") {
  model m = seeded_model();
  m.nodes.emplace(atom("plant"), make_node("plant", "Plant", node_kind::plant, "", 1));
  for (int i = 0; i < 5000; ++i) {
    auto id = "n" + std::to_string(i);
    m.nodes.emplace(atom(id),
                    make_node(id, "Unit " + std::to_string(i), node_kind::equipment, "plant", 3));
  }
  m.reindex();
  CHECK(m.check().empty());
  m.nodes.emplace(atom("dup"), make_node("dup", "Unit 17", node_kind::equipment, "plant", 3));
  m.reindex();
  auto found = m.check();
  REQUIRE(found.size() == 1);
  CHECK(found[0].path == "nodes[n17].name");
  CHECK_THAT(found[0].message, Catch::Contains("already has a unit named \"Unit 17\" (dup)"));
  // The same name under another parent is fine.
  m.nodes.erase("dup");
  m.nodes.emplace(atom("b"), make_node("b", "Branch", node_kind::branch, "plant", 2));
  m.nodes.emplace(atom("b17"), make_node("b17", "Unit 17", node_kind::equipment, "b", 3));
  m.reindex();
  CHECK(m.check().empty());
}

TEST_CASE("electricity comes with an example TOU tariff to edit, and two prices valid at once are "
          "refused",
          "[energy]") {
  model m = seeded_model();
  auto el = m.energy_types.at("electricity");
  REQUIRE(el.prices.size() == 1);
  const auto ex = el.prices[0];
  CHECK_THAT(ex.version, Catch::Contains("示例"));
  CHECK(ex.tou.size() == 3);
  // Valley, peak and flat hours of a day, and the 3:1 peak-valley ratio.
  CHECK(price_of_hour(ex, absl::CivilHour(2026, 11, 30, 3)) == Approx(0.30));
  CHECK(price_of_hour(ex, absl::CivilHour(2026, 11, 30, 9)) == Approx(1.04));
  CHECK(price_of_hour(ex, absl::CivilHour(2026, 11, 30, 13)) == Approx(0.65));
  CHECK(price_of_hour(ex, absl::CivilHour(2026, 11, 30, 19)) == Approx(1.04));
  CHECK(price_of_hour(ex, absl::CivilHour(2026, 11, 30, 23)) == Approx(0.65));
  CHECK(1.04 / 0.30 >= 3);

  // A contract price added on top of it: which one holds would be the
  // list's order, so it is refused, naming the one to end or edit.
  price contract;
  contract.version = "2027 contract";
  contract.flat = 0.71;
  contract.valid_from = absl::CivilDay(2027, 1, 1);
  el.prices.push_back(contract);
  auto r = m.put_energy_type(el, true);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("prices[1]")
                                    && Catch::Contains("overlaps prices[0]")
                                    && Catch::Contains("示例"));
  // The example ended where the contract starts: both kept, each on its days.
  el.prices[0].valid_to = absl::CivilDay(2027, 1, 1);
  ok(m.put_energy_type(el, true));
  const auto& prices = m.energy_types.at("electricity").prices;
  CHECK(price_at(prices, absl::CivilDay(2026, 12, 31))->version == ex.version);
  CHECK(price_at(prices, absl::CivilDay(2027, 1, 1))->version == "2027 contract");
}

TEST_CASE("changes: a new unit or meter, or a rename, leaves the graph as a full compile has it",
          "[energy]") {
  auto tz = shanghai();
  model m = example();
  m.take_changes();
  engine kept(tz);
  kept.load(m);
  absl::CivilDay day(2026, 11, 20);
  auto feed = [&](engine& e) {
    for (int h = 0; h < 24; ++h) {
      absl::CivilHour hour = absl::CivilHour(day) + h;
      REQUIRE(e.set_hour("m_e0.v", hour, {40.0 + h, quality::measured}));
      REQUIRE(e.set_hour("m_e1.v", hour, {10.0 + h, quality::measured}));
      REQUIRE(e.set_hour("m_g0.v", hour, {5, quality::measured}));
    }
  };
  feed(kept);
  // A new unit, a new meter under it, a unit renamed: none changes the graph.
  ok(m.put_node(make_node("paint", "Paint shop", node_kind::workshop, "b1", 2)));
  ok(m.put_meter(make_meter("m_p", "Paint electricity", "electricity", "paint", 2)));
  auto press = m.nodes.at("press");
  press.name = "Press line 2";
  ok(m.put_node(press));
  auto changes = m.take_changes();
  REQUIRE(changes.size() == 3);
  for (const auto& c : changes) {
    CAPTURE(c.kind, c.id);
    CHECK_FALSE(c.structural);
  }
  // The graph kept answers what a graph compiled from the changed model does.
  engine fresh(tz);
  fresh.load(m);
  feed(fresh);
  auto now = at(tz, 2026, 11, 21, 10);
  period d = period_of(resolution::day, absl::CivilSecond(day));
  for (const auto& [id, i] : m.indicators) {
    CAPTURE(std::string(id));
    auto a = kept.value(std::string(id), d, now), b = fresh.value(std::string(id), d, now);
    CHECK(a.quality == b.quality);
    if (b.quality != quality::missing)
      CHECK(a.value == Approx(b.value));
  }
  // The meter's first indicator changes the graph, and so does moving a
  // meter or a unit that has some.
  ok(m.put_indicator(ind("m_p.v", "Reading", "active_energy", "m_p", source_kind::meter)));
  auto e11 = m.meters.at("m_e11");
  e11.node = "paint";
  ok(m.put_meter(e11));
  auto boiler1 = m.nodes.at("boiler1");
  boiler1.parent = "b1";
  ok(m.put_node(boiler1));
  auto moved = m.take_changes();
  REQUIRE(moved.size() == 3);
  for (const auto& c : moved) {
    CAPTURE(c.kind, c.id);
    CHECK(c.structural);
  }
}

TEST_CASE("changes: new prices and coefficient versions are read again without compiling, as a "
          "full compile reads them",
          "[energy]") {
  auto tz = shanghai();
  model m = example();
  set_peak_tariff(m);
  ok(m.put_indicator(ind("p.ecost", "Electricity cost", "cost", "plant", source_kind::formula,
                         "#p.elec * price(electricity)")));
  ok(m.put_indicator(ind("b1.wman", "Water (read daily)", "water_use", "b1", source_kind::manual)));
  ok(m.put_indicator(ind("p.mixed", "Mixed cost", "cost", "plant", source_kind::formula,
                         "#m_e0.v * price(electricity) + #b1.wman * price(water)")));
  m.take_changes();
  auto feed = [&](engine& e) {
    for (int d = 1; d <= 20; ++d) {
      for (int h = 0; h < 24; ++h) {
        absl::CivilHour hour(2026, 11, d, h);
        REQUIRE(e.set_hour("m_e0.v", hour, {40.0 + h, quality::measured}));
        REQUIRE(e.set_hour("m_w0.v", hour, {2, quality::measured}));
        REQUIRE(e.set_hour("m_g0.v", hour, {5, quality::measured}));
      }
      REQUIRE(e.set_day("b1.wman", absl::CivilDay(2026, 11, d), {30.0 + d, quality::manual}));
    }
  };
  engine kept(tz);
  kept.load(m);
  feed(kept);
  auto now = at(tz, 2026, 11, 21, 10);
  std::vector<period> periods{
    period_of(resolution::day, absl::CivilSecond(2026, 11, 12, 0, 0, 0)),
    period_of(resolution::day, absl::CivilSecond(2026, 11, 18, 0, 0, 0)),
    period_of(resolution::month, absl::CivilSecond(2026, 11, 1, 0, 0, 0))};
  auto same_as_compiled = [&] {
    engine fresh(tz);
    fresh.load(m);
    feed(fresh);
    for (const auto& p : periods)
      for (const auto& [id, i] : m.indicators) {
        CAPTURE(std::string(id), label(p));
        auto a = kept.value(std::string(id), p, now), b = fresh.value(std::string(id), p, now);
        CHECK(a.quality == b.quality);
        CHECK(a.value == Approx(b.value).epsilon(1e-12));
      }
  };
  double cost_before = kept.value("p.ecost", periods[2], now).value;  // frames kept
  // Electricity: a new TOU tariff from the 10th (still a TOU price) and a
  // new standard-coal version from the 15th (one version becomes two).
  auto el = m.energy_types.at("electricity");
  new_version_from(el.prices, "from the 10th", absl::CivilDay(2026, 11, 10),
                   [](price& p) { p.flat = 0.9; });
  REQUIRE(el.coal_equivalent.size() == 1);
  new_version_from(el.coal_equivalent, "from the 15th", absl::CivilDay(2026, 11, 15),
                   [](coefficient& c) { c.value *= 1.1; });
  ok(m.put_energy_type(el));
  auto changes = m.take_changes();
  REQUIRE(changes.size() == 1);
  CHECK_FALSE(changes[0].structural);
  CHECK(changes[0].coefficients);
  auto compiled = kept.compilations();
  REQUIRE(kept.reload_coefficients(m));
  CHECK(kept.compilations() == compiled);
  CHECK(kept.frames_kept() == 0);  // values made with the old prices are gone
  CHECK(kept.value("p.ecost", periods[2], now).value != Approx(cost_before));
  same_as_compiled();
  // A new energy type: read by nothing yet.
  energy_type steam2 = m.energy_types.at("steam");
  steam2.id = "steam2";
  ok(m.put_energy_type(steam2));
  changes = m.take_changes();
  REQUIRE(changes.size() == 1);
  CHECK_FALSE(changes[0].structural);
  CHECK_FALSE(changes[0].coefficients);
  // Water from one price to two: the formula with a daily entry at the
  // water price would be split another way, so the graph must be compiled.
  auto water = m.energy_types.at("water");
  new_version_from(water.prices, "from the 15th", absl::CivilDay(2026, 11, 15),
                   [](price& p) { p.flat = 5.0; });
  ok(m.put_energy_type(water));
  CHECK_FALSE(kept.reload_coefficients(m));
  kept.load(m);
  same_as_compiled();
}
