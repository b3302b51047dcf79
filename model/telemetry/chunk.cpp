#include "model/telemetry/chunk.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace plantd::telemetry {

namespace {

constexpr uint8_t block_tag = 0xB1;
constexpr int max_scale = 6;
constexpr double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr double exact_limit = 9'007'199'254'740'992.0;  // 2^53

inline void put_varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>((x & 0x7F) | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

inline void put_signed(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  put_varint(out, (u << 1) ^ (v < 0 ? ~uint64_t{0} : 0));
}

// The integer n with value == n / 10^k, if there is one.
bool scaled(double v, int k, int64_t& n) {
  if (v == 0 && std::signbit(v))
    return false;  // -0 would come back as +0
  double s = v * pow10[k];
  if (!(std::abs(s) < exact_limit))
    return false;  // NaN, infinities and integers doubles cannot hold exactly
  n = static_cast<int64_t>(s < 0 ? s - 0.5 : s + 0.5);  // checked just below
  return static_cast<double>(n) / pow10[k] == v;
}

class reader {
public:
  explicit reader(std::string_view b)
    : b_(b) {}
  bool done() const { return pos_ >= b_.size(); }
  std::size_t left() const { return b_.size() - pos_; }
  bool byte(uint8_t& x) {
    if (done())
      return false;
    x = static_cast<uint8_t>(b_[pos_++]);
    return true;
  }
  bool varint(uint64_t& x) {
    x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t c = 0;
      if (!byte(c))
        return false;
      x |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80))
        return true;
    }
    return false;
  }
  bool signed_varint(int64_t& v) {
    uint64_t z = 0;
    if (!varint(z))
      return false;
    v = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
    return true;
  }
  bool raw_double(double& v) {
    if (left() < 8)
      return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += 8;
    std::memcpy(&v, &bits, 8);
    return true;
  }

private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

bool decode_one(reader& r, std::vector<sample>& out) {
  uint8_t tag = 0;
  uint64_t n = 0;
  if (!r.byte(tag) || tag != block_tag || !r.varint(n) || n == 0 || n > r.left())
    return false;  // every point takes at least one byte of time
  const std::size_t base = out.size();
  out.resize(base + n);
  auto* p = out.data() + base;
  // Times.
  int64_t t = 0;
  uint64_t delta = 0;  // unsigned arithmetic: wraps instead of overflowing
  if (!r.signed_varint(t))
    return false;
  p[0].t_ms = t;
  for (uint64_t i = 1; i < n; ++i) {
    int64_t dod = 0;
    if (!r.signed_varint(dod))
      return false;
    delta += static_cast<uint64_t>(dod);
    p[i].t_ms = static_cast<int64_t>(static_cast<uint64_t>(p[i - 1].t_ms) + delta);
  }
  // Qualities.
  uint64_t runs = 0, at = 0;
  if (!r.varint(runs) || runs > n)
    return false;
  for (uint64_t i = 0; i < runs; ++i) {
    uint64_t len = 0;
    uint8_t q = 0;
    if (!r.varint(len) || !r.byte(q) || len == 0 || len > n - at
        || q > static_cast<uint8_t>(quality::invalid))
      return false;
    for (uint64_t j = 0; j < len; ++j)
      p[at + j].q = static_cast<quality>(q);
    at += len;
  }
  if (at != n)
    return false;
  // Values.
  uint8_t k = 0;
  uint64_t exceptions = 0;
  if (!r.byte(k) || k > max_scale || !r.varint(exceptions) || exceptions > n)
    return false;
  std::vector<bool> is_exception;
  if (exceptions > 0)
    is_exception.assign(n, false);
  uint64_t idx = 0;
  for (uint64_t i = 0; i < exceptions; ++i) {
    uint64_t gap = 0;
    if (!r.varint(gap))
      return false;
    idx = i == 0 ? gap : idx + gap;
    if (idx >= n || (i > 0 && gap == 0) || !r.raw_double(p[idx].value))
      return false;
    is_exception[idx] = true;
  }
  int64_t v = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (exceptions > 0 && is_exception[i])
      continue;
    int64_t d = 0;
    if (!r.signed_varint(d))
      return false;
    v = static_cast<int64_t>(static_cast<uint64_t>(v) + static_cast<uint64_t>(d));
    p[i].value = static_cast<double>(v) / pow10[k];
  }
  return true;
}

}  // namespace

void encode_block(std::span<const sample> points, std::string& out) {
  const std::size_t n = points.size();
  if (n == 0)
    return;
  out.reserve(out.size() + 16 + 4 * n);
  out.push_back(static_cast<char>(block_tag));
  put_varint(out, n);
  // Times: delta of delta, zero for a regular series.
  put_signed(out, points[0].t_ms);
  uint64_t prev_delta = 0;
  for (std::size_t i = 1; i < n; ++i) {
    auto delta = static_cast<uint64_t>(points[i].t_ms) - static_cast<uint64_t>(points[i - 1].t_ms);
    put_signed(out, static_cast<int64_t>(delta - prev_delta));
    prev_delta = delta;
  }
  // Qualities: runs.
  std::size_t runs = 1;
  for (std::size_t i = 1; i < n; ++i)
    runs += points[i].q != points[i - 1].q;
  put_varint(out, runs);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && points[j].q == points[i].q)
      ++j;
    put_varint(out, j - i);
    out.push_back(static_cast<char>(points[i].q));
    i = j;
  }
  // Values: the smallest scale that makes every decimal value an integer.
  int k = 0;
  for (const auto& p : points) {
    int64_t m = 0;
    int need = k;
    while (need <= max_scale && !scaled(p.value, need, m))
      ++need;
    if (need <= max_scale)
      k = need;
  }
  std::vector<int64_t> ints(n);
  std::vector<std::size_t> exceptions;
  for (std::size_t i = 0; i < n; ++i)
    if (!scaled(points[i].value, k, ints[i]))
      exceptions.push_back(i);
  out.push_back(static_cast<char>(k));
  put_varint(out, exceptions.size());
  std::size_t last = 0;
  for (std::size_t e = 0; e < exceptions.size(); ++e) {
    put_varint(out, e == 0 ? exceptions[e] : exceptions[e] - last);
    last = exceptions[e];
    uint64_t bits = 0;
    std::memcpy(&bits, &points[last].value, 8);
    for (int b = 0; b < 8; ++b)
      out.push_back(static_cast<char>(bits >> (8 * b)));
  }
  int64_t prev = 0;
  std::size_t next_exception = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (next_exception < exceptions.size() && exceptions[next_exception] == i) {
      ++next_exception;
      continue;
    }
    put_signed(out, ints[i] - prev);
    prev = ints[i];
  }
}

bool decode_blocks(std::string_view bytes, std::vector<sample>& out) {
  reader r{bytes};
  while (!r.done()) {
    const std::size_t before = out.size();
    if (!decode_one(r, out)) {
      out.resize(before);
      return false;
    }
  }
  return true;
}

void normalize(std::vector<sample>& points) {
  bool ordered = true;
  for (std::size_t i = 1; i < points.size() && ordered; ++i)
    ordered = points[i - 1].t_ms < points[i].t_ms;
  if (ordered)
    return;
  std::stable_sort(points.begin(), points.end(),
                   [](const sample& a, const sample& b) { return a.t_ms < b.t_ms; });
  // Of equal times keep the last.
  std::size_t w = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i + 1 < points.size() && points[i + 1].t_ms == points[i].t_ms)
      continue;
    points[w++] = points[i];
  }
  points.resize(w);
}

}  // namespace plantd::telemetry
