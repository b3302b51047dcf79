// Modbus requests and failures per link and unit, for plantd's own health
// (/metrics). Counters live for the process: a bus opened again (a device
// restarted) counts on where the last one stopped, as a Prometheus counter
// should.
//
// Thread: safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace plantd::modbus {

struct unit_traffic {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> failures{0};
};

// The counters of `unit` on `link` (link::name()), made on first use; the
// reference stays valid for the process.
unit_traffic& traffic_of(const std::string& link, uint8_t unit);
// The device id behind (link, unit), for reports.
void name_unit(const std::string& link, uint8_t unit, std::string device);

struct traffic_row {
  std::string link;
  unsigned unit = 0;
  std::string device;  // empty when not named
  uint64_t requests = 0;
  uint64_t failures = 0;
};
// Every (link, unit) that was asked, in link and unit order.
std::vector<traffic_row> traffic();

}  // namespace plantd::modbus
