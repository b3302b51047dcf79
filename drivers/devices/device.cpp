#include "drivers/devices/device.hpp"

#include <cassert>
#include <cmath>

#include <fmt/format.h>

namespace plantd::devices {

device::device(const pointtables::table& t, modbus::register_bus& bus, uint8_t unit)
  : device(t, unit) {
  bus_ = &bus;
}

device::device(const pointtables::table& t, uint8_t unit)
  : table_(&t),
    bus_(nullptr),
    unit_(unit),
    plan_(pointtables::plan_reads(t)) {
  reads_.reserve(plan_.size());
  for (const auto& req : plan_) {
    modbus::request r;
    r.kind = req.fc == 1 || req.fc == 2 ? modbus::request_kind::read_bits
                                        : modbus::request_kind::read_registers;
    r.unit = unit_;
    r.fc = req.fc;
    r.address = req.address;
    r.count = req.count;
    reads_.push_back(std::move(r));
  }
}

snapshot device::decode(std::span<const modbus::answer> answers) const {
  snapshot s;
  s.values.resize(table_->points.size());
  for (std::size_t k = 0; k < plan_.size(); ++k) {
    const auto& req = plan_[k];
    ++s.requests;
    auto fail = [&](const modbus::failure& f) {
      ++s.failed_requests;
      if (!s.failure)
        s.failure = f;
    };
    if (k >= answers.size()) {
      fail({modbus::fault::malformed, 0, "no answer to a request of the read plan"});
      continue;
    }
    const auto& got = answers[k];
    if (got.error) {
      fail(*got.error);
      continue;
    }
    if (got.data.size() != req.count) {
      fail({modbus::fault::malformed, 0,
            fmt::format("asked for {} registers, got {}", req.count, got.data.size())});
      continue;
    }
    for (auto i : req.points)
      s.values[i] = pointtables::decode(
        table_->points[i], got.data.data() + (table_->points[i].address - req.address));
  }
  return s;
}

snapshot device::read_all() {
  assert(bus_);
  return decode(modbus::run(*bus_, std::span<const modbus::request>{reads_}));
}

modbus::result<modbus::request> device::text_request(std::string_view name) const {
  auto idx = table_->index_of(name);
  if (!idx || table_->points[*idx].type != pointtables::value_type::text)
    return unexpected{modbus::failure{
      modbus::fault::bad_request, 0,
      fmt::format("point table {} has no string point \"{}\"", table_->name, name)}};
  const auto& p = table_->points[*idx];
  modbus::request r;
  r.unit = unit_;
  r.fc = p.fc;
  r.address = p.address;
  r.count = p.registers;
  return r;
}

modbus::result<std::string> device::decode_text(std::string_view name,
                                                const modbus::answer& a) const {
  auto idx = table_->index_of(name);
  if (!idx || table_->points[*idx].type != pointtables::value_type::text)
    return unexpected{modbus::failure{
      modbus::fault::bad_request, 0,
      fmt::format("point table {} has no string point \"{}\"", table_->name, name)}};
  if (a.error)
    return unexpected{*a.error};
  const auto& p = table_->points[*idx];
  if (a.data.size() != p.registers)
    return unexpected{
      modbus::failure{modbus::fault::malformed, 0,
                      fmt::format("asked for {} registers, got {}", p.registers, a.data.size())}};
  auto text = pointtables::decode_text(p, a.data.data());
  if (!text)
    return unexpected{modbus::failure{modbus::fault::malformed, 0,
                                      fmt::format("\"{}\" is not printable text", name)}};
  return *text;
}

modbus::result<std::string> device::read_text(std::string_view name) {
  assert(bus_);
  auto req = text_request(name);
  if (!req)
    return unexpected{req.error()};
  return decode_text(name, modbus::run(*bus_, *req));
}

modbus::result<modbus::request> device::write_request(std::string_view name, double value) const {
  auto idx = table_->index_of(name);
  if (!idx)
    return unexpected{
      modbus::failure{modbus::fault::bad_request, 0,
                      fmt::format("point table {} has no point \"{}\"", table_->name, name)}};
  const auto& p = table_->points[*idx];
  if (p.access == pointtables::access::ro)
    return unexpected{modbus::failure{modbus::fault::bad_request, 0,
                                      fmt::format("point \"{}\" is read-only", name)}};
  modbus::request r;
  r.unit = unit_;
  if (p.fc == 1) {
    r.kind = modbus::request_kind::write_coil;
    r.fc = 5;
    r.address = p.address;
    r.values = {static_cast<uint16_t>(value != 0 ? 1 : 0)};
    return r;
  }
  r.kind = modbus::request_kind::write_registers;
  r.fc = p.write_fc;
  r.address = p.address;
  r.values = pointtables::encode(p, value);
  return r;
}

modbus::result<void> device::write(std::string_view name, double value) {
  assert(bus_);
  auto req = write_request(name, value);
  if (!req)
    return unexpected{req.error()};
  auto a = modbus::run(*bus_, *req);
  if (a.error)
    return unexpected{std::move(*a.error)};
  return {};
}

reading device::value(const snapshot& s, std::string_view name) const {
  auto idx = table_->index_of(name);
  if (!idx || *idx >= s.values.size())
    return {};
  return s.values[*idx];
}

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
