// The DRED / ripple-control port and the dry contacts, as line states.
//
// Line order (the same on the GPIO chip and in the plantd-io Modbus map):
//   inputs   0 DI1, 1 DI2,
//            2..5  DRM1/5..DRM4/8 shorted to Com/DRM0,
//            6..9  DRM1/5..DRM4/8 shorted to RefGen,
//            10    RefGen shorted to Com/DRM0,
//            11..14 ripple control D_IN1..D_IN4;
//   outputs  15 DO1, 16 DO2 (GPIO offsets; coils 0 and 1 over Modbus).
// A line reads true when its contact is closed.
//
// Thread: read() may be called from two threads at once (plantd reads the
// dry contacts and the DRED / RCR port from an actor each); set_output()
// from one.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "drivers/modbus/bus.hpp"
#include "drivers/pointtables/point_table.hpp"
#include "model/common/expected.hpp"
#include "model/io/demand_response.hpp"

namespace plantd::dio {

struct line_state {
  std::array<bool, 2> di{};
  io::dred_contacts dred;
  std::array<bool, 4> rcr{};
};

class line_source {
public:
  virtual ~line_source() = default;
  virtual expected<line_state, std::string> read() = 0;
  // channel 1 or 2 (DO1, DO2); true closes the relay.
  virtual expected<void, std::string> set_output(int channel, bool closed) = 0;
};

// Lines as Modbus discrete inputs and coils (plant-sim, or an I/O module),
// described by the plantd-io point table. The lines keep the bus alive.
std::unique_ptr<line_source> modbus_lines(const pointtables::table& io_table,
                                          std::shared_ptr<modbus::register_bus> bus, uint8_t unit);

// Lines on the EMS unit's GPIO character device (e.g. /dev/gpiochip0), at
// the offsets above. Fails with a clear message when the chip cannot be
// opened or the lines are busy.
expected<std::unique_ptr<line_source>, std::string> gpio_lines(const std::string& chip);

}  // namespace plantd::dio
