#include "drivers/devices/device.hpp"

#include <cmath>

#include <fmt/format.h>

namespace plantd::devices {

device::device(const pointtables::table& t, modbus::register_bus& bus, uint8_t unit)
  : table_(&t),
    bus_(&bus),
    unit_(unit),
    plan_(pointtables::plan_reads(t)) {}

snapshot device::read_all() {
  snapshot s;
  s.values.resize(table_->points.size());
  for (const auto& req : plan_) {
    ++s.requests;
    auto fail = [&](const modbus::failure& f) {
      ++s.failed_requests;
      if (!s.failure)
        s.failure = f;
    };
    if (req.fc == 1 || req.fc == 2) {
      auto got = bus_->read_bits(unit_, req.fc, req.address, req.count);
      if (!got) {
        fail(got.error());
        continue;
      }
      for (auto i : req.points) {
        uint16_t bit = (*got)[table_->points[i].address - req.address];
        s.values[i] = pointtables::decode(table_->points[i], &bit);
      }
      continue;
    }
    auto got = bus_->read_registers(unit_, req.fc, req.address, req.count);
    if (!got) {
      fail(got.error());
      continue;
    }
    if (got->size() != req.count) {
      fail({modbus::fault::malformed, 0,
            fmt::format("asked for {} registers, got {}", req.count, got->size())});
      continue;
    }
    for (auto i : req.points)
      s.values[i] = pointtables::decode(table_->points[i],
                                        got->data() + (table_->points[i].address - req.address));
  }
  return s;
}

modbus::result<std::string> device::read_text(std::string_view name) {
  auto idx = table_->index_of(name);
  if (!idx || table_->points[*idx].type != pointtables::value_type::text)
    return unexpected{modbus::failure{
      modbus::fault::bad_request, 0,
      fmt::format("point table {} has no string point \"{}\"", table_->name, name)}};
  const auto& p = table_->points[*idx];
  auto got = bus_->read_registers(unit_, p.fc, p.address, p.registers);
  if (!got)
    return unexpected{got.error()};
  if (got->size() != p.registers)
    return unexpected{
      modbus::failure{modbus::fault::malformed, 0,
                      fmt::format("asked for {} registers, got {}", p.registers, got->size())}};
  auto text = pointtables::decode_text(p, got->data());
  if (!text)
    return unexpected{modbus::failure{modbus::fault::malformed, 0,
                                      fmt::format("\"{}\" is not printable text", name)}};
  return *text;
}

modbus::result<void> device::write(std::string_view name, double value) {
  auto idx = table_->index_of(name);
  if (!idx)
    return unexpected{
      modbus::failure{modbus::fault::bad_request, 0,
                      fmt::format("point table {} has no point \"{}\"", table_->name, name)}};
  const auto& p = table_->points[*idx];
  if (p.access == pointtables::access::ro)
    return unexpected{modbus::failure{modbus::fault::bad_request, 0,
                                      fmt::format("point \"{}\" is read-only", name)}};
  if (p.fc == 1)
    return bus_->write_coil(unit_, p.address, value != 0);
  return bus_->write_registers(unit_, p.address, pointtables::encode(p, value), p.write_fc);
}

reading device::value(const snapshot& s, std::string_view name) const {
  auto idx = table_->index_of(name);
  if (!idx || *idx >= s.values.size())
    return {};
  return s.values[*idx];
}

}  // namespace plantd::devices

namespace plantd::devices {

std::vector<flag> device::flags(const snapshot& s) const {
  std::vector<flag> out;
  for (std::size_t i = 0; i < table_->points.size() && i < s.values.size(); ++i) {
    const auto& p = table_->points[i];
    if (p.bit_labels.empty() || !s.values[i].usable())
      continue;
    auto raw = static_cast<uint64_t>(std::llround(s.values[i].value / p.scale));
    for (const auto& [bit, label] : p.bit_labels)
      if ((raw >> bit) & 1U)
        out.push_back({p.name, bit, label, p.severity});
  }
  return out;
}

}  // namespace plantd::devices
