// Raw point blocks: every value comes back bit for bit, with its time and
// quality; malformed bytes are refused, never misread.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "model/telemetry/chunk.hpp"

using namespace plantd;
using namespace plantd::telemetry;

namespace {

uint64_t bits(double v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, 8);
  return b;
}

void require_same(const std::vector<sample>& a, const std::vector<sample>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("point " << i << ": " << a[i].value << " vs " << b[i].value);
    CHECK(a[i].t_ms == b[i].t_ms);
    CHECK(bits(a[i].value) == bits(b[i].value));
    CHECK(a[i].q == b[i].q);
  }
}

std::vector<sample> round_trip(const std::vector<sample>& in) {
  std::string bytes;
  encode_block(in, bytes);
  std::vector<sample> out;
  REQUIRE(decode_blocks(bytes, out));
  return out;
}

}  // namespace

TEST_CASE("a regular series of decimal readings round-trips in about 3 bytes a point", "[chunk]") {
  std::mt19937 rng{1};
  std::normal_distribution<double> noise{0, 15};
  std::vector<sample> in;
  for (int i = 0; i < 3600; ++i)
    in.push_back({1'767'225'600'000 + i * 1000LL,
                  std::round((40'000 + 20'000 * std::sin(i / 3600.0) + noise(rng)) * 10) / 10,
                  quality::measured});
  std::string bytes;
  encode_block(in, bytes);
  CHECK(bytes.size() < 3 * in.size());
  std::vector<sample> out;
  REQUIRE(decode_blocks(bytes, out));
  require_same(in, out);
}

TEST_CASE("values that are not short decimals are kept bit for bit", "[chunk]") {
  const double odd[] = {std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity(),
                        -0.0,
                        0.0,
                        1.0 / 3,
                        0.1 + 0.2,
                        1e300,
                        -1e-300,
                        9'007'199'254'740'993.0,
                        std::numeric_limits<double>::denorm_min(),
                        12.5,
                        -7.25,
                        0.000001,
                        123456.789};
  std::vector<sample> in;
  int64_t t = -5'000;  // before 1970 too
  for (double v : odd)
    in.push_back({t += 997, v, quality::estimated});
  require_same(in, round_trip(in));
  // A single odd value among decimals does not spoil the others.
  std::vector<sample> mixed;
  for (int i = 0; i < 100; ++i)
    mixed.push_back({i * 1000LL, i == 40 ? std::nan("") : i * 0.5, quality::measured});
  std::string bytes;
  encode_block(mixed, bytes);
  CHECK(bytes.size() < 300);
  require_same(mixed, round_trip(mixed));
}

TEST_CASE("irregular times, extreme times and quality runs round-trip", "[chunk]") {
  std::mt19937_64 rng{3};
  std::vector<sample> in;
  int64_t t = 0;
  const quality qs[] = {quality::measured, quality::missing, quality::stale, quality::invalid,
                        quality::manual};
  for (int i = 0; i < 1000; ++i) {
    t += static_cast<int64_t>(rng() % 5000) - 1000;  // out of order now and then
    in.push_back({t, static_cast<double>(rng() % 100000) / 100, qs[(i / 7) % 5]});
  }
  in.push_back({std::numeric_limits<int64_t>::max(), 1, quality::measured});
  in.push_back({std::numeric_limits<int64_t>::min(), 2, quality::measured});
  in.push_back({0, -3, quality::measured});
  require_same(in, round_trip(in));
}

TEST_CASE("several blocks in one value decode in order", "[chunk]") {
  std::vector<sample> a{{1000, 1.5, quality::measured}, {2000, 2.5, quality::measured}};
  std::vector<sample> b{{1500, 9, quality::stale}};
  std::string bytes;
  encode_block(a, bytes);
  encode_block(b, bytes);
  encode_block({}, bytes);  // nothing
  std::vector<sample> out;
  REQUIRE(decode_blocks(bytes, out));
  REQUIRE(out.size() == 3);
  CHECK(out[2].t_ms == 1500);
  CHECK(out[2].q == quality::stale);
}

TEST_CASE("truncated or foreign bytes are refused and keep the blocks before them", "[chunk]") {
  std::vector<sample> in;
  for (int i = 0; i < 50; ++i)
    in.push_back(
      {i * 1000LL, i == 10 ? std::nan("") : i * 1.25, i < 25 ? quality::measured : quality::stale});
  std::string good;
  encode_block(in, good);
  // Every proper prefix of a block is refused.
  for (std::size_t len = 1; len < good.size(); ++len) {
    std::vector<sample> out;
    INFO("prefix of " << len << " bytes");
    CHECK_FALSE(decode_blocks(std::string_view{good}.substr(0, len), out));
    CHECK(out.empty());
  }
  // A good block followed by junk: the good block's points stay.
  std::vector<sample> out;
  CHECK_FALSE(decode_blocks(good + "\x01\x02", out));
  CHECK(out.size() == in.size());
  // A count larger than the bytes could hold is refused without allocating it.
  std::vector<sample> none;
  CHECK_FALSE(decode_blocks(std::string{"\xB1\xFF\xFF\xFF\xFF\x0F\x00", 7}, none));
  CHECK(none.empty());
  // An unknown quality is refused.
  std::string bad_q;
  encode_block(std::vector<sample>{{0, 1, quality::measured}}, bad_q);
  // layout: tag, n, t, runs, run length, quality, ...
  bad_q[5] = 9;
  CHECK_FALSE(decode_blocks(bad_q, none));
}

TEST_CASE("normalize orders by time and keeps the later of equal times", "[chunk]") {
  std::vector<sample> pts{{3000, 3, quality::measured},
                          {1000, 1, quality::measured},
                          {3000, 33, quality::stale},
                          {2000, 2, quality::measured},
                          {1000, 11, quality::manual}};
  normalize(pts);
  REQUIRE(pts.size() == 3);
  CHECK(pts[0].t_ms == 1000);
  CHECK(pts[0].value == 11);
  CHECK(pts[0].q == quality::manual);
  CHECK(pts[1].value == 2);
  CHECK(pts[2].value == 33);
  CHECK(pts[2].q == quality::stale);
}
