#include "drivers/modbus/failure.hpp"

#include <fmt/format.h>

namespace plantd::modbus {

const char* to_string(fault f) noexcept {
  switch (f) {
    case fault::timeout: return "timeout";
    case fault::exception: return "exception";
    case fault::crc: return "crc";
    case fault::disconnected: return "disconnected";
    case fault::malformed: return "malformed";
    case fault::bad_request: return "bad request";
  }
  return "unknown";
}

const char* exception_name(uint8_t code) noexcept {
  switch (code) {
    case 1: return "illegal function";
    case 2: return "illegal data address";
    case 3: return "illegal data value";
    case 4: return "server device failure";
    case 5: return "acknowledge";
    case 6: return "server device busy";
    case 7: return "negative acknowledge";
    case 8: return "memory parity error";
    case 10: return "gateway path unavailable";
    case 11: return "gateway target device failed to respond";
    default: return "unknown exception";
  }
}

std::string describe(const failure& f) {
  if (f.fault == fault::exception)
    return fmt::format("exception {} ({}): {}", f.exception_code, exception_name(f.exception_code),
                       f.message);
  return fmt::format("{}: {}", to_string(f.fault), f.message);
}

}  // namespace plantd::modbus
