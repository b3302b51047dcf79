// Validation of the twenty-cabinet plant (target < 1 ms), and the whole
// file path: JSON text -> message -> model -> validation.
#include <benchmark/benchmark.h>

#include <fstream>

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

} // namespace

BENCHMARK_MAIN();
