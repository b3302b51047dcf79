// One Modbus connection (TCP, or RTU on a serial line), RAII over libmodbus.
//
// Every request takes the unit id, so one link serves several devices (an
// RS485 line, a TCP gateway). Failures are classified (failure.hpp). A broken
// connection is closed and reopened on the next request, no sooner than the
// exponential backoff allows; a timeout flushes the line so a late answer
// cannot be taken for the next one.
//
// Thread: not thread-safe; one caller at a time (bus.hpp serializes).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "drivers/modbus/failure.hpp"
#include "model/common/backoff.hpp"
#include "model/common/clock.hpp"

namespace plantd::modbus {

struct tcp_params {
  std::string host;
  uint16_t port = 502;
};

struct rtu_params {
  std::string device;  // e.g. /dev/ttyS1
  uint32_t baud = 9600;
  char parity = 'N';  // 'N', 'E' or 'O'
  int data_bits = 8;
  int stop_bits = 1;
};

struct link_options {
  std::chrono::milliseconds timeout{500};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10'000};
};

class link {
public:
  link(const tcp_params& tcp, link_options opts, const clock& clk);
  link(const rtu_params& rtu, link_options opts, const clock& clk);
  ~link();

  link(link&&) noexcept;
  link& operator=(link&&) noexcept;
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  // "tcp 127.0.0.1:502" or "rtu /dev/ttyS1 9600 8N1".
  const std::string& name() const noexcept;

  bool connected() const noexcept;
  void close();

  // FC 3 (holding) or 4 (input registers); count 1..125.
  result<registers> read_registers(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count);
  // FC 1 (coils) or 2 (discrete inputs); count 1..2000. One byte per bit.
  result<bits> read_bits(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count);
  // FC 16 (1..123 registers), or FC 6 for exactly one register.
  result<void> write_registers(uint8_t unit, uint16_t address, const registers& values,
                               uint8_t fc = 16);
  // FC 5.
  result<void> write_coil(uint8_t unit, uint16_t address, bool on);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace plantd::modbus
