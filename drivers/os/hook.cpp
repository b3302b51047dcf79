#include "drivers/os/hook.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace plantd::os {

namespace {

constexpr std::size_t keep_output = 4096;

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

}  // namespace

hook_result run_hook(const std::string& command, std::string_view input,
                     std::chrono::milliseconds timeout) {
  hook_result r;
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    r.error = fmt::format("pipe: {}", std::strerror(errno));
    close_fd(in[0]), close_fd(in[1]), close_fd(out[0]), close_fd(out[1]);
    return r;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    r.error = fmt::format("fork: {}", std::strerror(errno));
    close_fd(in[0]), close_fd(in[1]), close_fd(out[0]), close_fd(out[1]);
    return r;
  }
  if (pid == 0) {
    // The child: its own process group (a timeout kills what it started),
    // default signal dispositions and mask (plantd blocks SIGTERM in its
    // threads), the pipes as stdin / stdout / stderr.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP})
      ::signal(s, SIG_DFL);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    // None of plantd's files, sockets or database handles.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // either side may win the race; both set the same
  r.started = true;
  close_fd(in[0]);
  close_fd(out[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  if (input.empty())
    close_fd(in[1]);
  // A hook that exits without reading its input makes the write fail with
  // EPIPE: SIGPIPE is blocked meanwhile (this thread only) and the pending
  // one taken, so that it never kills plantd.
  sigset_t pipe_sig, old_mask;
  sigemptyset(&pipe_sig);
  sigaddset(&pipe_sig, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_sig, &old_mask);
  bool got_epipe = false;
  using steady = std::chrono::steady_clock;
  auto deadline = steady::now() + timeout;
  // Done when the hook itself has exited: what it printed until then is
  // read for a moment more, and a daemon it left running (holding the
  // output open) is not waited for.
  bool exited = false;
  int status = 0;
  steady::time_point drain_until{};
  char buf[4096];
  for (;;) {
    if (!exited) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        drain_until = steady::now() + std::chrono::milliseconds{500};
        close_fd(in[1]);
      }
    }
    auto now = steady::now();
    if (exited && (out[0] < 0 || now >= drain_until))
      break;
    if (!exited && now >= deadline) {
      r.timed_out = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      (exited ? drain_until : deadline) - now);
    int wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 1, 50));
    pollfd fds[2];
    nfds_t n = 0;
    int out_i = -1, in_i = -1;
    if (out[0] >= 0) {
      out_i = static_cast<int>(n);
      fds[n++] = {out[0], POLLIN, 0};
    }
    if (in[1] >= 0) {
      in_i = static_cast<int>(n);
      fds[n++] = {in[1], POLLOUT, 0};
    }
    int ready = ::poll(n ? fds : nullptr, n, wait_ms);
    if (ready <= 0)
      continue;  // time to look at the child again (or EINTR)
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      auto k = ::write(in[1], input.data() + written, input.size() - written);
      if (k > 0)
        written += static_cast<std::size_t>(k);
      if (k < 0 && errno == EPIPE)
        got_epipe = true;
      if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == input.size())
        close_fd(in[1]);  // all written, or it does not read its input: fine
    }
    if (out_i >= 0 && (fds[out_i].revents & (POLLIN | POLLHUP | POLLERR))) {
      auto k = ::read(out[0], buf, sizeof buf);
      if (k > 0) {
        r.output.append(buf, static_cast<std::size_t>(k));
        if (r.output.size() > 2 * keep_output)
          r.output.erase(0, r.output.size() - keep_output);
      } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(out[0]);  // every writer is gone
      }
    }
  }
  close_fd(in[1]);
  close_fd(out[0]);
  if (got_epipe) {
    timespec none{};
    while (::sigtimedwait(&pipe_sig, nullptr, &none) == SIGPIPE) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (r.timed_out) {
    ::kill(-pid, SIGKILL);  // the hook and what it started
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (r.output.size() > keep_output)
    r.output.erase(0, r.output.size() - keep_output);
  return r;
}

}  // namespace plantd::os
