#include "test/e2e/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace plantd::test {

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& a : argv)
    out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

std::optional<int> decode(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return std::nullopt;
}

std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    int status = 0;
    auto r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return decode(status);
    if (r < 0)
      return std::nullopt;
    if (clock_type::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
}

}  // namespace

std::string write_temp_file(const std::string& text, const std::string& suffix) {
  std::string path = "/tmp/plantd-test-XXXXXX" + suffix;
  int fd = mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0)
    throw std::runtime_error("mkstemps failed");
  close(fd);
  std::ofstream{path} << text;
  return path;
}

child_process::child_process(std::vector<std::string> argv) {
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  err_path_ = write_temp_file("", ".stderr");
  auto args = c_argv(argv);
  pid_ = fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int err = open(err_path_.c_str(), O_WRONLY | O_TRUNC);
    if (err >= 0)
      dup2(err, STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
}

child_process::~child_process() {
  if (!status_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_for(pid_, std::chrono::seconds{5});
  }
  if (out_fd_ >= 0)
    close(out_fd_);
  std::remove(err_path_.c_str());
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      auto line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char chunk[4096];
    auto n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0)
      return std::nullopt;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<int> child_process::stop(int sig, std::chrono::milliseconds timeout) {
  if (status_)
    return status_;
  kill(pid_, sig);
  status_ = wait_for(pid_, timeout);
  return status_;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  if (!status_)
    status_ = wait_for(pid_, timeout);
  return status_;
}

std::string child_process::stderr_text() const {
  std::ifstream in{err_path_};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

command_result run_command(const std::vector<std::string>& argv_in,
                           std::chrono::milliseconds timeout) {
  auto argv = argv_in;
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  auto args = c_argv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  command_result result;
  auto deadline = clock_type::now() + timeout;
  char chunk[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    auto n = read(fds[0], chunk, sizeof chunk);
    if (n <= 0)
      break;
    result.out.append(chunk, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  result.exit_code = wait_for(pid, std::chrono::seconds{5}).value_or(-1);
  return result;
}

long status_kb(pid_t pid, std::string_view field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::stol(line.substr(key.size()));
  return -1;
}

long rss_kb(pid_t pid) {
  return status_kb(pid, "VmRSS");
}

int unused_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace plantd::test
