#include "actors/realtime.hpp"

#include <pthread.h>
#include <sched.h>

namespace plantd::actors {

bool make_this_thread_realtime() {
  sched_param p{};
  p.sched_priority = 10;  // low among real-time ones: above every normal thread
  return ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &p) == 0;
}

}  // namespace plantd::actors
