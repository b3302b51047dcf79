#include <catch2/catch.hpp>

#include <grpcpp/support/byte_buffer.h>

#include "services/history_wire.hpp"

using namespace plantd;
using namespace plantd::services;

namespace {

std::string bytes_of(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  REQUIRE(b.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// The i-th point's time below: times of every varint length, negative
// ones (before 1970) included, steps both ways.
int64_t time_of(int i) {
  return (i % 3 == 0 ? -1 : 1) * (int64_t{1} << (i % 63));
}

}  // namespace

TEST_CASE("the compact answer is the bytes protobuf writes for the same response", "[history]") {
  auto pool = std::make_shared<history_scratch_pool>();
  v1::QueryHistoryResponse head;
  head.set_series("plant.grid_w");
  head.set_resolution("raw");
  head.set_truncated(GENERATE(false, true));
  auto n = GENERATE(0, 1, 3, 5000);
  CAPTURE(n, head.truncated());
  auto s = pool->take();
  v1::QueryHistoryResponse want = head;
  auto* cols = want.mutable_raw();
  for (int i = 0; i < n; ++i) {
    // Values that need all 64 bits; every quality.
    int64_t t = time_of(i);
    double v = i * 1e-3 - 12345.678901234567;
    auto q = static_cast<quality>(i % 6);
    s->columns.t_ms.push_back(t);
    s->columns.value.push_back(v);
    s->columns.q.push_back(q);
    cols->add_time_ms(t);
    cols->add_value(v);
    cols->add_quality(static_cast<v1::Quality>(static_cast<int>(q) + 1));
  }
  bool delta = GENERATE(false, true);
  CAPTURE(delta);
  if (delta) {
    // The same times as steps, each from the one before (wrapping as a
    // receiver's int64 sum does).
    uint64_t prev = 0;
    for (auto t : cols->time_ms()) {
      cols->add_time_delta_ms(static_cast<int64_t>(static_cast<uint64_t>(t) - prev));
      prev = static_cast<uint64_t>(t);
    }
    cols->clear_time_ms();
  }
  auto answer = compact_answer(head, std::move(s), pool, delta);
  auto got = bytes_of(answer);
  CHECK(got == want.SerializeAsString());
  v1::QueryHistoryResponse parsed;
  REQUIRE(parsed.ParseFromString(got));
  CHECK(parsed.has_raw());
  CHECK((delta ? parsed.raw().time_delta_ms_size() : parsed.raw().time_ms_size()) == n);
  CHECK(parsed.truncated() == head.truncated());
  CHECK(parsed.series() == "plant.grid_w");
  if (n > 0) {
    if (delta) {
      uint64_t sum = 0;
      for (auto d : parsed.raw().time_delta_ms())
        sum += static_cast<uint64_t>(d);
      CHECK(static_cast<int64_t>(sum) == time_of(n - 1));
    } else {
      CHECK(parsed.raw().time_ms(n - 1) == want.raw().time_ms(n - 1));
    }
    CHECK(parsed.raw().value(n - 1) == want.raw().value(n - 1));
  }
}

TEST_CASE("history scratch is kept warm for the next query, within its bounds", "[history]") {
  auto pool = std::make_shared<history_scratch_pool>(1, 1u << 20);
  v1::QueryHistoryResponse head;
  head.set_series("s");
  auto s = pool->take();
  s->columns.t_ms.assign(1000, 1);
  s->columns.value.assign(1000, 2.0);
  s->columns.q.assign(1000, quality::measured);
  auto* kept = s.get();
  {
    auto answer = compact_answer(head, std::move(s), pool);
    // In flight: gRPC still holds the bytes, so the scratch is not reused.
    CHECK(pool->idle() == 0);
    auto other = pool->take();
    CHECK(other.get() != kept);
  }
  // Sent: the scratch is back, with its capacity.
  REQUIRE(pool->idle() == 1);
  auto again = pool->take();
  CHECK(again.get() == kept);
  CHECK(again->columns.t_ms.capacity() >= 1000);
  // Only one is kept idle.
  pool->give(std::move(again));
  pool->give(std::make_unique<history_scratch>());
  CHECK(pool->idle() == 1);
  // One that grew past the bound (a larger query than a day) is freed.
  auto big = pool->take();
  big->wire.resize(2u << 20);
  pool->give(std::move(big));
  CHECK(pool->idle() == 0);
}
