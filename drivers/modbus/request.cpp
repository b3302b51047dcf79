#include "drivers/modbus/request.hpp"

namespace plantd::modbus {

answer run(register_bus& bus, const request& r) {
  answer a;
  switch (r.kind) {
    case request_kind::read_registers: {
      auto got = bus.read_registers(r.unit, r.fc, r.address, r.count);
      if (got)
        a.data = std::move(*got);
      else
        a.error = std::move(got.error());
      break;
    }
    case request_kind::read_bits: {
      auto got = bus.read_bits(r.unit, r.fc, r.address, r.count);
      if (got)
        a.data.assign(got->begin(), got->end());
      else
        a.error = std::move(got.error());
      break;
    }
    case request_kind::write_registers: {
      auto got = bus.write_registers(r.unit, r.address, r.values, r.fc);
      if (!got)
        a.error = std::move(got.error());
      break;
    }
    case request_kind::write_coil: {
      auto got = bus.write_coil(r.unit, r.address, !r.values.empty() && r.values[0] != 0);
      if (!got)
        a.error = std::move(got.error());
      break;
    }
  }
  return a;
}

std::vector<answer> run(register_bus& bus, std::span<const request> batch) {
  std::vector<answer> out;
  out.reserve(batch.size());
  bool failed = false;
  for (const auto& r : batch) {
    if (r.needs_success && failed) {
      out.push_back({{}, failure{fault::bad_request, 0, "not sent: an earlier request failed"}});
      continue;
    }
    out.push_back(run(bus, r));
    failed = failed || !out.back().ok();
  }
  return out;
}

}  // namespace plantd::modbus
