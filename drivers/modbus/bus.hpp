// A Modbus bus: what device drivers talk to.
//
// register_bus is the interface (tests feed raw registers through a fake);
// bus is the real one: one link shared by every unit id on it (an RS485
// line, a cabinet's TCP connection), one request at a time, with a
// configurable silence between frames (RS485 needs it; TCP does not).
//
// Thread: bus is thread-safe; requests from several threads queue.
#pragma once

#include <chrono>
#include <mutex>

#include <array>

#include "drivers/modbus/link.hpp"
#include "drivers/modbus/traffic.hpp"

namespace plantd::modbus {

class register_bus {
public:
  virtual ~register_bus() = default;
  virtual result<registers> read_registers(uint8_t unit, uint8_t fc, uint16_t address,
                                           uint16_t count) = 0;
  virtual result<bits> read_bits(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count) = 0;
  virtual result<void> write_registers(uint8_t unit, uint16_t address, const registers& values,
                                       uint8_t fc = 16) = 0;
  virtual result<void> write_coil(uint8_t unit, uint16_t address, bool on) = 0;
};

class bus final : public register_bus {
public:
  bus(link l, std::chrono::milliseconds inter_frame_gap);

  result<registers> read_registers(uint8_t unit, uint8_t fc, uint16_t address,
                                   uint16_t count) override;
  result<bits> read_bits(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count) override;
  result<void> write_registers(uint8_t unit, uint16_t address, const registers& values,
                               uint8_t fc = 16) override;
  result<void> write_coil(uint8_t unit, uint16_t address, bool on) override;

  const std::string& name() const noexcept { return link_.name(); }

private:
  template <class F>
  auto exclusive(uint8_t unit, F&& f);

  std::mutex mtx_;
  std::array<unit_traffic*, 256> traffic_{};  // this bus's counters by unit (traffic.hpp)
  link link_;
  std::chrono::milliseconds gap_;
  std::chrono::steady_clock::time_point last_end_{};
};

}  // namespace plantd::modbus
