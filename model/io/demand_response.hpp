// Demand response orders as pure functions of the port's contact states.
//
// AS/NZS 4755 DRED (terminals DRM1/5, DRM2/6, DRM3/7, DRM4/8, RefGen, Com/DRM0):
//   DRM0    RefGen shorted to Com/DRM0: operate the disconnection device;
//   DRM1..4 that terminal shorted to Com/DRM0 (consumption orders);
//   DRM5..8 that terminal shorted to RefGen (generation orders).
// Priority within a group: DRM1 > DRM2 > DRM3 > DRM4 and DRM5 > DRM6 > DRM7 >
// DRM8 (AS/NZS 4777.2 meanings: 1 do not consume, 2 consume <= 50 %, 3 consume
// <= 75 % (+ reactive), 4 increase consumption; 5 do not generate, 6 generate
// <= 50 %, 7 generate <= 75 % (+ sink reactive), 8 increase generation).
//
// German ripple-control receiver on D_IN1..D_IN4: 100 / 60 / 30 / 0 % of the
// rated feed-in power; when several inputs are closed the higher input wins
// (the more restrictive level). No input closed: no limitation (100 %).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace plantd::io {

// Contact states of the DRED port (true = shorted).
struct dred_contacts {
  std::array<bool, 4> to_com{};     // DRM1/5 .. DRM4/8 shorted to Com/DRM0
  std::array<bool, 4> to_refgen{};  // DRM1/5 .. DRM4/8 shorted to RefGen
  bool refgen_to_com = false;       // RefGen shorted to Com/DRM0
};

struct dred_order {
  bool drm0 = false;             // disconnect
  uint8_t consumption_mode = 0;  // 0 none, or 1..4
  uint8_t generation_mode = 0;   // 0 none, or 5..8
  // Caps as fractions of rated power; nullopt = no cap from this order.
  std::optional<double> consumption_cap;
  std::optional<double> generation_cap;

  friend bool operator==(const dred_order&, const dred_order&) = default;
};

dred_order decode_dred(const dred_contacts& c) noexcept;

// D_IN1..D_IN4 closed? -> allowed feed-in as a fraction of rated power.
double decode_rcr(const std::array<bool, 4>& inputs) noexcept;

}  // namespace plantd::io
