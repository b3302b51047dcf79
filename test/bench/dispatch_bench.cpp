// One dispatch decision through the whole rule stack for a 20-cabinet plant
// (target median < 20 us), in the modes and situations that cost the most.
#include <benchmark/benchmark.h>

#include "model/dispatch/dispatch.hpp"
#include "test/support/plant_configs.hpp"

namespace {

using namespace plantd;
using namespace plantd::dispatch;

struct setup {
  plant::config cfg = test::valid_config(20);
  snapshot snap;
  state st;

  setup() {
    cfg.policies.export_limit.enabled = true;
    cfg.policies.demand_limit = {true, 1'500'000, 500'000};
    cfg.policies.distribution = {200'000, 500};
    snap.now = time_point{std::chrono::milliseconds{1'780'000'000'000}};
    snap.grid_time = snap.now;
    snap.grid_w = {-150'000, quality::measured};
    for (int i = 0; i < 20; ++i)
      snap.cabinets.push_back(
        {true, 30.0 + i * 2, 0, 100'000, 100'000, 100'000, false, false, false, false, 30});
    snap.inverters = {{true, 20'000, 18'000}, {true, 20'000, 18'000}};
  }
};

void decide_self_consumption(benchmark::State& state) {
  setup s;
  dispatcher d{s.cfg};
  int64_t i = 0;
  for (auto _ : state) {
    s.snap.now += std::chrono::milliseconds{200};
    s.snap.grid_time = s.snap.now;
    s.snap.grid_w.value = -150'000 + static_cast<double>(++i % 7) * 1'000;
    auto out = d.decide(s.snap, s.st);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(decide_self_consumption)->Unit(benchmark::kMicrosecond);

void decide_tou_with_export_limit(benchmark::State& state) {
  setup s;
  s.cfg.policies.mode = plant::working_mode::time_of_use;
  dispatcher d{s.cfg};
  for (auto _ : state) {
    s.snap.now += std::chrono::milliseconds{200};
    s.snap.grid_time = s.snap.now;
    auto out = d.decide(s.snap, s.st);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(decide_tou_with_export_limit)->Unit(benchmark::kMicrosecond);

void build_dispatcher(benchmark::State& state) {
  setup s;
  for (auto _ : state) {
    dispatcher d{s.cfg};
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(build_dispatcher)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
