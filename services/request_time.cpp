#include "services/request_time.hpp"

#include <string>

namespace plantd::services {

int64_t request_ms(const google::protobuf::Timestamp& ts, std::string_view field, problems& found) {
  constexpr int64_t lo_s = earliest_request_ms / 1000;
  constexpr int64_t hi_s = latest_request_ms / 1000;
  if (ts.seconds() < lo_s || ts.seconds() >= hi_s || ts.nanos() < 0 || ts.nanos() > 999'999'999) {
    found.push_back({std::string{field},
                     "must be a time from 1970-01-01T00:00:00Z to before 2200-01-01T00:00:00Z"});
    return 0;
  }
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}

}  // namespace plantd::services
