// plant::summarize: the plant state the services show, and the conditions
// the alarm actor turns into alarms, from the supervisor's samples.
#include <catch2/catch.hpp>

#include <algorithm>

#include "model/plant/summary.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace plantd::plant;
using namespace std::chrono_literals;

namespace {

const time_point t0{std::chrono::milliseconds{1'780'488'000'000}};

// A plant of `n` cabinets and two inverters, everything fresh and answering.
struct view {
  config cfg;
  dispatch::snapshot snap;
  dispatch::decision last;
  dispatch::state dstate;
  std::vector<cabinet_sample> cabinets;
  std::vector<inverter_sample> inverters;
  meter_sample grid;
  meter_sample pv_meter;
  std::map<std::string, meter_sample> sub_meters;
  summary_input in;
  summary_memory mem;

  explicit view(std::size_t n = 2)
    : cfg(test::valid_config(n)) {
    snap.now = snap.calendar = t0;
    snap.grid_w = {-3'000, quality::measured};
    snap.grid_time = t0;
    for (std::size_t i = 0; i < n; ++i) {
      dispatch::cabinet_input c;
      c.fresh = true;
      c.soc = 50;
      snap.cabinets.push_back(c);
      cabinet_sample s;
      s.index = static_cast<uint32_t>(i);
      s.ok = true;
      s.time = t0;
      cabinets.push_back(s);
    }
    snap.inverters = {{true, 20'000, 0}, {true, 20'000, 0}};
    inverters = {{0, t0, true, 6'000, "", "", "", false}, {1, t0, true, 4'000, "", "", "", false}};
    last.cabinet_w.assign(n, 0);
    grid.power_w = snap.grid_w;
    in.cfg = &cfg;
    in.snap = &snap;
    in.last = &last;
    in.dstate = &dstate;
    in.cabinets = &cabinets;
    in.inverters = &inverters;
    in.grid = &grid;
    in.sub_meters = &sub_meters;
  }

  plant_state at(time_point t) {
    snap.now = snap.calendar = t;
    return summarize(in, mem);
  }
  plant_state now() { return summarize(in, mem); }
};

bool has(const plant_state& ps, const std::string& code, const std::string& device) {
  return std::any_of(ps.conditions.begin(), ps.conditions.end(),
                     [&](const auto& c) { return c.code == code && c.device == device; });
}

}  // namespace

TEST_CASE("summary: SOC weighted by energy over the cabinets that answer, and the flows",
          "[summary]") {
  struct row {
    const char* what;
    bool second_fresh;
    double soc;        // expected
    double battery_w;  // expected
    double load_w;     // grid + PV + battery
  };
  // C01 100 kWh at 40 % discharging 5 kW; C02 300 kWh at 80 % charging 2 kW;
  // grid -3 kW, PV 10 kW.
  const row rows[] = {
    {"both", true, 70, 3'000, 10'000},
    {"C02 silent", false, 40, 5'000, 12'000},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    view v;
    v.cfg.cabinets[0].rated_energy_wh = 100'000;
    v.cfg.cabinets[1].rated_energy_wh = 300'000;
    v.snap.cabinets[0].soc = 40;
    v.snap.cabinets[0].power_w = 5'000;
    v.snap.cabinets[1].soc = 80;
    v.snap.cabinets[1].power_w = -2'000;
    v.snap.cabinets[1].fresh = r.second_fresh;
    auto ps = v.now();
    CHECK(ps.soc_percent.value == Approx(r.soc));
    CHECK(ps.soc_percent.quality == quality::measured);
    CHECK(ps.battery_w == r.battery_w);
    CHECK(ps.pv_w.value == 10'000);
    CHECK(ps.load_w.value == Approx(r.load_w));
    CHECK(ps.load_w.quality == quality::estimated);
    CHECK(ps.cabinets.size() == 2);
    CHECK(ps.cabinets[1].available == r.second_fresh);
    CHECK(has(ps, "comm_lost", "C02") == !r.second_fresh);
  }
  // No cabinet answers: no SOC at all.
  view v;
  for (auto& c : v.snap.cabinets)
    c.fresh = false;
  CHECK_FALSE(v.now().soc_percent.usable());
}

TEST_CASE("summary: where PV comes from, and when the load is known", "[summary]") {
  struct row {
    const char* what;
    bool inverters;     // configured (else the PV meter)
    bool second_fresh;  // the second inverter answers
    bool pv_meter;      // a PV meter sample
    double grid_age_s;  // of the grid reading
    double pv_w;
    quality pv_q;
    bool load_known;
  };
  const row rows[] = {
    {"inverters", true, true, false, 0, 10'000, quality::measured, true},
    {"an inverter silent", true, false, false, 0, 6'000, quality::missing, false},
    {"the PV meter", false, true, true, 0, 7'500, quality::measured, true},
    {"no PV source", false, true, false, 0, 0, quality::missing, false},
    {"grid meter stale", true, true, false, 2.5, 10'000, quality::measured, false},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    view v;
    if (!r.inverters) {
      v.snap.inverters.clear();
      v.inverters.clear();
      v.cfg.rs485_lines[2].devices.clear();
    }
    if (r.inverters)
      v.snap.inverters[1].fresh = r.second_fresh;
    v.pv_meter.power_w = {7'500, quality::measured};
    if (r.pv_meter)
      v.in.pv_meter = &v.pv_meter;
    v.snap.grid_time = t0 - std::chrono::milliseconds{static_cast<int>(r.grid_age_s * 1000)};
    auto ps = v.now();
    CHECK(ps.pv_w.value == r.pv_w);
    CHECK(ps.pv_w.quality == r.pv_q);
    CHECK(ps.load_w.usable() == r.load_known);
    CHECK(ps.grid_meter_available == (r.grid_age_s <= 2));
    CHECK(has(ps, "comm_lost", "grid-meter") == (r.grid_age_s > 2));
    CHECK(has(ps, "comm_lost", "inv-2") == (r.inverters && !r.second_fresh));
  }
}

TEST_CASE("summary: the conditions of the plant", "[summary]") {
  struct row {
    const char* what;
    void (*set)(view&);
    const char* code;
    const char* device;
    alarms::severity level;
  };
  const row rows[] = {
    {"grid meter silent",
     [](view& v) {
       v.snap.grid_time = t0 - 3s;
       v.grid.error = "timeout";
     },
     "comm_lost", "grid-meter", alarms::severity::critical},
    {"grid meter impossible",
     [](view& v) {
       v.grid.power_w.quality = quality::invalid;
       v.snap.grid_w.quality = quality::invalid;
     },
     "invalid_reading", "grid-meter", alarms::severity::critical},
    {"I/O lines fail",
     [](view& v) {
       v.in.io_present = true;
       v.in.io_ok = false;
     },
     "comm_lost", "io", alarms::severity::major},
    {"plant stopped", [](view& v) { v.last.binding = dispatch::rule::safety; }, "plant_stopped",
     "plant", alarms::severity::critical},
    {"fail-safe", [](view& v) { v.last.binding = dispatch::rule::fail_safe; }, "fail_safe", "plant",
     alarms::severity::major},
    {"export trip", [](view& v) { v.dstate.export_trip = true; }, "export_trip", "plant",
     alarms::severity::critical},
    {"a cabinet's fault bits",
     [](view& v) {
       v.cabinets[1].flags.push_back(
         {"cm2-cabinet.fire", "C02", alarms::severity::critical, "fire"});
     },
     "cm2-cabinet.fire", "C02", alarms::severity::critical},
    {"another master writes C01",
     [](view& v) {
       v.snap.cabinets[0].fresh = false;  // excluded from dispatch
       v.in.foreign["C01"] = {12'000, 3'000};
     },
     "foreign_master", "C01", alarms::severity::critical},
    {"a sub-meter silent",
     [](view& v) {
       meter_sample m;
       m.time = t0 - 1h;
       m.import_wh = {1, quality::measured};
       v.sub_meters["boiler"] = m;
     },
     "comm_lost", "boiler", alarms::severity::warning},
    {"a generic alarm input",
     [](view& v) {
       v.cfg.io.inputs.push_back({1, input_function::generic_alarm, false, "door"});
       v.in.io_present = true;
       v.in.io_ok = true;
       v.in.di = {true, false};
     },
     "digital_input", "DI1", alarms::severity::major},
  };
  {
    view v;
    CHECK(v.now().conditions.empty());  // a healthy plant has none
  }
  for (const auto& r : rows) {
    INFO(r.what);
    view v;
    r.set(v);
    auto ps = v.now();
    REQUIRE(ps.conditions.size() == 1);
    CHECK(ps.conditions[0].code == r.code);
    CHECK(ps.conditions[0].device == r.device);
    CHECK(ps.conditions[0].level == r.level);
  }
}

TEST_CASE("summary: cabinets behind a cut EMS-Switch uplink make one alarm", "[summary]") {
  // Twelve cabinets: C11 and C12 reach the EMS through the EMS-Switch unit.
  view v(12);
  auto silent = [&](const char* id, bool s) {
    auto i = static_cast<std::size_t>(std::stoi(id + 1) - 1);
    v.snap.cabinets[i].fresh = !s;
  };
  struct row {
    std::chrono::milliseconds at;
    bool c11_silent, c12_silent;
    bool uplink, c11_lost, c12_lost;
  };
  const row rows[] = {
    {0ms, true, true, false, false, false},      // silent a moment: not yet
    {2999ms, true, true, false, false, false},   //
    {3000ms, true, true, true, false, false},    // settled: one uplink alarm
    {4000ms, false, true, true, false, false},   // coming back one by one, each at
    {14999ms, false, true, true, false, false},  // its link's next retry (uplink_return)
    {15000ms, false, true, false, false, true},  // C12 stays silent: its own alarm
  };
  for (const auto& r : rows) {
    INFO(r.at.count() << " ms");
    silent("C11", r.c11_silent);
    silent("C12", r.c12_silent);
    auto ps = v.at(t0 + r.at);
    CHECK(has(ps, "uplink_lost", "ems-switch-1") == r.uplink);
    CHECK(has(ps, "comm_lost", "C11") == r.c11_lost);
    CHECK(has(ps, "comm_lost", "C12") == r.c12_lost);
  }
  // A cabinet on the primary unit is reported at once.
  v.snap.cabinets[0].fresh = false;
  CHECK(has(v.at(t0 + 16s), "comm_lost", "C01"));
}
