#include "model/io/contacts.hpp"

#include <fmt/format.h>

namespace plantd::io {

std::vector<alarms::condition> input_alarms(const std::vector<plant::digital_input>& inputs,
                                            const std::array<bool, 2>& di) {
  std::vector<alarms::condition> out;
  for (const auto& in : inputs) {
    if (in.function != plant::input_function::generic_alarm || in.channel < 1
        || in.channel > di.size() || !input_active(in, di[in.channel - 1]))
      continue;
    auto device = fmt::format("DI{}", in.channel);
    out.push_back(
      {"digital_input", device, alarms::severity::major,
       fmt::format("{} active ({})", in.name.empty() ? "alarm input" : in.name, device)});
  }
  return out;
}

std::vector<std::pair<uint32_t, bool>>
alarm_outputs(const std::vector<plant::digital_output>& outputs,
              const std::vector<alarms::condition>& active) {
  bool critical = false;
  bool fault = false;
  for (const auto& c : active) {
    critical = critical || c.level == alarms::severity::critical;
    fault = fault || c.level >= alarms::severity::major;
  }
  std::vector<std::pair<uint32_t, bool>> out;
  for (const auto& o : outputs) {
    if (o.function == plant::output_function::alarm_lamp)
      out.emplace_back(o.channel, critical);
    else if (o.function == plant::output_function::fault_relay)
      out.emplace_back(o.channel, fault);
  }
  return out;
}

}  // namespace plantd::io
