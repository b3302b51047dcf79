// The dry contacts that follow the plant's alarm conditions: a generic
// alarm input raises an alarm under its own name, the alarm lamp and the
// fault relay show the active conditions. Pure functions of the config and
// the conditions; the supervisor applies them with every decision.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "model/alarms/alarm_book.hpp"
#include "model/plant/config.hpp"

namespace plantd::io {

// Whether the input's function is active with the contact as read.
inline bool input_active(const plant::digital_input& in, bool closed) {
  return in.normally_closed ? !closed : closed;
}

// One condition (major, device "DI<n>", code "digital_input") per generic
// alarm input that is active; its text names the input.
std::vector<alarms::condition> input_alarms(const std::vector<plant::digital_input>& inputs,
                                            const std::array<bool, 2>& di);

// The state of each alarm-lamp and fault-relay output (channel, closed):
// the lamp is lit while a critical condition is active, the fault relay
// closed while a critical or major one is.
std::vector<std::pair<uint32_t, bool>>
alarm_outputs(const std::vector<plant::digital_output>& outputs,
              const std::vector<alarms::condition>& active);

}  // namespace plantd::io
