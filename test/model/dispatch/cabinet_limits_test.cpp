// rules::limit_cabinets: each cabinet's charge and discharge headroom.
#include <catch2/catch.hpp>

#include "test/model/dispatch/rule_support.hpp"

using namespace plantd;
using namespace plantd::dispatch;
using namespace plantd::dispatch::test;

TEST_CASE("cabinet limits: faults, staleness, BMS limits and derating", "[dispatch][rules]") {
  struct row {
    const char* what;
    cabinet_input c;
    double charge_w;
    double discharge_w;
    bool run;
    const char* notes;
  };
  auto cab = [](auto change) {
    auto c = healthy_cabinet();
    change(c);
    return c;
  };
  const row rows[] = {
    {"healthy", healthy_cabinet(), 100'000, 100'000, true, ""},
    {"fire", cab([](auto& c) { c.fire = true; }), 0, 0, false, "; cabinet 1 stopped (fire alarm)"},
    {"BMS fault", cab([](auto& c) { c.bms_fault = true; }), 0, 0, false,
     "; cabinet 1 stopped (BMS fault)"},
    {"stale", cab([](auto& c) { c.fresh = false; }), 0, 0, true, ""},
    {"contactor open", cab([](auto& c) { c.contactor_open = true; }), 0, 0, true, ""},
    {"BMS allows less", cab([](auto& c) {
       c.allowed_charge_w = 40'000;
       c.allowed_discharge_w = 70'000;
     }),
     40'000, 70'000, true, ""},
    {"BMS allows more than rated", cab([](auto& c) { c.allowed_charge_w = 150'000; }), 100'000,
     100'000, true, ""},
    {"45 °C: full", cab([](auto& c) { c.cell_temp_max_c = 45; }), 100'000, 100'000, true, ""},
    {"50 °C: half", cab([](auto& c) { c.cell_temp_max_c = 50; }), 50'000, 50'000, true, ""},
    {"55 °C: none", cab([](auto& c) { c.cell_temp_max_c = 55; }), 0, 0, true, ""},
    {"cooling fault", cab([](auto& c) { c.cooling_fault = true; }), 50'000, 50'000, true, ""},
    {"cooling fault at 50 °C", cab([](auto& c) {
       c.cooling_fault = true;
       c.cell_temp_max_c = 50;
     }),
     25'000, 25'000, true, ""},
    {"SOC at min", healthy_cabinet(10), 100'000, 0, true, ""},
    {"SOC at max", healthy_cabinet(95), 0, 100'000, true, ""},
  };
  plant::policies p;  // SOC 10..95 % (2 % hysteresis), derating 45..55 °C, x0.5
  for (const auto& r : rows) {
    INFO(r.what);
    auto s = plant_at(0);
    s.cabinets = {r.c};
    auto st = state_for();
    auto lim = rules::limit_cabinets(s, p, nullptr, st);
    CHECK(lim.charge_cap[0] == Approx(r.charge_w));
    CHECK(lim.discharge_cap[0] == Approx(r.discharge_w));
    CHECK(lim.run[0] == r.run);
    CHECK(lim.notes == r.notes);
    CHECK(lim.charge_max == Approx(r.charge_w));
    CHECK(lim.discharge_max == Approx(r.discharge_w));
  }
}

TEST_CASE("cabinet limits: the SOC bounds hold until the hysteresis is crossed",
          "[dispatch][rules]") {
  // One cabinet through a sequence of SOC readings, its locks carried over.
  struct row {
    double soc;
    bool discharge;  // allowed
    bool charge;
  };
  const row rows[] = {
    {50, true, true},    {10, false, true},                      // min reached: discharge locked
    {11, false, true},   {11.9, false, true}, {12, true, true},  // back by 2 %
    {94, true, true},    {95, true, false},                      // max reached: charge locked
    {93.5, true, false}, {93, true, true},
  };
  plant::policies p;
  auto st = state_for();
  for (const auto& r : rows) {
    INFO("SOC " << r.soc);
    auto s = plant_at(0);
    s.cabinets = {healthy_cabinet(r.soc)};
    auto lim = rules::limit_cabinets(s, p, nullptr, st);
    CHECK((lim.discharge_cap[0] > 0) == r.discharge);
    CHECK((lim.charge_cap[0] > 0) == r.charge);
    CHECK(st.soc_low_lock[0] == !r.discharge);
    CHECK(st.soc_high_lock[0] == !r.charge);
  }
}

TEST_CASE("cabinet limits: a TOU slot's SOC bounds, and a plant of several", "[dispatch][rules]") {
  plant::tou_slot slot;
  slot.soc_min_percent = 30;
  slot.soc_max_percent = 80;
  auto s = plant_at(0, 3);
  s.cabinets[0].soc = 30;  // at the slot's min: no discharge
  s.cabinets[1].soc = 80;  // at its max: no charge
  s.cabinets[2].soc = 50;
  auto st = state_for(3);
  auto lim = rules::limit_cabinets(s, {}, &slot, st);
  CHECK(lim.discharge_cap == std::vector<double>{0, 100'000, 100'000});
  CHECK(lim.charge_cap == std::vector<double>{100'000, 0, 100'000});
  CHECK(lim.charge_max == 200'000);
  CHECK(lim.discharge_max == 200'000);
  // A slot without SOC bounds changes nothing.
  plant::tou_slot open_slot;
  auto lim2 = rules::limit_cabinets(s, {}, &open_slot, st);
  CHECK(lim2.charge_max == 300'000);
  CHECK(lim2.discharge_max == 300'000);
}
