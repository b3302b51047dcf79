#include <catch2/catch.hpp>

#include "model/io/demand_response.hpp"

using namespace plantd::io;

TEST_CASE("DRED contacts decode to AS/NZS 4755 modes with priority", "[dred]") {
  dred_contacts c;
  CHECK(decode_dred(c) == dred_order{});
  SECTION("DRM0: RefGen shorted to Com/DRM0 disconnects") {
    c.refgen_to_com = true;
    auto o = decode_dred(c);
    CHECK(o.drm0);
    CHECK(o.consumption_cap == 0.0);
    CHECK(o.generation_cap == 0.0);
  }
  SECTION("DRM2 and DRM3 together: DRM2 wins") {
    c.to_com[1] = true;
    c.to_com[2] = true;
    auto o = decode_dred(c);
    CHECK(o.consumption_mode == 2);
    CHECK(o.consumption_cap == 0.5);
    CHECK(o.generation_mode == 0);
    CHECK_FALSE(o.generation_cap);
  }
  SECTION("DRM5..8 are the same terminals shorted to RefGen") {
    c.to_refgen[3] = true;  // DRM8
    c.to_refgen[2] = true;  // DRM7 outranks DRM8
    auto o = decode_dred(c);
    CHECK(o.generation_mode == 7);
    CHECK(o.generation_cap == 0.75);
    CHECK(o.consumption_mode == 0);
  }
  SECTION("DRM1 and DRM6 at once: both groups apply") {
    c.to_com[0] = true;
    c.to_refgen[1] = true;
    auto o = decode_dred(c);
    CHECK(o.consumption_mode == 1);
    CHECK(o.consumption_cap == 0.0);
    CHECK(o.generation_mode == 6);
    CHECK(o.generation_cap == 0.5);
  }
  SECTION("DRM4 and DRM8 raise, they do not cap") {
    c.to_com[3] = true;
    c.to_refgen[3] = true;
    auto o = decode_dred(c);
    CHECK(o.consumption_mode == 4);
    CHECK(o.generation_mode == 8);
    CHECK_FALSE(o.consumption_cap);
    CHECK_FALSE(o.generation_cap);
  }
}

TEST_CASE("ripple control inputs: 100/60/30/0 %, the higher input wins", "[rcr]") {
  CHECK(decode_rcr({false, false, false, false}) == 1.0);
  CHECK(decode_rcr({true, false, false, false}) == 1.0);
  CHECK(decode_rcr({false, true, false, false}) == 0.6);
  CHECK(decode_rcr({false, false, true, false}) == 0.3);
  CHECK(decode_rcr({false, false, false, true}) == 0.0);
  CHECK(decode_rcr({true, true, false, false}) == 0.6);
  CHECK(decode_rcr({true, false, true, true}) == 0.0);
}
