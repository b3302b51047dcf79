// Timestamps in requests: checked before any arithmetic, so that a field
// of +-2^62 s is refused with its name instead of overflowing into a wrong
// answer (or another field's error).
#pragma once

#include <cstdint>
#include <string_view>

#include <google/protobuf/timestamp.pb.h>

#include "model/common/problem.hpp"

namespace plantd::services {

// The window plantd accepts: 1970-01-01T00:00:00Z up to, not including,
// 2200-01-01T00:00:00Z (ms since the epoch).
inline constexpr int64_t earliest_request_ms = 0;
inline constexpr int64_t latest_request_ms = 7'258'118'400'000;

// `ts` in ms since the epoch; outside the window (or with nanos outside
// 0..999999999) a problem naming `field` is added and 0 returned.
int64_t request_ms(const google::protobuf::Timestamp& ts, std::string_view field, problems& found);

}  // namespace plantd::services
