// A Modbus request and its answer as plain data: what a device actor asks
// of the bus actor that alone talks to its line (actors/device_actors.hpp),
// and what the device drivers build and decode (devices/device.hpp).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/modbus/bus.hpp"

namespace plantd::modbus {

enum class request_kind : uint8_t { read_registers, read_bits, write_registers, write_coil };

struct request {
  request_kind kind = request_kind::read_registers;
  uint8_t unit = 1;
  uint8_t fc = 3;  // reads: 1..4; write_registers: 6 or 16
  uint16_t address = 0;
  uint16_t count = 0;  // reads
  registers values;    // write_registers; write_coil: values[0] != 0 closes it
  // Not sent when a request before it in the same batch failed: a silent
  // device costs one timeout per batch, not one per request.
  bool needs_success = false;
};

struct answer {
  registers data;  // what was read (bits as 0 / 1); empty for a write
  std::optional<failure> error;

  bool ok() const noexcept { return !error; }
};

// Runs `r` on `bus`.
answer run(register_bus& bus, const request& r);

// Runs a batch in order, one answer per request; a request that needs
// success after a failure is answered "not sent" without reaching the bus.
std::vector<answer> run(register_bus& bus, std::span<const request> batch);

}  // namespace plantd::modbus
