#include "services/clock.hpp"

#include <fcntl.h>
#include <linux/rtc.h>
#include <sys/ioctl.h>
#include <sys/timex.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

namespace plantd::services {

namespace {

std::string rfc3339(int64_t unix_ms) {
  return google::protobuf::util::TimeUtil::ToString(
    google::protobuf::util::TimeUtil::MillisecondsToTimestamp(unix_ms));
}

int64_t realtime_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// The hardware clock, in UTC (as systemd and hwclock keep it by default).
bool write_rtc(int64_t unix_ms, std::string* why) {
  int fd = -1;
  for (const char* dev : {"/dev/rtc0", "/dev/rtc"})
    if ((fd = ::open(dev, O_RDONLY | O_CLOEXEC)) >= 0)
      break;
  if (fd < 0) {
    *why = fmt::format("no hardware clock: {}", std::strerror(errno));
    return false;
  }
  time_t secs = static_cast<time_t>((unix_ms + 500) / 1000);
  tm utc{};
  ::gmtime_r(&secs, &utc);
  rtc_time rt{};
  rt.tm_sec = utc.tm_sec;
  rt.tm_min = utc.tm_min;
  rt.tm_hour = utc.tm_hour;
  rt.tm_mday = utc.tm_mday;
  rt.tm_mon = utc.tm_mon;
  rt.tm_year = utc.tm_year;
  bool ok = ::ioctl(fd, RTC_SET_TIME, &rt) == 0;
  if (!ok)
    *why = fmt::format("the hardware clock refused: {}", std::strerror(errno));
  ::close(fd);
  return ok;
}

}  // namespace

std::optional<clock_sync> clock_state() {
  timex tx{};  // modes 0: read only
  int state = ::adjtimex(&tx);
  if (state == -1)
    return std::nullopt;
  clock_sync s;
  s.synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
  s.estimated_error_us = tx.esterror;
  s.max_error_us = tx.maxerror;
  return s;
}

expected<clock_step, clock_error> set_system_time(std::optional<int64_t> unix_ms) {
  if (!unix_ms)
    return unexpected{clock_error{errc::invalid_argument, "time: give the time now"}};
  constexpr int64_t from = 1'577'836'800'000;  // 2020-01-01
  constexpr int64_t to = 4'102'444'800'000;    // 2100-01-01
  if (*unix_ms < from || *unix_ms >= to)
    return unexpected{
      clock_error{errc::invalid_argument,
                  fmt::format("time: {} is not between 2020 and 2100", rfc3339(*unix_ms))}};
  if (auto s = clock_state(); s && s->synchronized)
    return unexpected{clock_error{
      errc::failed_precondition,
      fmt::format("the clock is synchronized by NTP (estimated error {} us), which keeps the "
                  "time: SetTime is for a site without NTP",
                  s->estimated_error_us)}};
  clock_step out;
  int64_t before = realtime_ms();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(*unix_ms / 1000);
  ts.tv_nsec = static_cast<long>((*unix_ms % 1000) * 1'000'000);
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0) {
    int e = errno;
    if (e == EPERM)
      return unexpected{clock_error{
        errc::failed_precondition,
        "plantd may not set the clock: it needs CAP_SYS_TIME (the packaged systemd unit "
        "grants it)"}};
    return unexpected{
      clock_error{errc::internal, fmt::format("the clock cannot be set: {}", std::strerror(e))}};
  }
  out.before = rfc3339(before);
  out.after = rfc3339(*unix_ms);
  out.step_ms = *unix_ms - before;
  // Without NTP nothing copies the system time to the hardware clock: the
  // set time would be lost at the next power cycle. Best effort (a unit
  // without an RTC keeps the system time only).
  out.rtc_written = write_rtc(*unix_ms, &out.rtc_error);
  return out;
}

}  // namespace plantd::services
