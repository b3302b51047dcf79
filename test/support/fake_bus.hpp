// A register_bus fed with raw registers: device drivers are tested against
// exactly the words a device would send, and against injected failures.
#pragma once

#include <algorithm>
#include <map>
#include <optional>

#include "drivers/modbus/bus.hpp"

namespace plantd::test {

class fake_bus final : public modbus::register_bus {
public:
  // Register contents per (unit, fc); absent registers read as an
  // "illegal data address" exception, as a real device answers.
  std::map<std::pair<uint8_t, uint8_t>, std::map<uint16_t, uint16_t>> regs;
  // When set, every request fails with this.
  std::optional<modbus::failure> fail_all;
  // Requests seen: (fc, address, count).
  std::vector<std::tuple<uint8_t, uint16_t, uint16_t>> log;
  std::vector<uint8_t> units;  // the unit of each request in log

  // Requests seen for `unit`.
  std::size_t requests_to(uint8_t unit) const {
    return static_cast<std::size_t>(std::count(units.begin(), units.end(), unit));
  }

  void set(uint8_t unit, uint8_t fc, uint16_t address, const std::vector<uint16_t>& words) {
    for (std::size_t i = 0; i < words.size(); ++i)
      regs[{unit, fc}][static_cast<uint16_t>(address + i)] = words[i];
  }

  uint16_t get(uint8_t unit, uint8_t fc, uint16_t address) { return regs[{unit, fc}][address]; }

  modbus::result<modbus::registers> read_registers(uint8_t unit, uint8_t fc, uint16_t address,
                                                   uint16_t count) override {
    log.emplace_back(fc, address, count);
    units.push_back(unit);
    if (fail_all)
      return unexpected{*fail_all};
    auto& space = regs[{unit, fc}];
    modbus::registers out;
    bool any = false;
    for (uint16_t i = 0; i < count; ++i) {
      auto it = space.find(static_cast<uint16_t>(address + i));
      any = any || it != space.end();
      out.push_back(it == space.end() ? 0 : it->second);
    }
    if (!any)
      return unexpected{modbus::failure{modbus::fault::exception, 2, "no such registers"}};
    return out;
  }

  modbus::result<modbus::bits> read_bits(uint8_t unit, uint8_t fc, uint16_t address,
                                         uint16_t count) override {
    log.emplace_back(fc, address, count);
    units.push_back(unit);
    if (fail_all)
      return unexpected{*fail_all};
    auto& space = regs[{unit, fc}];
    modbus::bits out;
    for (uint16_t i = 0; i < count; ++i)
      out.push_back(space[static_cast<uint16_t>(address + i)] != 0 ? 1 : 0);
    return out;
  }

  modbus::result<void> write_registers(uint8_t unit, uint16_t address,
                                       const modbus::registers& values, uint8_t fc) override {
    log.emplace_back(fc, address, static_cast<uint16_t>(values.size()));
    units.push_back(unit);
    if (fail_all)
      return unexpected{*fail_all};
    set(unit, 3, address, values);
    return {};
  }

  modbus::result<void> write_coil(uint8_t unit, uint16_t address, bool on) override {
    log.emplace_back(5, address, 1);
    units.push_back(unit);
    if (fail_all)
      return unexpected{*fail_all};
    regs[{unit, 1}][address] = on ? 1 : 0;
    return {};
  }
};

// The two registers of a big-endian float.
inline std::vector<uint16_t> f32(float x) {
  uint32_t u = std::bit_cast<uint32_t>(x);
  return {static_cast<uint16_t>(u >> 16), static_cast<uint16_t>(u & 0xFFFF)};
}

}  // namespace plantd::test
