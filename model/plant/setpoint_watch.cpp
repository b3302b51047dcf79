#include "model/plant/setpoint_watch.hpp"

#include <algorithm>
#include <limits>

namespace plantd::plant {

void setpoint_watch::sent(time_point t, double power_w) {
  sent_.emplace_back(t, power_w);
  while (sent_.size() > kept)
    sent_.pop_front();
}

bool setpoint_watch::read(const read_back& r, std::chrono::milliseconds poll, double rated_w,
                          double commanded_w) {
  if (locked_ || !r.wrote_since_connect || sent_.empty())
    return locked_;
  auto from = r.time - (poll * 3 / 2 + std::chrono::milliseconds{500});
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) {
    if (it->first > r.time)
      continue;
    lo = std::min(lo, it->second);
    hi = std::max(hi, it->second);
    if (it->first < from)
      break;
  }
  if (lo > hi)  // nothing sent before the read
    return false;
  double tolerance = std::max(1'000.0, 0.02 * rated_w);
  if (r.setpoint_w >= lo - tolerance && r.setpoint_w <= hi + tolerance) {
    confirmed_ = true;
    mismatches_ = 0;
    return false;
  }
  if (confirmed_ && ++mismatches_ >= 2) {
    locked_ = true;
    seen_w_ = r.setpoint_w;
    wrote_w_ = commanded_w;
  }
  return locked_;
}

void setpoint_watch::release() {
  locked_ = false;
  mismatches_ = 0;
  sent_.clear();
}

}  // namespace plantd::plant
