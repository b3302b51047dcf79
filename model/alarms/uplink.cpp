#include "model/alarms/uplink.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace plantd::alarms {

bool fold_uplink_loss(const plant::config& cfg, std::vector<condition>& conds, bool recovering) {
  if (!cfg.ems.ems_switch)
    return false;
  const auto& sw = *cfg.ems.ems_switch;
  if (sw.cabinet_ids.size() < 2)
    return false;  // one silent cabinet is that cabinet
  auto behind = [&sw](const condition& c) {
    return c.code == "comm_lost"
           && std::find(sw.cabinet_ids.begin(), sw.cabinet_ids.end(), c.device)
                != sw.cabinet_ids.end();
  };
  auto silent = static_cast<std::size_t>(std::count_if(conds.begin(), conds.end(), behind));
  if (silent == 0 || (silent < sw.cabinet_ids.size() && !recovering))
    return false;
  std::erase_if(conds, behind);
  conds.push_back(
    {"uplink_lost", sw.id, severity::major,
     fmt::format("EMS-Switch {} uplink: none of its {} cabinets ({} .. {}) answers; "
                 "their share is on the cabinets the EMS still reaches",
                 sw.id, sw.cabinet_ids.size(), sw.cabinet_ids.front(), sw.cabinet_ids.back())});
  return true;
}

}  // namespace plantd::alarms
