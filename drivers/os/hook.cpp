#include "drivers/os/hook.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

} // namespace

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
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (out[0] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    int n = ::poll(fds, in[1] >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR)
      break;
    if (in[1] >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      auto k = ::write(in[1], input.data() + written, input.size() - written);
      if (k > 0)
        written += static_cast<std::size_t>(k);
      if (k < 0 && errno == EPIPE)
        got_epipe = true;
      if (k < 0 && errno != EAGAIN && errno != EINTR)
        close_fd(in[1]);  // it does not read its input: fine
      else if (written == input.size())
        close_fd(in[1]);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
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
  if (r.timed_out)
    ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (r.timed_out)
    ::kill(-pid, SIGKILL);  // what it left behind in its group
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (r.output.size() > keep_output)
    r.output.erase(0, r.output.size() - keep_output);
  return r;
}

} // namespace plantd::os
