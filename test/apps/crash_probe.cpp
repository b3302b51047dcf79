// A process that overflows its stack with plantd's crash handler installed:
// `crash_probe main` on the main thread, `crash_probe thread` on a thread
// that has its alternate stack as plantd's actor threads do. The handler
// must still print its backtrace (e2e: "a stack overflow leaves a backtrace").
#include <cstdio>
#include <cstring>
#include <thread>

#include "apps/plantd/crash.hpp"

namespace {

// Each frame holds a page the compiler cannot drop.
int deeper(int n) {
  volatile char page[4096];
  page[0] = static_cast<char>(n);
  return deeper(n + 1) + page[0];
}

}  // namespace

int main(int argc, char** argv) {
  plantd::app::install_crash_handler();
  if (argc > 1 && std::strcmp(argv[1], "thread") == 0) {
    std::thread t{[] {
      plantd::app::give_alternate_stack();
      std::printf("%d\n", deeper(0));
    }};
    t.join();
    return 0;
  }
  std::printf("%d\n", deeper(0));
  return 0;
}
