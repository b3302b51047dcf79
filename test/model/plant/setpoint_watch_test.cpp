// plant::setpoint_watch: another Modbus master found by reading the
// setpoint register back.
#include <catch2/catch.hpp>

#include "model/plant/setpoint_watch.hpp"

using namespace plantd;
using namespace std::chrono_literals;

namespace {

const time_point t0{std::chrono::milliseconds{1'780'488'000'000}};

}  // namespace

TEST_CASE("setpoint watch: read-backs in sequence", "[setpoint_watch]") {
  // Poll 1 s: commands up to 2 s before a read (and the one in force then)
  // count as plantd's. Rated 100 kW: tolerance 2 kW.
  struct row {
    const char* what;
    std::chrono::milliseconds sent_at;  // a command at this time (< 0: none)
    double sent_w;
    std::chrono::milliseconds read_at;
    double read_w;
    bool wrote_since_connect;
    bool locked;
  };
  const row rows[] = {
    {"not written since connecting: says nothing", 0ms, 10'000, 100ms, 55'000, false, false},
    {"a mismatch before any match: not yet trusted", -1ms, 0, 200ms, 55'000, true, false},
    {"plantd's own value: confirmed", -1ms, 0, 300ms, 11'500, true, false},
    {"one mismatch", -1ms, 0, 1300ms, 55'000, true, false},
    {"a match resets the count", -1ms, 0, 2300ms, 9'000, true, false},
    {"a new command; the read shows the old one still (a read before the write)", 2500ms, 30'000,
     2600ms, 10'000, true, false},
    {"the new one", -1ms, 0, 3600ms, 30'000, true, false},
    {"the old one is long gone", -1ms, 0, 6000ms, 10'000, true, false},
    {"twice in a row: locked", -1ms, 0, 7000ms, 10'000, true, true},
    {"locked stays locked", -1ms, 0, 8000ms, 30'000, true, true},
  };
  plant::setpoint_watch w;
  for (const auto& r : rows) {
    INFO(r.what);
    if (r.sent_at >= 0ms)
      w.sent(t0 + r.sent_at, r.sent_w);
    CHECK(w.read({t0 + r.read_at, r.read_w, r.wrote_since_connect}, 1000ms, 100'000, 30'000)
          == r.locked);
    CHECK(w.locked() == r.locked);
  }
  CHECK(w.seen_w() == 10'000);
  CHECK(w.wrote_w() == 30'000);
  // Acknowledged: commanded again, and watched from scratch.
  w.release();
  CHECK_FALSE(w.locked());
  CHECK_FALSE(w.any_sent());
  CHECK_FALSE(w.read({t0 + 9s, 99'000, true}, 1000ms, 100'000, 30'000));
}

TEST_CASE("setpoint watch: a read before any command, and the kept commands", "[setpoint_watch]") {
  plant::setpoint_watch w;
  w.sent(t0 + 1s, 5'000);
  // A read taken before the only command: nothing to compare with.
  CHECK_FALSE(w.read({t0, 80'000, true}, 1000ms, 100'000, 5'000));
  for (int i = 0; i < 100; ++i)
    w.sent(t0 + std::chrono::milliseconds{1000 + 10 * i}, i);
  CHECK(w.any_sent());
  // Only the last 64 are kept (36..99 W): the 5 kW command is gone, so a
  // read-back of 4 kW is not plantd's.
  CHECK_FALSE(w.read({t0 + 3s, 50, true}, 1000ms, 100'000, 99));
  CHECK_FALSE(w.read({t0 + 3s, 4'000, true}, 1000ms, 100'000, 99));
  CHECK(w.read({t0 + 3s, 4'000, true}, 1000ms, 100'000, 99));
  // A large plant's tolerance is 2 % of its rating: 10 kW of 500 kW.
  plant::setpoint_watch big;
  big.sent(t0, 0);
  for (int i = 0; i < 3; ++i)
    CHECK_FALSE(big.read({t0 + 1s, 9'900, true}, 1000ms, 500'000, 0));
  CHECK_FALSE(big.read({t0 + 1s, 10'100, true}, 1000ms, 500'000, 0));
  CHECK(big.read({t0 + 1s, 10'100, true}, 1000ms, 500'000, 0));
}
