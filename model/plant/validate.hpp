// Validation of a plant configuration: every rule a commissioned site must
// hold before plantd runs it (DESIGN.md §1, issue "Foundation"). Returns every
// problem with the path of its field, in document order; an empty result
// means the config is valid. Pure and thread-safe.
#pragma once

#include "model/common/problem.hpp"
#include "model/plant/config.hpp"

namespace plantd::plant {

problems validate(const config& cfg);

// Short names used in messages and logs.
const char* to_string(serial_port port) noexcept;  // "RS485-1"
const char* to_string(device_role role) noexcept;  // "grid meter"
const char* to_string(weekday day) noexcept;       // "Monday"

}  // namespace plantd::plant
