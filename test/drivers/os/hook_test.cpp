// The installer's hook: its input on stdin (however large), its exit code
// and output, and a hook that hangs killed with what it started.
#include <catch2/catch.hpp>

#include <chrono>

#include "drivers/os/hook.hpp"

using namespace std::chrono_literals;
using plantd::os::run_hook;

TEST_CASE("a hook reads all its input and its exit code and output come back", "[os]") {
  std::string input(1 << 20, 'x');  // more than a pipe holds
  auto r = run_hook("wc -c; echo done >&2", input, 10s);
  CHECK(r.ok());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("1048576") && Catch::Contains("done"));

  r = run_hook("echo 'modem: no SIM' >&2; exit 4", "", 10s);
  CHECK(r.started);
  CHECK_FALSE(r.ok());
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.output, Catch::Contains("no SIM"));

  // A hook that ignores its input is fine.
  r = run_hook("true", input, 10s);
  CHECK(r.ok());
}

TEST_CASE("a hook that overruns is killed with the processes it started", "[os]") {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_hook("sleep 30 & sleep 30", "", 300ms);
  CHECK(r.timed_out);
  CHECK_FALSE(r.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  // Only the last 4 kB of a talkative hook are kept.
  r = run_hook("head -c 100000 /dev/zero | tr '\\0' 'y'", "", 10s);
  CHECK(r.ok());
  CHECK(r.output.size() == 4096);
}

TEST_CASE("a hook is done when it exits, whatever it left running in the background, and a hook "
          "that closes its output and hangs is still timed out",
          "[os]") {
  auto t0 = std::chrono::steady_clock::now();
  // A daemon holding the output open (pppd &, dhclient &).
  auto r = run_hook("sleep 3 & echo started; exit 0", "", 10s);
  CHECK(r.ok());
  CHECK_FALSE(r.timed_out);
  CHECK_THAT(r.output, Catch::Contains("started"));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  // Its output sent elsewhere, then stuck: the timeout still holds.
  t0 = std::chrono::steady_clock::now();
  r = run_hook("exec >/dev/null 2>&1; sleep 30", "", 300ms);
  CHECK(r.timed_out);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}
