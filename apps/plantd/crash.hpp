// Fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) print a backtrace
// on stderr (the journal on a unit) and then end the process with the same
// signal. The handler runs on an alternate stack, so a stack overflow - the
// usual SIGSEGV of a thread - is still reported. An alternate stack is per
// thread: install_crash_handler() gives one to the calling thread, and
// crash_stack_hook gives one to every thread the CAF scheduler starts.
#pragma once

#include <caf/thread_hook.hpp>

namespace plantd::app {

// Once, in main, before any thread starts.
void install_crash_handler();

// Gives the calling thread its own alternate signal stack (freed by
// drop_alternate_stack or at thread exit through the hook).
void give_alternate_stack();
void drop_alternate_stack();

// Raises the calling thread's scheduling priority above the API's (nice
// -5), where plantd may (root, or CAP_SYS_NICE); a no-op elsewhere.
void prefer_this_thread();

// Every thread of the actor system (the control loop, device actors):
// an alternate signal stack, and a priority above the gRPC threads, so
// that a burst of heavy API requests does not delay a control decision.
class actor_thread_hook : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {}
  void thread_started() override {
    give_alternate_stack();
    prefer_this_thread();
  }
  void thread_terminates() override { drop_alternate_stack(); }
};

}  // namespace plantd::app
