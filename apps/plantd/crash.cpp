#include "apps/plantd/crash.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <execinfo.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

namespace plantd::app {

namespace {

// Large enough for backtrace() and its unwinder; the guard page below it
// turns an overflow of the handler itself into a plain kill, not a
// corruption.
constexpr std::size_t alt_stack_size = 64 * 1024;
thread_local void* alt_stack_base = nullptr;

void write_err(const char* text) {
  [[maybe_unused]] auto w = ::write(STDERR_FILENO, text, std::strlen(text));
}

extern "C" void on_fatal_signal(int sig) {
  write_err("plantd: fatal signal ");
  write_err(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  write_err(", backtrace:\n");
  void* frames[64];
  int n = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  // Re-raise with the default action so the exit status (and a core dump,
  // where enabled) tell the signal.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void give_alternate_stack() {
  if (alt_stack_base != nullptr)
    return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* base = ::mmap(nullptr, alt_stack_size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED)
    return;
  ::mprotect(base, page, PROT_NONE);  // guard page
  stack_t ss{};
  ss.ss_sp = static_cast<char*>(base) + page;
  ss.ss_size = alt_stack_size;
  if (::sigaltstack(&ss, nullptr) != 0) {
    ::munmap(base, alt_stack_size + page);
    return;
  }
  alt_stack_base = base;
}

void drop_alternate_stack() {
  if (alt_stack_base == nullptr)
    return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  ::sigaltstack(&ss, nullptr);
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  ::munmap(alt_stack_base, alt_stack_size + page);
  alt_stack_base = nullptr;
}

void prefer_this_thread() {
  // Linux: a thread's nice value is its own (setpriority on its tid).
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -5);
}

void install_crash_handler() {
  // backtrace() loads libgcc's unwinder on its first call, which may
  // allocate: do that now, not inside the handler.
  void* warm[1];
  ::backtrace(warm, 1);
  give_alternate_stack();
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    ::sigaction(sig, &sa, nullptr);
}

}  // namespace plantd::app
