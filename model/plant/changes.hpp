// How a configuration change takes effect. Policies, limits, the TOU
// template, prices and economics are used from the next decision on; device
// settings restart the actor of the device they belong to; the settings
// below are read once, at the start, and take effect at the next one.
#pragma once

#include <string>
#include <vector>

#include "model/plant/config.hpp"

namespace plantd::plant {

// Field paths (as validation names them) that differ between `running`
// and `next` and take effect at the next start only.
std::vector<std::string> restart_only_changes(const config& running, const config& next);

}  // namespace plantd::plant
