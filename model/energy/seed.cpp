// The reference data a new model starts with. Sources are recorded on every
// coefficient; README "Energy-carbon reference data" lists them and what to
// check against the licensed texts.
#include "model/energy/model.hpp"

namespace plantd::energy {
namespace {

constexpr const char* gbt2589_2020 = "GB/T 2589-2020 General principles for calculation of the "
                                     "comprehensive energy consumption, reference coefficients";
constexpr const char* gbt2589_2008_b = "GB/T 2589-2008 Appendix B (new water 2.51 MJ/t); check "
                                       "against the 2020 edition for your reporting";
constexpr const char* gb17167 = "GB 17167-2006 Table 1 (required metering-equipment rates); GB "
                                "17167-2025 applies from 2026-02-01";
constexpr const char* mee_2023 = "MEE notice on 2023-2025 power-sector GHG reporting (Feb 2023): "
                                 "national grid average 0.5703 tCO2/MWh (carbon-market reporting)";
constexpr const char* mee_nbs_2021 =
  "MEE & NBS announcement 2024 No. 12 (2024-04-12): 2021 national electricity CO2 factor";
constexpr const char* mee_nbs_2022 =
  "MEE & NBS announcement on 2022 electricity CO2 factors (2024-12-20)";
constexpr const char* mee_nbs_2023 = "MEE & NBS announcement on 2023 electricity CO2 factors";
constexpr const char* tou_example =
  "An example to edit, not a tariff: the usual shape of a provincial general industrial and "
  "commercial TOU tariff (valley 00:00-08:00, peak 08:00-11:00 and 17:00-22:00, flat "
  "otherwise) with the peak:valley ratio of at least 3:1 that NDRC 发改价格〔2021〕1093号 "
  "asks for; replace the windows and prices with the local grid's agency purchase tariff "
  "(代理购电价格表)";
constexpr const char* fuel_co2 = "computed: GB/T 2589 calorific value x GB/T 32150 default carbon "
                                 "content x oxidation rate x 44/12";

coefficient coef(double v, const char* src) {
  coefficient c;
  c.version = "GB/T 2589-2020";
  c.value = v;
  c.source = src;
  return c;
}

co2_factor co2(int year, std::string region, double v, const char* version, const char* src) {
  co2_factor f;
  f.version = version;
  f.year = year;
  f.region = std::move(region);
  f.value = v;
  f.source = src;
  return f;
}

energy_type type(const char* id, const char* name, const char* name_en, const char* unit, double r1,
                 double r2, double r3) {
  energy_type e;
  e.id = id;
  e.name = name;
  e.name_en = name_en;
  e.unit = unit;
  e.required_rate[0] = r1;
  e.required_rate[1] = r2;
  e.required_rate[2] = r3;
  e.rate_source = r1 < 0 ? "" : gb17167;
  return e;
}

indicator_template tpl(const char* id, const char* name, const char* name_en, indicator_kind k,
                       const char* et, const char* unit) {
  indicator_template t;
  t.id = id;
  t.name = name;
  t.name_en = name_en;
  t.kind = k;
  t.energy_type = et;
  t.unit = unit;
  return t;
}

}  // namespace

model seeded_model() {
  model m;
  auto elec = type("electricity", "电力", "Electricity", "kWh", 100, 100, 95);
  elec.coal_equivalent.push_back(coef(0.1229, gbt2589_2020));
  // The equal value follows the previous year's average coal rate of power
  // generation: the standard gives no fixed number, so none is seeded.
  elec.co2.push_back(co2(2022, "carbon-market", 0.5703, "MEE 2023 grid average", mee_2023));
  elec.co2.push_back(co2(2021, "", 0.5568, "MEE/NBS 2021 national", mee_nbs_2021));
  elec.co2.push_back(co2(2022, "", 0.5366, "MEE/NBS 2022 national", mee_nbs_2022));
  elec.co2.push_back(co2(2023, "", 0.5306, "MEE/NBS 2023 national", mee_nbs_2023));
  // A TOU structure the enterprise edits rather than builds. Its version
  // names it an example, and every cost computed with it lists that
  // version (Query's used versions), so an unedited one is seen.
  {
    price p;
    p.version = "示例分时电价（请按本地电价修改）";
    p.flat = 0.65;  // 平
    p.source = tou_example;
    p.tou = {{{}, "00:00", "08:00", 0.30},   // 谷
             {{}, "08:00", "11:00", 1.04},   // 峰
             {{}, "17:00", "22:00", 1.04}};  // 峰
    elec.prices.push_back(std::move(p));
  }
  for (auto [region, v] : {std::pair{"North", 0.6361},
                           {"Northeast", 0.5122},
                           {"East", 0.5500},
                           {"Central", 0.5271},
                           {"Northwest", 0.5543},
                           {"South", 0.4042},
                           {"Southwest", 0.2472}})
    elec.co2.push_back(co2(2023, region, v, "MEE/NBS 2023 regional", mee_nbs_2023));

  auto gas = type("natural_gas", "天然气", "Natural gas", "m3", 100, 100, 90);
  gas.coal_equivalent.push_back(coef(1.2143, gbt2589_2020));  // gas-field gas, 35,544 kJ/m3
  gas.co2.push_back(co2(2020, "", 1.974, "GB/T 32150 defaults", fuel_co2));

  auto water = type("water", "水", "Water", "t", 100, 95, 80);
  auto wc = coef(0.0857, gbt2589_2008_b);
  wc.version = "GB/T 2589-2008";
  water.coal_equivalent.push_back(wc);

  auto steam = type("steam", "蒸汽（低压）", "Steam (low pressure)", "t", 100, 80, 70);
  steam.coal_equivalent.push_back(coef(128.6, gbt2589_2020));  // 3,763 MJ/t

  auto heat = type("heat", "热力", "Heat", "GJ", -1, -1, -1);
  heat.coal_equivalent.push_back(coef(34.12, gbt2589_2020));  // 0.03412 kgce/MJ

  auto diesel = type("diesel", "柴油", "Diesel", "kg", 100, 100, 95);
  diesel.coal_equivalent.push_back(coef(1.4571, gbt2589_2020));  // 42,652 kJ/kg
  diesel.co2.push_back(co2(2020, "", 3.0959, "GB/T 32150 defaults", fuel_co2));

  auto coal = type("raw_coal", "原煤", "Raw coal", "kg", 100, 100, 90);
  coal.coal_equivalent.push_back(coef(0.7143, gbt2589_2020));  // 20,908 kJ/kg
  coal.co2.push_back(co2(2020, "", 1.9003, "GB/T 32150 defaults", fuel_co2));

  for (auto* e : {&elec, &gas, &water, &steam, &heat, &diesel, &coal})
    m.energy_types.emplace(e->id, *e);

  using k = indicator_kind;
  for (const auto& t : {
         tpl("active_energy", "正向有功总电能", "Forward active total energy", k::collection,
             "electricity", "kWh"),
         tpl("water_flow", "累计水流量", "Total water flow", k::collection, "water", "t"),
         tpl("gas_flow", "累计燃气流量", "Total gas flow", k::collection, "natural_gas", "m3"),
         tpl("steam_flow", "累计蒸汽流量", "Total steam flow", k::collection, "steam", "t"),
         tpl("heat_flow", "累计热量", "Total heat", k::collection, "heat", "GJ"),
         tpl("electricity_use", "用电量", "Electricity consumption", k::efficiency, "electricity",
             "kWh"),
         tpl("water_use", "用水量", "Water consumption", k::efficiency, "water", "t"),
         tpl("gas_use", "天然气用量", "Natural gas consumption", k::efficiency, "natural_gas",
             "m3"),
         tpl("steam_use", "蒸汽用量", "Steam consumption", k::efficiency, "steam", "t"),
         tpl("standard_coal", "折标量", "Standard coal equivalent", k::efficiency, "", "tce"),
         tpl("carbon", "碳排放量", "Carbon emissions", k::efficiency, "", "tCO2"),
         tpl("cost", "成本", "Energy cost", k::efficiency, "", "CNY"),
         tpl("comprehensive", "综合能耗", "Total comprehensive energy consumption", k::efficiency,
             "", "tce"),
         tpl("unit_product_energy", "单位产品综合能耗", "Comprehensive energy per unit of product",
             k::efficiency, "", "kgce/t"),
         // Per energy type, as the manual's efficiency templates.
         tpl("electricity_cost", "电力成本", "Electricity cost", k::efficiency, "electricity",
             "CNY"),
         tpl("electricity_coal", "电力折标量", "Electricity in standard coal", k::efficiency,
             "electricity", "tce"),
         tpl("electricity_carbon", "电力碳排放量", "Electricity carbon emissions", k::efficiency,
             "electricity", "tCO2"),
         tpl("gas_cost", "天然气成本", "Natural gas cost", k::efficiency, "natural_gas", "CNY"),
         tpl("gas_coal", "天然气折标量", "Natural gas in standard coal", k::efficiency,
             "natural_gas", "tce"),
         tpl("water_cost", "水成本", "Water cost", k::efficiency, "water", "CNY"),
       })
    m.templates.emplace(t.id, t);
  m.reindex();
  return m;
}

}  // namespace plantd::energy
