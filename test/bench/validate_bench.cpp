// Validation of the twenty-cabinet plant (target < 1 ms), and the whole
// file path: JSON text -> message -> model -> validation. Then how both
// grow with their input (Google Benchmark fits the complexity): a config of
// N cabinets (the JSON reader once rescanned the document for every object:
// quadratic), and the import check of a flat energy tree of N units (every
// unit once compared its name with all its siblings: quadratic).
#include <benchmark/benchmark.h>

#include <fstream>

#include "model/energy/model.hpp"
#include "model/plant/validate.hpp"
#include "services/config_codec.hpp"
#include "test/support/plant_configs.hpp"

namespace {

std::string example_text() {
  std::ifstream in{std::string{PLANTD_SOURCE_DIR} + "/deploy/examples/twenty-cabinets.json"};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void validate_twenty_cabinets(benchmark::State& state) {
  auto loaded = plantd::services::load_config_text(example_text());
  if (!loaded.problems.empty())
    state.SkipWithError("example config is invalid");
  for (auto _ : state) {
    auto found = plantd::plant::validate(loaded.model);
    benchmark::DoNotOptimize(found);
  }
}
BENCHMARK(validate_twenty_cabinets)->Unit(benchmark::kMicrosecond);

void load_and_validate_twenty_cabinets_json(benchmark::State& state) {
  auto text = example_text();
  for (auto _ : state) {
    auto loaded = plantd::services::load_config_text(text);
    benchmark::DoNotOptimize(loaded);
  }
}
BENCHMARK(load_and_validate_twenty_cabinets_json)->Unit(benchmark::kMicrosecond);

// The example with its cabinet repeated to N (invalid beyond 20: the check
// reports it, as it would a hostile request).
std::string config_with_cabinets(int n) {
  auto file = plantd::services::load_config_text(example_text());
  auto cabinet = file.message.cabinets(0);
  file.message.clear_cabinets();
  for (int i = 0; i < n; ++i) {
    auto* c = file.message.add_cabinets();
    *c = cabinet;
    c->set_id("C" + std::to_string(i));
    c->set_serial("S" + std::to_string(i));
  }
  return plantd::services::to_json(file.message);
}

void load_config_of_n_cabinets(benchmark::State& state) {
  auto text = config_with_cabinets(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto loaded = plantd::services::load_config_text(text);
    benchmark::DoNotOptimize(loaded);
  }
  state.SetComplexityN(state.range(0));
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(load_config_of_n_cabinets)
  ->RangeMultiplier(2)
  ->Range(500, 4000)
  ->Unit(benchmark::kMillisecond)
  ->Complexity(benchmark::oN);

void import_check_of_flat_tree(benchmark::State& state) {
  using namespace plantd::energy;
  model m = seeded_model();
  node root;
  root.id = "plant";
  root.name = "Plant";
  root.kind = node_kind::plant;
  root.metering_level = 1;
  m.nodes.emplace(plantd::atom(root.id), root);
  for (int64_t i = 0; i < state.range(0); ++i) {
    node n;
    n.id = "n" + std::to_string(i);
    n.name = "Unit " + std::to_string(i);
    n.kind = node_kind::equipment;
    n.parent = "plant";
    n.metering_level = 3;
    m.nodes.emplace(plantd::atom(n.id), n);
  }
  m.reindex();
  for (auto _ : state) {
    auto found = m.check();
    benchmark::DoNotOptimize(found);
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(import_check_of_flat_tree)
  ->RangeMultiplier(2)
  ->Range(5000, 40000)
  ->Unit(benchmark::kMillisecond)
  ->Complexity(benchmark::oNLogN);

}  // namespace

BENCHMARK_MAIN();
