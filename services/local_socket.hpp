// plantd's local Unix-domain socket, accepted by plantd itself so that each
// connection's peer credentials (SO_PEERCRED: uid, pid) are known: the
// audit names the user at the unit's console ("local:ingrid"), not just
// "local". Each accepted connection is handed to the gRPC server
// (AddInsecureChannelFromFd); its calls carry the peer "fd:N", which
// `peer_user` maps back to the credentials taken at accept.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "model/common/expected.hpp"

namespace grpc {
class Server;
}

namespace plantd::services {

struct peer_credentials {
  uint32_t uid = 0;
  int32_t pid = 0;
  std::string user;  // the uid's name, or the number
};

class local_socket {
public:
  // Binds and listens on `path` (a stale socket file is replaced), mode 0660.
  static expected<std::unique_ptr<local_socket>, std::string> open(const std::string& path);
  ~local_socket();

  // Accepts connections into `server` until stop().
  void start(grpc::Server* server);
  void stop();

  const std::string& path() const noexcept { return path_; }

private:
  local_socket(int fd, std::string path);
  int fd_;
  std::string path_;
  std::atomic<bool> stopping_{false};
  std::thread accepter_;
};

// The credentials of the local-socket connection a call came on (its
// gRPC peer "fd:N"), nullopt for other peers.
std::optional<peer_credentials> peer_user(std::string_view peer);

}  // namespace plantd::services
