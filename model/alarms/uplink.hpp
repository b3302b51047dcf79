// The EMS-Switch unit holds no control module, only a switch: the cabinets
// wired to it reach the EMS through its uplink. When all of them are
// silent at once, the uplink is what failed: one alarm for it, not one per
// cabinet.
#pragma once

#include <vector>

#include "model/alarms/alarm_book.hpp"
#include "model/plant/config.hpp"

namespace plantd::alarms {

// Replaces the "comm_lost" conditions of the cabinets behind the EMS-Switch
// unit by one "uplink_lost" condition of the unit (major) when every one of
// them (at least two) has one. Other conditions are left as they are.
void fold_uplink_loss(const plant::config& cfg, std::vector<condition>& conds);

} // namespace plantd::alarms
