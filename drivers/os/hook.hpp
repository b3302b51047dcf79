// Runs a command the installer configured (the network apply hook): through
// /bin/sh -c, with `input` on its standard input, its output captured, and
// killed (the whole process group) when it overruns `timeout`. It is done
// when the shell exits: a daemon it started in the background (and that
// keeps the output open) is left running, not waited for. The command
// inherits none of plantd's open files.
//
// Thread: blocks the caller for as long as the command runs.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace plantd::os {

struct hook_result {
  bool started = false;  // false: it could not be run (error says why)
  bool timed_out = false;
  int exit_code = -1;  // 128 + N when killed by signal N
  std::string output;  // stdout and stderr, the last 4 kB
  std::string error;

  bool ok() const noexcept { return started && !timed_out && exit_code == 0; }
};

hook_result run_hook(const std::string& command, std::string_view input,
                     std::chrono::milliseconds timeout);

}  // namespace plantd::os
