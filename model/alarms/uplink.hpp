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
// them (at least two) has one, or, while `recovering` (the uplink was cut
// and its cabinets are coming back one by one), when any still has one.
// Other conditions are left as they are. Whether it folded.
bool fold_uplink_loss(const plant::config& cfg, std::vector<condition>& conds,
                      bool recovering = false);

}  // namespace plantd::alarms
