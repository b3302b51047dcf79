#include "drivers/devices/inverter.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace plantd::devices {

inverter_reading inverter::decode(const snapshot& s) const {
  const auto& t = dev_.table();
  inverter_reading r;
  r.failure = s.failure;
  r.state = dev_.value(s, "state");
  if (auto i = t.index_of("state"); i && r.state.usable())
    r.state_label = pointtables::label(t.points[*i], r.state.value);
  double pv = 0;
  bool any_pv = false;
  bool pv_ok = true;
  for (std::size_t i = 0; i < t.points.size(); ++i) {
    const auto& p = t.points[i];
    const auto& v = s.values[i];
    if (p.name.rfind("fault_word", 0) == 0 && v.usable() && std::abs(v.value) < 9.2e18) {
      // Via int64_t: a signed word's low bits (a negative double to uint32_t is UB).
      auto bits = static_cast<uint32_t>(static_cast<int64_t>(v.value));
      r.fault_bits |= bits;
      auto text = pointtables::label(p, v.value);
      if (!text.empty())
        r.faults += (r.faults.empty() ? "" : "|") + text;
    }
    if (p.name.size() > 6 && p.name.rfind("pv", 0) == 0
        && p.name.compare(p.name.size() - 6, 6, "_power") == 0) {
      any_pv = true;
      pv_ok = pv_ok && v.usable();
      pv += v.value;
    }
  }
  if (any_pv)
    r.pv_power_w = {pv, pv_ok ? quality::measured : quality::missing};
  r.ac_power_w = dev_.value(s, "ac_power");
  r.total_energy_wh = dev_.value(s, "total_energy");
  r.power_limit_percent = dev_.value(s, "power_limit");
  return r;
}

modbus::result<modbus::request> inverter::power_limit_request(double percent) const {
  if (!(percent >= 0 && percent <= 100))
    return unexpected{modbus::failure{modbus::fault::bad_request, 0,
                                      fmt::format("power limit {} % is not 0..100", percent)}};
  return dev_.write_request("power_limit", percent);
}

modbus::result<void> inverter::set_power_limit(double percent) {
  if (auto r = power_limit_request(percent); !r)
    return unexpected{r.error()};
  return dev_.write("power_limit", percent);
}

std::vector<modbus::request> inverter::comm_loss_fallback_requests(std::chrono::seconds timeout,
                                                                   double percent) const {
  auto limit = dev_.write_request("comm_loss_limit", std::clamp(percent, 0.0, 100.0));
  auto after = dev_.write_request("comm_loss_timeout", static_cast<double>(timeout.count()));
  if (!limit || !after)
    return {};
  return {std::move(*limit), std::move(*after)};
}

modbus::result<bool> inverter::set_comm_loss_fallback(std::chrono::seconds timeout,
                                                      double percent) {
  const auto& t = dev_.table();
  if (!t.index_of("comm_loss_timeout") || !t.index_of("comm_loss_limit"))
    return false;
  // The limit first: a timeout armed before it would fall back to a stale one.
  if (auto r = dev_.write("comm_loss_limit", std::clamp(percent, 0.0, 100.0)); !r)
    return unexpected{r.error()};
  if (auto r = dev_.write("comm_loss_timeout", static_cast<double>(timeout.count())); !r)
    return unexpected{r.error()};
  return true;
}

}  // namespace plantd::devices
