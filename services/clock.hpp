// The system clock: whether NTP keeps it, and setting it on a site without
// NTP (PlantService.SetTime). TOU slots, reports and alarm times follow it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/common/errc.hpp"
#include "model/common/expected.hpp"

namespace plantd::services {

struct clock_sync {
  bool synchronized = false;  // the kernel's NTP discipline says so
  int64_t estimated_error_us = 0;
  int64_t max_error_us = 0;
};

// The kernel's view (adjtimex, read only); nullopt when plantd may not ask.
std::optional<clock_sync> clock_state();

struct clock_step {
  std::string before;  // RFC 3339, UTC
  std::string after;
  int64_t step_ms = 0;       // after - before
  bool rtc_written = false;  // the hardware clock set too
  std::string rtc_error;
};

struct clock_error {
  errc code = errc::internal;
  std::string message;
};

// Sets CLOCK_REALTIME to `unix_ms`, and the hardware clock (/dev/rtc0, UTC)
// where there is one, so that it holds at the next power cycle. Refused: no time, or one outside
// 2020..2100 (invalid_argument); a clock NTP keeps synchronized, or no
// permission to set it, CAP_SYS_TIME (failed_precondition).
expected<clock_step, clock_error> set_system_time(std::optional<int64_t> unix_ms);

}  // namespace plantd::services
