// The control path's threads (the supervisor and the device actors it
// starts, which inherit its scheduling) may run at a real-time priority
// (SCHED_FIFO), above everything the
// API does: on a 2-core unit a burst of heavy requests then cannot delay a
// fast-path decision (measured: hostile_bench, access_bench). Their work is
// small and bounded per message; the kernel's real-time throttling keeps a
// share of each second for other threads. Needs root or CAP_SYS_NICE
// (systemd: AmbientCapabilities=CAP_SYS_NICE); elsewhere the thread keeps
// its nice level.
#pragma once

namespace plantd::actors {

// For the calling thread; false when the system refused.
bool make_this_thread_realtime();

}  // namespace plantd::actors
