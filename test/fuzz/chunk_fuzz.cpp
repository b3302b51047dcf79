// Fuzzes the telemetry block codec (model/telemetry/chunk.hpp), the format
// the store keeps on disk.
//  - Decoder: any bytes go to decode_blocks. Whatever decodes must come back
//    bit for bit after encode_block + decode_blocks, and normalize must leave
//    strictly increasing times.
//  - Encoder: the same bytes read as points (8 bytes time, 8 bytes IEEE
//    value, 1 byte quality each: NaN, -0, huge and subnormal values, times
//    of +-2^63) must decode back bit for bit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "model/telemetry/chunk.hpp"

using namespace plantd;
using namespace plantd::telemetry;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "chunk codec: %s\n", what);
  std::abort();
}

bool same(const std::vector<sample>& a, const std::vector<sample>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].t_ms != b[i].t_ms || a[i].q != b[i].q
        || std::memcmp(&a[i].value, &b[i].value, sizeof(double)) != 0)
      return false;
  return true;
}

void round_trip(const std::vector<sample>& points, const char* what) {
  std::string bytes;
  encode_block(points, bytes);
  std::vector<sample> back;
  if (!decode_blocks(bytes, back))
    broken(what);
  if (!same(points, back))
    broken(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes{reinterpret_cast<const char*>(data), size};

  std::vector<sample> decoded;
  if (decode_blocks(bytes, decoded)) {
    round_trip(decoded, "decoded points do not survive re-encoding");
    normalize(decoded);
    for (std::size_t i = 1; i < decoded.size(); ++i)
      if (decoded[i - 1].t_ms >= decoded[i].t_ms)
        broken("normalize left times out of order");
  } else if (!decoded.empty()) {
    // Only whole blocks before the bad one may stay: re-decoding them works.
    round_trip(decoded, "points kept from a bad input do not survive re-encoding");
  }

  constexpr std::size_t stride = 17;
  std::vector<sample> points;
  for (std::size_t at = 0; at + stride <= size; at += stride) {
    sample s;
    std::memcpy(&s.t_ms, data + at, 8);
    std::memcpy(&s.value, data + at + 8, 8);
    s.q = static_cast<quality>(data[at + 16] % (static_cast<int>(quality::invalid) + 1));
    points.push_back(s);
  }
  round_trip(points, "encoded points do not decode back");
  return 0;
}
