#include "model/io/demand_response.hpp"

namespace plantd::io {

dred_order decode_dred(const dred_contacts& c) noexcept {
  dred_order out;
  out.drm0 = c.refgen_to_com;
  for (uint8_t i = 0; i < 4; ++i) {
    if (c.to_com[i] && out.consumption_mode == 0)
      out.consumption_mode = static_cast<uint8_t>(1 + i);
    if (c.to_refgen[i] && out.generation_mode == 0)
      out.generation_mode = static_cast<uint8_t>(5 + i);
  }
  switch (out.consumption_mode) {
    case 1: out.consumption_cap = 0.0; break;
    case 2: out.consumption_cap = 0.5; break;
    case 3: out.consumption_cap = 0.75; break;
    default: break;  // DRM4 raises consumption: no cap
  }
  switch (out.generation_mode) {
    case 5: out.generation_cap = 0.0; break;
    case 6: out.generation_cap = 0.5; break;
    case 7: out.generation_cap = 0.75; break;
    default: break;  // DRM8 raises generation: no cap
  }
  if (out.drm0) {
    out.consumption_cap = 0.0;
    out.generation_cap = 0.0;
  }
  return out;
}

double decode_rcr(const std::array<bool, 4>& inputs) noexcept {
  static constexpr std::array<double, 4> levels{1.0, 0.6, 0.3, 0.0};
  for (int i = 3; i >= 0; --i)
    if (inputs[static_cast<std::size_t>(i)])
      return levels[static_cast<std::size_t>(i)];
  return 1.0;
}

}  // namespace plantd::io
