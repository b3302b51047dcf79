#include "drivers/modbus/traffic.hpp"

#include <map>
#include <mutex>

namespace plantd::modbus {

namespace {

struct registry {
  std::mutex mtx;
  std::map<std::pair<std::string, uint8_t>, unit_traffic> counters;
  std::map<std::pair<std::string, uint8_t>, std::string> names;
};

registry& the_registry() {
  static registry r;
  return r;
}

}  // namespace

unit_traffic& traffic_of(const std::string& link, uint8_t unit) {
  auto& r = the_registry();
  std::lock_guard lock{r.mtx};
  return r.counters[{link, unit}];  // std::map nodes never move
}

void name_unit(const std::string& link, uint8_t unit, std::string device) {
  auto& r = the_registry();
  std::lock_guard lock{r.mtx};
  r.names[{link, unit}] = std::move(device);
}

std::vector<traffic_row> traffic() {
  auto& r = the_registry();
  std::lock_guard lock{r.mtx};
  std::vector<traffic_row> out;
  out.reserve(r.counters.size());
  for (const auto& [key, c] : r.counters) {
    auto name = r.names.find(key);
    out.push_back({key.first, key.second, name == r.names.end() ? std::string{} : name->second,
                   c.requests.load(std::memory_order_relaxed),
                   c.failures.load(std::memory_order_relaxed)});
  }
  return out;
}

}  // namespace plantd::modbus
