// Energy-carbon graph at enterprise scale: a 100,000-node tree (plant, 10
// branches, 1,000 workshops, 49,000 equipment each with an electricity meter
// = 100,011 units and meters), one indicator per meter, electricity and
// standard coal on every unit (sum_children up the tree).
//
// Prints JSON: full evaluation of one day of hourly values (24 hour frames +
// the day), the median incremental update after one meter reading (hour and
// day frames kept) and its ratio to the full evaluation, and the process RSS
// holding the model, the graph and that day, with what each stage added
// (freed memory is returned with malloc_trim after compiling, as plantd's
// energy book does). Then a TOU-priced cost on the plant: its day frame
// (summed over the hours) against the plain one.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <malloc.h>

#include <fmt/format.h>

#include "model/energy/engine.hpp"
#include "model/energy/model.hpp"

using namespace plantd;
using namespace plantd::energy;
using clk = std::chrono::steady_clock;

namespace {

long rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

void add_unit(model& m, const std::string& id, const std::string& parent, node_kind k, int level) {
  node n;
  n.id = id;
  n.name = id;
  n.kind = k;
  n.parent = parent;
  n.metering_level = level;
  m.nodes.emplace(id, n);
  indicator e;
  e.id = id + ".e";
  e.name = "Electricity";
  e.template_id = "electricity_use";
  e.owner = id;
  e.source = source_kind::formula;
  e.formula = k == node_kind::equipment ? "#" + id + ".m.v" : "sum_children(electricity_use)";
  m.indicators.emplace(e.id, e);
  if (k != node_kind::equipment) {
    indicator t;
    t.id = id + ".tce";
    t.name = "Standard coal";
    t.template_id = "standard_coal";
    t.owner = id;
    t.source = source_kind::formula;
    t.formula = "#" + id + ".e * coal(electricity)";
    m.indicators.emplace(t.id, t);
  } else {
    meter mt;
    mt.id = id + ".m";
    mt.name = "meter";
    mt.energy_type = "electricity";
    mt.node = id;
    mt.metering_level = 3;
    m.meters.emplace(mt.id, mt);
    indicator v;
    v.id = mt.id + ".v";
    v.name = "Reading";
    v.template_id = "active_energy";
    v.owner = mt.id;
    v.source = source_kind::meter;
    m.indicators.emplace(v.id, v);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = argc > 2 && std::string(argv[1]) == "--out" ? argv[2] : "";
  long rss0 = rss_kb();
  model m = seeded_model();
  add_unit(m, "plant", "", node_kind::plant, 1);
  std::vector<std::string> meters;
  for (int b = 0; b < 10; ++b) {
    auto bid = fmt::format("b{}", b);
    add_unit(m, bid, "plant", node_kind::branch, 2);
    for (int w = 0; w < 100; ++w) {
      auto wid = fmt::format("{}w{}", bid, w);
      add_unit(m, wid, bid, node_kind::workshop, 2);
      for (int e = 0; e < 49; ++e) {
        auto eid = fmt::format("{}e{}", wid, e);
        add_unit(m, eid, wid, node_kind::equipment, 3);
        meters.push_back(eid + ".m.v");
      }
    }
  }
  malloc_trim(0);  // building merged the tables' insertion tails
  long rss_records = rss_kb();
  m.reindex();
  malloc_trim(0);
  long rss_indexed = rss_kb();
  std::size_t units = m.nodes.size() + m.meters.size();
  absl::TimeZone tz;
  absl::LoadTimeZone("Asia/Shanghai", &tz);
  engine e(tz);
  e.load(m);
  malloc_trim(0);
  long rss_compiled = rss_kb();
  absl::CivilDay day(2026, 11, 20);
  for (const auto& id : meters)
    for (int h = 0; h < 24; ++h)
      e.set_hour(id, absl::CivilHour(day) + h, {10.0 + h, quality::measured});
  auto as_of = absl::FromCivil(absl::CivilSecond(2026, 11, 21, 0, 0, 0), tz);
  long rss_leaves = rss_kb();

  // Full evaluation of the day: every hour frame and the day frame.
  std::vector<double> full_ms;
  for (int rep = 0; rep < 5; ++rep) {
    e.load(m);  // drops the frames; leaves stay
    auto t0 = clk::now();
    for (int h = 0; h < 24; ++h)
      e.frame_values(period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + h)),
                     as_of);
    e.frame_values(period_of(resolution::day, absl::CivilSecond(day)), as_of);
    full_ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
  }
  std::sort(full_ms.begin(), full_ms.end());
  malloc_trim(0);  // each repetition recompiled the graph (as after a model change)
  auto check = e.value("plant.e", period_of(resolution::day, absl::CivilSecond(day)), as_of);
  double expect = meters.size() * (24 * 10.0 + 23 * 24 / 2.0);

  // Incremental: one meter reading (its hour and the day frames are kept).
  std::mt19937 rng(7);
  std::vector<double> inc_us;
  uint64_t evals0 = e.evaluations();
  for (int i = 0; i < 2000; ++i) {
    const auto& id = meters[rng() % meters.size()];
    int h = static_cast<int>(rng() % 24);
    auto t0 = clk::now();
    e.add_hour(id, absl::CivilHour(day) + h, 1.0, quality::measured);
    inc_us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
  }
  std::sort(inc_us.begin(), inc_us.end());
  double evals_per_update = static_cast<double>(e.evaluations() - evals0) / inc_us.size();
  auto after = e.value("plant.e", period_of(resolution::day, absl::CivilSecond(day)), as_of);
  long rss = rss_kb();

  // A TOU-priced cost on the plant: its day is the sum of its 24 hours'
  // costs, each hour evaluated on the cells the cost reads (here the whole
  // tree), against the plain day frame.
  auto dayp = period_of(resolution::day, absl::CivilSecond(day));
  std::vector<double> plain_ms;
  for (int rep = 0; rep < 3; ++rep) {
    e.load(m);
    auto t0 = clk::now();
    e.value("plant.e", dayp, as_of);
    plain_ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
  }
  auto el = m.energy_types.at("electricity");
  price tou;
  tou.version = "TOU";
  tou.flat = 0.6;
  plant::price_slot peak;
  peak.start = "08:00";
  peak.end = "12:00";
  peak.price_per_kwh = 1.2;
  tou.tou.push_back(peak);
  el.prices = {tou};
  m.energy_types["electricity"] = el;
  indicator cost;
  cost.id = "plant.cost";
  cost.name = "Electricity cost";
  cost.template_id = "cost";
  cost.owner = "plant";
  cost.source = source_kind::formula;
  cost.formula = "#plant.e * price(electricity)";
  m.indicators.emplace(cost.id, cost);
  m.reindex();
  std::vector<double> tou_ms;
  for (int rep = 0; rep < 3; ++rep) {
    e.load(m);
    auto t0 = clk::now();
    e.value("plant.cost", dayp, as_of);
    tou_ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
  }
  std::sort(plain_ms.begin(), plain_ms.end());
  std::sort(tou_ms.begin(), tou_ms.end());
  auto tou_day = e.value("plant.cost", dayp, as_of);
  double hours_sum = 0;
  for (int h = 0; h < 24; ++h)
    hours_sum +=
      e.value("plant.cost",
              period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + h)), as_of)
        .value;
  bool tou_correct =
    tou_day.quality == quality::measured && std::abs(tou_day.value - hours_sum) < 1e-9 * hours_sum;

  // A TOU cost for a month, cold (no frame kept): November filled for
  // every meter, the month's cost on the plant computed from nothing. The
  // same cost evaluated hour by hour (the engine before costs were summed
  // by price class) is timed side by side on the month's first three days
  // (72 hours; a whole month would take minutes).
  auto fill = [&](engine& en, int days) {
    for (const auto& id : meters)
      for (int d = 1; d <= days; ++d)
        for (int h = 0; h < 24; ++h)
          en.set_hour(id, absl::CivilHour(2026, 11, d, h), {1.0 + (d + h) % 7, quality::measured});
  };
  auto t_fill = clk::now();
  fill(e, 30);
  double fill_s = std::chrono::duration<double>(clk::now() - t_fill).count();
  long rss_month = rss_kb();
  auto month = period_of(resolution::month, absl::CivilSecond(2026, 11, 1, 0, 0, 0));
  auto month_end = absl::FromCivil(absl::CivilSecond(2026, 12, 1, 0, 0, 0), tz);
  auto three_days = absl::FromCivil(absl::CivilSecond(2026, 11, 4, 0, 0, 0), tz);
  auto cold_ms = [&](engine& en, absl::Time when, reading& r) {
    std::vector<double> ms;
    for (int rep = 0; rep < 3; ++rep) {
      en.load(m);
      auto t0 = clk::now();
      r = en.value("plant.cost", month, when);
      ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[1];
  };
  reading month_cost, fast3, slow3;
  double month_ms = cold_ms(e, month_end, month_cost);
  double fast3_ms = cold_ms(e, three_days, fast3);
  double month_want = 0;
  for (int d = 1; d <= 30; ++d)
    for (int h = 0; h < 24; ++h)
      month_want += (1.0 + (d + h) % 7) * (h >= 8 && h < 12 ? 1.2 : 0.6);
  month_want *= static_cast<double>(meters.size());
  bool month_correct = month_cost.quality == quality::measured
                       && std::abs(month_cost.value - month_want) < 1e-9 * month_want;
  engine::options hourly;
  hourly.sum_by_class = false;
  auto ref = std::make_unique<engine>(tz, hourly);
  ref->load(m);
  fill(*ref, 3);
  double slow3_ms = cold_ms(*ref, three_days, slow3);
  bool three_days_agree =
    fast3.quality == slow3.quality && std::abs(fast3.value - slow3.value) < 1e-9 * slow3.value;

  // Many summed cells with nested cones: a new standard-coal version from
  // the 15th makes every unit's standard coal (1,011 cells, the plant's
  // reading the whole tree) a summed cell in November. The month's whole
  // frame, cold, as of the 4th, both ways.
  {
    auto el2 = m.energy_types.at("electricity");
    el2.coal_equivalent.at(0).valid_to = absl::CivilDay(2026, 11, 15);
    auto later = el2.coal_equivalent.at(0);
    later.version = "bench: from the 15th";
    later.valid_from = absl::CivilDay(2026, 11, 15);
    later.valid_to.reset();
    later.value *= 1.05;
    el2.coal_equivalent.push_back(later);
    m.energy_types["electricity"] = el2;
  }
  auto frame_cold_ms = [&](engine& en, reading& r) {
    std::vector<double> ms;
    for (int rep = 0; rep < 3; ++rep) {
      en.load(m);
      auto t0 = clk::now();
      en.frame_values(month, three_days);
      ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
      r = en.value("plant.tce", month, three_days);
    }
    std::sort(ms.begin(), ms.end());
    return ms[1];
  };
  reading coal_fast, coal_slow;
  double coal_fast_ms = frame_cold_ms(e, coal_fast);
  double coal_slow_ms = frame_cold_ms(*ref, coal_slow);
  bool coal_agree = coal_fast.quality == coal_slow.quality
                    && std::abs(coal_fast.value - coal_slow.value) < 1e-9 * coal_slow.value;
  ref.reset();
  malloc_trim(0);

  auto json = fmt::format(
    "{{\n  \"units_and_meters\": {},\n  \"cells\": {},\n  \"full_day_eval_ms_median\": {:.2f},\n"
    "  \"full_day_eval_ms_min\": {:.2f},\n  \"incremental_us_median\": {:.2f},\n"
    "  \"incremental_us_p99\": {:.2f},\n  \"evaluations_per_update\": {:.1f},\n"
    "  \"ratio_incremental_to_full\": {:.2e},\n  \"day_total_correct\": {},\n"
    "  \"incremental_total_correct\": {},\n  \"rss_mb_holding_tree_and_day\": {:.1f},\n"
    "  \"rss_mb_at_start\": {:.1f},\n"
    "  \"rss_mb_added\": {{\"model_records\": {:.1f}, \"model_indexes\": {:.1f}, "
    "\"compiled_graph\": {:.1f}, "
    "\"one_day_of_hourly_leaves\": {:.1f}, \"frames_and_rest\": {:.1f}}},\n  \"frames_kept\": {},\n"
    "  \"day_frame_ms\": {:.2f},\n  \"tou_cost_day_frame_ms\": {:.2f},\n  "
    "\"ratio_tou_to_plain_day\": {:.1f},\n"
    "  \"tou_cost_day_is_sum_of_hours\": {},\n"
    "  \"tou_cost_month_cold_ms\": {:.1f},\n  \"tou_cost_month_correct\": {},\n"
    "  \"month_of_hours_fill_s\": {:.1f},\n  \"rss_mb_with_a_month_of_hours\": {:.1f},\n"
    "  \"tou_cost_three_days_cold_ms\": {{\"by_class\": {:.1f}, \"hour_by_hour\": {:.1f}, "
    "\"ratio\": {:.1f}, \"agree\": {}}},\n"
    "  \"coal_version_mid_month_1011_summed_cells_frame_cold_ms\": {{\"by_class\": {:.1f}, "
    "\"hour_by_hour\": {:.1f}, \"ratio\": {:.1f}, \"agree\": {}}},\n"
    "  \"targets\": {{\"full_ms\": 200, "
    "\"incremental_us\": 100, \"rss_mb\": 64, \"tou_cost_month_cold_ms\": 500}}\n}}\n",
    units, e.cells(), full_ms[full_ms.size() / 2], full_ms.front(), inc_us[inc_us.size() / 2],
    inc_us[inc_us.size() * 99 / 100], evals_per_update,
    inc_us[inc_us.size() / 2] / 1000.0 / full_ms[full_ms.size() / 2],
    std::abs(check.value - expect) < 1e-6 * expect ? "true" : "false",
    std::abs(after.value - (expect + 2000)) < 1e-6 * expect ? "true" : "false", rss / 1024.0,
    rss0 / 1024.0, (rss_records - rss0) / 1024.0, (rss_indexed - rss_records) / 1024.0,
    (rss_compiled - rss_indexed) / 1024.0, (rss_leaves - rss_compiled) / 1024.0,
    (rss - rss_leaves) / 1024.0, e.frames_kept(), plain_ms[1], tou_ms[1], tou_ms[1] / plain_ms[1],
    tou_correct ? "true" : "false", month_ms, month_correct ? "true" : "false", fill_s,
    rss_month / 1024.0, fast3_ms, slow3_ms, slow3_ms / fast3_ms,
    three_days_agree ? "true" : "false", coal_fast_ms, coal_slow_ms, coal_slow_ms / coal_fast_ms,
    coal_agree ? "true" : "false");
  std::fputs(json.c_str(), stdout);
  if (!out.empty())
    std::ofstream(out) << json;
  return check.quality == quality::measured && tou_correct && month_correct && three_days_agree
             && coal_agree
           ? 0
           : 1;
}
