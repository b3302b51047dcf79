#include "drivers/modbus/bus.hpp"

#include <thread>

namespace plantd::modbus {

bus::bus(link l, std::chrono::milliseconds inter_frame_gap)
  : link_(std::move(l)),
    gap_(inter_frame_gap) {}

template <class F>
auto bus::exclusive(uint8_t unit, F&& f) {
  std::lock_guard<std::mutex> guard{mtx_};
  // The inter-frame gap is physical silence on the wire: real time.
  if (gap_.count() > 0)
    std::this_thread::sleep_until(last_end_ + gap_);
  auto result = f();
  last_end_ = std::chrono::steady_clock::now();
  auto*& t = traffic_[unit];
  if (!t)
    t = &traffic_of(link_.name(), unit);
  t->requests.fetch_add(1, std::memory_order_relaxed);
  if (!result)
    t->failures.fetch_add(1, std::memory_order_relaxed);
  return result;
}

result<registers> bus::read_registers(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count) {
  return exclusive(unit, [&] { return link_.read_registers(unit, fc, address, count); });
}

result<bits> bus::read_bits(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count) {
  return exclusive(unit, [&] { return link_.read_bits(unit, fc, address, count); });
}

result<void> bus::write_registers(uint8_t unit, uint16_t address, const registers& values,
                                  uint8_t fc) {
  return exclusive(unit, [&] { return link_.write_registers(unit, address, values, fc); });
}

result<void> bus::write_coil(uint8_t unit, uint16_t address, bool on) {
  return exclusive(unit, [&] { return link_.write_coil(unit, address, on); });
}

}  // namespace plantd::modbus
