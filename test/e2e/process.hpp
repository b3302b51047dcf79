// Whole-process helpers for end-to-end tests: start a binary with its stdout
// on a pipe, read its lines with a timeout, stop it with a signal.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace plantd::test {

class child_process {
public:
  // Starts argv[0] with argv; stdout is read through read_line(), stderr is
  // collected and returned by stderr_text() after the process ends.
  explicit child_process(std::vector<std::string> argv);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next line of stdout, or nullopt on timeout or end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

  // Sends `sig` and waits for the exit; returns the exit code (128 + signal
  // number when killed), or nullopt when it did not end within `timeout`.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);

  // Waits for the process to end by itself.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  std::string stderr_text() const;
  pid_t pid() const noexcept { return pid_; }

private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string err_path_;
  std::string buffer_;
  std::optional<int> status_;
};

struct command_result {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};

// Runs a command to its end (at most `timeout`) and returns what it printed.
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds{30});

// The resident set of a process in kB (VmRSS), -1 when it cannot be read.
long rss_kb(pid_t pid);
// A kB field of /proc/PID/status ("VmRSS", "RssAnon", "RssFile"); -1 if absent.
long status_kb(pid_t pid, std::string_view field);

// A loopback TCP port that nothing listens on right now.
int unused_port();

// A temporary file holding `text`; removed by the caller when done.
std::string write_temp_file(const std::string& text, const std::string& suffix = ".json");

}  // namespace plantd::test
