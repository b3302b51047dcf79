#include "model/dispatch/rules.hpp"

#include <fmt/format.h>

#include "model/io/contacts.hpp"

namespace plantd::dispatch::rules {

stop safety(const snapshot& s, const std::vector<plant::digital_input>& inputs) {
  stop out;
  for (const auto& in : inputs) {
    if (in.channel < 1 || in.channel > 2)
      continue;
    bool stops = in.function == plant::input_function::emergency_stop
                 || in.function == plant::input_function::external_trip
                 || in.function == plant::input_function::fire_alarm;
    if (!stops)
      continue;
    const auto& name = in.name.empty() ? std::string{"stop input"} : in.name;
    if (!s.io_known) {  // unknown: stopping is the safe side
      out.active = true;
      out.why = fmt::format("DI{} ({}) unknown: I/O lines unavailable", in.channel, name);
    } else if (io::input_active(in, s.di[in.channel - 1])) {
      out.active = true;
      out.why = fmt::format("DI{} ({}) active", in.channel, name);
    }
  }
  if (s.dred.drm0) {
    out.active = true;
    out.why = "DRM0: disconnect ordered";
  }
  return out;
}

}  // namespace plantd::dispatch::rules
