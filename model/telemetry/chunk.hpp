// Raw telemetry points packed into blocks, the unit the store writes and
// compacts: one block holds many points of one series. Pure.
//
// Block layout (all integers are LEB128 varints, signed ones zigzag):
//   tag 0xB1 | count n (>= 1)
//   times:     first time (signed), then n-1 deltas-of-deltas (signed)
//   qualities: number of runs r, then r x (run length, quality byte)
//   values:    scale k (0..6), number of exceptions e,
//              e x (index gap from the previous exception, 8 bytes IEEE LE),
//              then n-e deltas (signed) of round(value * 10^k)
// A value is "decimal" when value == round(value * 10^k) / 10^k exactly, as
// meter readings with a fixed number of decimals are; anything else (NaN,
// -0, more than 6 decimals, beyond 2^53) is an exception kept bit for bit.
// A regular 1-s series with slowly varying readings costs about 3 bytes a
// point before the store's block compression.
//
// Several blocks may follow one another in one value (merge operands); the
// decoder reads them all.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/common/quality.hpp"

namespace plantd::telemetry {

struct sample {
  int64_t t_ms = 0;
  double value = 0;
  quality q = quality::measured;
};

// Appends one block holding `points`, in the order given (nothing for none).
void encode_block(std::span<const sample> points, std::string& out);

// Appends the points of every block in `bytes` to `out`. False when the
// bytes are not blocks (truncated, unknown tag, counts that do not add up);
// `out` then keeps only the points of the blocks before the bad one.
bool decode_blocks(std::string_view bytes, std::vector<sample>& out);

// Orders points by time; of points with the same time the last one in the
// input stays (a later write wins).
void normalize(std::vector<sample>& points);

}  // namespace plantd::telemetry
