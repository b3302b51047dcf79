// Why a Modbus request failed, classified so that callers can react (retry,
// reconnect, raise an alarm) without parsing messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/common/expected.hpp"

namespace plantd::modbus {

enum class fault : uint8_t {
  timeout,       // no (complete) answer within the request timeout
  exception,     // the device answered with a Modbus exception code
  crc,           // RTU frame with a bad CRC / framing error
  disconnected,  // no connection (refused, reset, closed, backing off)
  malformed,     // an answer that does not fit the request
  bad_request,   // the request itself is wrong (count, address range)
};

const char* to_string(fault f) noexcept;

struct failure {
  enum fault fault = fault::malformed;
  uint8_t exception_code = 0;  // with fault::exception: 1..11
  std::string message;
};

// "timeout: ...", "exception 2 (illegal data address): ..."
std::string describe(const failure& f);

// Name of a Modbus exception code, e.g. 2 -> "illegal data address".
const char* exception_name(uint8_t code) noexcept;

template <class T>
using result = expected<T, failure>;

using registers = std::vector<uint16_t>;
using bits = std::vector<uint8_t>;

}  // namespace plantd::modbus
