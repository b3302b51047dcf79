// The model workbook: export, and the plan an import makes of the sheets
// against the model stored (merged records, refused rows and why).
#include <catch2/catch.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "services/model_table.hpp"

using namespace plantd;
using namespace plantd::services;

namespace {

v1::EnergyModel small_model() {
  v1::EnergyModel m;
  m.mutable_enterprise()->set_name("示例企业");
  m.mutable_enterprise()->set_language("zh");
  m.mutable_enterprise()->set_currency("CNY");
  m.mutable_enterprise()->set_time_zone("Asia/Shanghai");
  auto* e = m.add_energy_types();
  e->set_id("elec");
  e->set_name("电力");
  e->set_unit("kWh");
  e->add_coal_equivalent()->set_value(0.1229);  // not in the workbook: kept
  auto* p = m.add_nodes();
  p->set_id("plant");
  p->set_name("总厂");
  p->set_kind("plant");
  p->set_metering_level(1);
  auto* w = m.add_nodes();
  w->set_id("w1");
  w->set_name("一车间");
  w->set_kind("workshop");
  w->set_parent("plant");
  w->set_metering_level(2);
  w->set_spec("A-1");
  auto* mt = m.add_meters();
  mt->set_id("m1");
  mt->set_name("一车间电表");
  mt->set_node("w1");
  mt->set_energy_type("elec");
  mt->set_metering_level(2);
  mt->set_ct_ratio(40);
  auto* i = m.add_indicators();
  i->set_id("w1.elec");
  i->set_name("一车间用电");
  i->set_owner("w1");
  i->set_template_id("t.elec");
  i->set_source("meter");
  return m;
}

named_table sheet(std::string name, std::vector<std::vector<std::string>> rows) {
  named_table t{std::move(name), {}};
  int line = 1;
  for (auto& r : rows)
    t.rows.push_back({line++, std::move(r)});
  return t;
}

std::vector<std::string> reasons(const model_import_plan& p) {
  std::vector<std::string> out;
  for (const auto& r : p.refused)
    out.push_back(fmt::format("{}:{}: {}", r.sheet, r.line, r.reason));
  return out;
}

}  // namespace

TEST_CASE("model workbook: exported and read back, nothing changes", "[model_table]") {
  auto m = small_model();
  for (bool zh : {true, false}) {
    INFO((zh ? "zh" : "en"));
    auto bytes = to_xlsx_sheets(model_sheets(m, zh));
    REQUIRE(bytes);
    auto sheets = read_xlsx_sheets(*bytes);
    REQUIRE(sheets);
    REQUIRE(sheets->size() == 7);
    CHECK(sheets->at(3).name == (zh ? "用能单位" : "nodes"));
    CHECK(sheets->at(3).rows.at(0).cells.at(3) == (zh ? "上级" : "parent"));
    auto plan = plan_model_import(*sheets, m);
    CHECK(reasons(plan).empty());
    CHECK(plan.puts.empty());
    // The enterprise, one energy type, two units, a meter, an indicator.
    CHECK(plan.unchanged == 6);
  }
}

TEST_CASE("model workbook: a sheet of some columns changes only those", "[model_table]") {
  auto m = small_model();
  // Chinese headers; w1 renamed, a new unit below it (listed first), its meter.
  std::vector<named_table> book{
    sheet("计量器具", {{"编号", "名称", "所属单位", "能源种类", "计量级别", "CT变比"},
                       {"m2", "二号电表", "w2", "elec", "3", "1.5"}}),
    sheet("用能单位", {{"编号", "名称", "上级", "类别", "计量级别", "投用日期"},
                       {"w2", "二工段", "w1", "workshop", "3", "46000"},
                       {"w1", "一号车间", "plant", "workshop", "2", ""}}),
  };
  auto plan = plan_model_import(book, m);
  REQUIRE(reasons(plan).empty());
  REQUIRE(plan.puts.size() == 3);
  // Units first (the sheets' order), the parent before its child.
  CHECK(plan.puts[0].put.node().id() == "w1");
  CHECK_FALSE(plan.puts[0].create);
  CHECK(plan.puts[0].put.node().name() == "一号车间");
  CHECK(plan.puts[0].put.node().spec() == "A-1");  // not a column: kept
  CHECK(plan.puts[1].put.node().id() == "w2");
  CHECK(plan.puts[1].create);
  CHECK(plan.puts[1].line == 2);
  CHECK(plan.puts[1].put.node().start_date() == "2025-12-09");  // a date cell
  CHECK(plan.puts[2].put.meter().ct_ratio() == 1.5);
  CHECK(plan.puts[2].put.meter().metering_level() == 3);
  CHECK(plan.puts[2].sheet == "计量器具");
  // Indicators come after the ones their formulas name, whatever the rows' order.
  auto chain = plan_model_import(
    {sheet("indicators", {{"id", "name", "owner", "template_id", "source", "formula"},
                          {"c", "C", "w1", "t", "formula", "#b * 2"},
                          {"b", "B", "w1", "t", "formula", "#a + #w1.elec"},
                          {"a", "A", "w1", "t", "formula", "1"}})},
    m);
  REQUIRE(chain.puts.size() == 3);
  CHECK(chain.puts[0].put.indicator().id() == "a");
  CHECK(chain.puts[1].put.indicator().id() == "b");
  CHECK(chain.puts[2].put.indicator().id() == "c");
  CHECK(chain.puts[2].line == 2);
  // An empty cell in a column the sheet has clears the field.
  auto cleared =
    plan_model_import({sheet("nodes", {{"id", "spec"}, {"w1", ""}})}, m).puts.at(0).put.node();
  CHECK(cleared.spec().empty());
  CHECK(cleared.name() == "一车间");
  // The energy type's coefficients are not in the workbook: a rename keeps them.
  auto et =
    plan_model_import({sheet("energy_types", {{"id", "name_en"}, {"elec", "Electricity"}})}, m)
      .puts.at(0)
      .put.energy_type();
  CHECK(et.name() == "电力");
  CHECK(et.coal_equivalent_size() == 1);
}

TEST_CASE("model workbook: what is refused, and why", "[model_table]") {
  auto m = small_model();
  struct row {
    const char* what;
    named_table sheet;
    const char* reason;  // the first refusal
  };
  const row rows[] = {
    {"an unknown sheet", sheet("说明", {{"x"}}),
     "说明:0: not a sheet of the model; the sheets are enterprise (企业), energy_types (能源种类), "
     "templates (指标模板), nodes (用能单位), meters (计量器具), products (产品), indicators "
     "(指标)"},
    {"an unknown column", sheet("nodes", {{"id", "nmae"}, {"w1", "x"}}),
     "nodes:1: column \"nmae\" is not a field of nodes; the columns are id (编号), name (名称), "
     "kind (类别), parent (上级), metering_level (计量级别), spec (规格型号), location (安装位置), "
     "maker (生产厂家), energy_type (能源种类), rated_power_kw (额定功率(kW)), start_date "
     "(投用日期)"},
    {"no id column", sheet("meters", {{"name"}, {"x"}}),
     "meters:1: no id column (id, 编号): a row names its record by id"},
    {"a column twice", sheet("nodes", {{"id", "name", "名称"}, {"w1", "a", "b"}}),
     "nodes:1: column \"name\" is there twice"},
    {"an empty id", sheet("nodes", {{"id", "name"}, {"", "x"}}), "nodes:2: id: empty"},
    {"an id twice", sheet("nodes", {{"id", "name"}, {"w9", "x"}, {"w9", "y"}}),
     "nodes:3: id w9 is on row 2 already"},
    {"not a number", sheet("meters", {{"id", "ct_ratio"}, {"m1", "forty"}}),
     "meters:2: ct_ratio: \"forty\" is not a number"},
    {"not a whole number", sheet("nodes", {{"id", "metering_level"}, {"w1", "2.5"}}),
     "nodes:2: metering_level: \"2.5\" is not a whole number"},
    {"two enterprises", sheet("enterprise", {{"name"}, {"A"}, {"B"}}),
     "enterprise:3: the enterprise is one row"},
    {"a value under no header", sheet("nodes", {{"id", "", "name"}, {"w1", "x", "y"}}),
     "nodes:2: a value in column B which has no header"},
    {"a value beyond the header", sheet("nodes", {{"id", "name"}, {"w1", "y", "", "z"}}),
     "nodes:2: a value in column D which has no header"},
    {"the enterprise's currency emptied", sheet("企业", {{"名称", "货币"}, {"A", ""}}),
     "企业:2: currency: empty; it is required"},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    auto plan = plan_model_import({r.sheet}, m);
    REQUIRE_FALSE(plan.refused.empty());
    CHECK(reasons(plan).front() == r.reason);
  }
  // A sheet given twice (by both its names).
  auto plan =
    plan_model_import({sheet("nodes", {{"id"}, {"w1"}}), sheet("用能单位", {{"id"}, {"w1"}})}, m);
  CHECK(reasons(plan)
        == std::vector<std::string>{"用能单位:0: the sheet \"nodes\" holds these "
                                    "records already"});
  // Blank rows and the formula-by-path column are passed over.
  plan = plan_model_import(
    {sheet("indicators", {{"id", "formula", "公式(路径)"}, {"", "", ""}, {"w1.elec", "", "x"}})},
    m);
  CHECK(plan.refused.empty());
  CHECK(plan.unchanged == 1);
}

TEST_CASE("model workbook: at most 64 sheets are read", "[model_table]") {
  std::vector<table_sheet> sheets;
  for (int i = 0; i < 65; ++i)
    sheets.push_back({fmt::format("s{}", i), {{"id"}, {"x"}}, {}});
  auto bytes = to_xlsx_sheets(sheets);
  REQUIRE(bytes);
  auto read = read_xlsx_sheets(*bytes);
  REQUIRE_FALSE(read);
  CHECK(read.error() == "65 sheets in the workbook; at most 64");
  sheets.pop_back();
  auto ok = read_xlsx_sheets(*to_xlsx_sheets(sheets));
  REQUIRE(ok);
  CHECK(ok->size() == 64);
  CHECK(ok->back().rows.at(1).cells.at(0) == "x");
}
