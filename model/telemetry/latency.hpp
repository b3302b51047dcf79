// Percentiles of the control loop's latency over many decisions: a log
// histogram (32 buckets an octave, about 2 % wide, 0.1 us to 1.7 s) of the
// current window and the one before it. A percentile is taken over both:
// at least `window` decisions once that many were made, so the p99 of the
// fast path is a property of the loop and not of its single worst sample.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace plantd::telemetry {

class latency_window {
public:
  static constexpr uint32_t window = 16'384;

  void record(double us) {
    ++cur_[bucket(us)];
    if (++cur_n_ == window) {
      prev_ = cur_;
      prev_n_ = cur_n_;
      cur_ = {};
      cur_n_ = 0;
    }
  }

  // Decisions the percentiles are over.
  uint32_t count() const noexcept { return cur_n_ + prev_n_; }

  // The q-quantile (0 < q <= 1) in us, within a bucket's width; 0 when
  // nothing was recorded.
  double quantile(double q) const {
    uint32_t n = count();
    if (n == 0)
      return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
    if (rank == 0)
      rank = 1;
    uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
      seen += cur_[b] + prev_[b];
      if (seen >= rank)
        return value_of(b);
    }
    return value_of(buckets - 1);
  }

  static constexpr int per_octave = 32;
  static constexpr int octaves = 24;
  static constexpr std::size_t buckets = per_octave * octaves + 1;
  static constexpr double floor_us = 0.1;

  static std::size_t bucket(double us) {
    if (!(us > floor_us))
      return 0;
    auto i = static_cast<std::size_t>(std::log2(us / floor_us) * per_octave) + 1;
    return i < buckets ? i : buckets - 1;
  }
  // The middle of bucket b (geometric).
  static double value_of(std::size_t b) {
    if (b == 0)
      return floor_us;
    return floor_us * std::exp2((static_cast<double>(b) - 0.5) / per_octave);
  }

private:
  std::array<uint32_t, buckets> cur_{}, prev_{};
  uint32_t cur_n_ = 0, prev_n_ = 0;
};

}  // namespace plantd::telemetry
