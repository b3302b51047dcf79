// Point tables: the number of Modbus requests to read each shipped table
// (reported as the "requests" counter, the fewest possible) and the decode
// throughput in registers per second.
#include <benchmark/benchmark.h>

#include "drivers/devices/device.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/fake_bus.hpp"

namespace {

using namespace plantd;

const pointtables::registry& tables() {
  static auto reg = pointtables::registry::builtin();
  return reg;
}

void decode_table(benchmark::State& state, const char* name) {
  const auto& t = *tables().find(name);
  auto plan = pointtables::plan_reads(t);
  std::vector<std::vector<uint16_t>> blocks;
  std::size_t registers = 0;
  for (const auto& req : plan) {
    blocks.emplace_back(req.count, 0x4142);
    registers += req.count;
  }
  for (auto _ : state) {
    double sum = 0;
    for (std::size_t r = 0; r < plan.size(); ++r)
      for (auto i : plan[r].points) {
        const auto& p = t.points[i];
        sum += pointtables::decode(p, blocks[r].data() + (p.address - plan[r].address)).value;
      }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["requests"] = static_cast<double>(plan.size());
  state.counters["points"] = static_cast<double>(t.points.size());
  state.counters["registers_per_s"] = benchmark::Counter(
    static_cast<double>(registers * state.iterations()), benchmark::Counter::kIsRate);
}

// A whole device read through the device layer (fake bus: no I/O).
void read_device(benchmark::State& state, const char* name) {
  const auto& t = *tables().find(name);
  test::fake_bus bus;
  for (const auto& req : pointtables::plan_reads(t))
    for (uint16_t a = 0; a < req.count; ++a)
      bus.regs[{1, req.fc}][static_cast<uint16_t>(req.address + a)] = 1;
  devices::device dev{t, bus, 1};
  for (auto _ : state) {
    bus.log.clear();
    auto s = dev.read_all();
    benchmark::DoNotOptimize(s);
  }
}

}  // namespace

BENCHMARK_CAPTURE(decode_table, chint_dtsu666, "chint-dtsu666");
BENCHMARK_CAPTURE(decode_table, eastron_sdm630, "eastron-sdm630");
BENCHMARK_CAPTURE(decode_table, saj_r5_inverter, "saj-r5-inverter");
BENCHMARK_CAPTURE(decode_table, cm2_cabinet, "cm2-cabinet");
BENCHMARK_CAPTURE(read_device, cm2_cabinet, "cm2-cabinet");

BENCHMARK_MAIN();
