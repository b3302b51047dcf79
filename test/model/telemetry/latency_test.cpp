#include <catch2/catch.hpp>

#include <random>

#include "model/telemetry/latency.hpp"

using plantd::telemetry::latency_window;

TEST_CASE("latency percentiles over a window of decisions, within a bucket's width",
          "[telemetry][latency]") {
  latency_window w;
  CHECK(w.quantile(0.99) == 0);
  std::mt19937 rng{3};
  std::uniform_real_distribution<double> us{100, 200};
  for (uint32_t i = 0; i < latency_window::window; ++i)
    w.record(us(rng));
  CHECK(w.count() == latency_window::window);
  CHECK(w.quantile(0.5) == Approx(150).epsilon(0.03));
  CHECK(w.quantile(0.99) == Approx(199).epsilon(0.03));
  // One scheduling hiccup does not make the p99: it is one decision of many.
  w.record(50'000);
  CHECK(w.quantile(0.99) == Approx(199).epsilon(0.03));
  CHECK(w.quantile(1.0) == Approx(50'000).epsilon(0.03));
  // 2 % of slow decisions do.
  for (int i = 0; i < 400; ++i)
    w.record(3'000);
  CHECK(w.quantile(0.99) == Approx(3'000).epsilon(0.03));
}

TEST_CASE("the latency window keeps the decisions of the window before: never fewer than a "
          "window once that many were made",
          "[telemetry][latency]") {
  latency_window w;
  for (uint32_t i = 0; i < 3 * latency_window::window + 5; ++i)
    w.record(i < 2 * latency_window::window ? 10'000 : 100);
  CHECK(w.count() == latency_window::window + 5);
  // The old slow ones are gone: only the last two windows count.
  CHECK(w.quantile(0.99) == Approx(100).epsilon(0.03));
  CHECK(latency_window::bucket(0) == 0);
  CHECK(latency_window::bucket(1e12) == latency_window::buckets - 1);
}
