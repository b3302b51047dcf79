#include "model/plant/changes.hpp"

namespace plantd::plant {

std::vector<std::string> restart_only_changes(const config& a, const config& b) {
  std::vector<std::string> out;
  auto check = [&out](bool same, const char* path) {
    if (!same)
      out.emplace_back(path);
  };
  // The store and the energy calendar are opened in the site's zone.
  check(a.site.time_zone == b.site.time_zone, "site.time_zone");
  // The role of this unit and its peers.
  check(a.ems == b.ems, "ems");
  // The recorder and the energy actor are sized once.
  check(a.storage.raw_retention_days == b.storage.raw_retention_days, "storage.raw_retention_days");
  check(a.storage.flush_interval_ms == b.storage.flush_interval_ms, "storage.flush_interval_ms");
  check(a.storage.energy_hourly_days == b.storage.energy_hourly_days, "storage.energy_hourly_days");
  check(a.storage.max_disk_mb == b.storage.max_disk_mb, "storage.max_disk_mb");
  return out;
}

}  // namespace plantd::plant
