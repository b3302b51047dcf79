#include "services/local_socket.hpp"

#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>

namespace plantd::services {

namespace {

std::mutex peers_mtx;
std::unordered_map<int, peer_credentials> peers;  // by accepted fd

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
    return found->pw_name;
  return std::to_string(uid);
}

}  // namespace

expected<std::unique_ptr<local_socket>, std::string> local_socket::open(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return unexpected{
      fmt::format("socket path {} is longer than {} bytes", path, sizeof addr.sun_path - 1)};
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return unexpected{fmt::format("socket: {}", std::strerror(errno))};
  // Bound under a temporary name, made 0660, then renamed into place: the
  // socket is never reachable with wider permissions (and no process-wide
  // umask is touched while other threads run).
  auto tmp = fmt::format("{}.{}.tmp", path, ::getpid());
  if (tmp.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return unexpected{fmt::format("socket path {} is too long", path)};
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, tmp.c_str(), tmp.size() + 1);
  ::unlink(tmp.c_str());
  bool ok =
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
    && ::chmod(tmp.c_str(), 0660) == 0 && ::listen(fd, 64) == 0
    && ::rename(tmp.c_str(), path.c_str()) == 0;  // replaces a socket left by a previous run
  if (!ok) {
    auto err = fmt::format("cannot listen on {}: {}", path, std::strerror(errno));
    ::unlink(tmp.c_str());
    ::close(fd);
    return unexpected{err};
  }
  return std::unique_ptr<local_socket>{new local_socket(fd, path)};
}

local_socket::local_socket(int fd, std::string path)
  : fd_(fd),
    path_(std::move(path)) {}

local_socket::~local_socket() {
  stop();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void local_socket::start(grpc::Server* server) {
  accepter_ = std::thread{[this, server] {
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)  // a stop waits at most this long
        continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0)
        continue;
      ucred cred{};
      socklen_t len = sizeof cred;
      peer_credentials who;
      if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        who.uid = cred.uid;
        who.pid = cred.pid;
        who.user = user_name(cred.uid);
      } else {
        who.user = "unknown";
      }
      {
        std::lock_guard guard{peers_mtx};
        peers[c] = who;
      }
      grpc::AddInsecureChannelFromFd(server, c);
    }
  }};
}

void local_socket::stop() {
  stopping_ = true;
  if (accepter_.joinable())
    accepter_.join();
}

std::optional<peer_credentials> peer_user(std::string_view peer) {
  if (!peer.starts_with("fd:"))
    return std::nullopt;
  int fd = -1;
  auto rest = peer.substr(3);
  if (std::from_chars(rest.data(), rest.data() + rest.size(), fd).ec != std::errc{})
    return std::nullopt;
  std::lock_guard guard{peers_mtx};
  auto it = peers.find(fd);
  if (it == peers.end())
    return std::nullopt;
  return it->second;
}

}  // namespace plantd::services
