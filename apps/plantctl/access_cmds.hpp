// plantctl's credentials and access commands:
//   plantctl [--token T | saved login] [--ca FILE] ...  every command
//   plantctl login USER [--password-stdin]   keeps a session token (0600)
//   plantctl logout | whoami
//   plantctl bootstrap CODE USER [--password-stdin]  the first installer
//   plantctl users [add USER --role R | disable USER | enable USER]
//   plantctl tokens [create NAME --role R [--days N] | revoke ID]
//   plantctl installer-code [--days N]
//   plantctl audit [--last N] [--principal P] [--method M] [--refused]
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

struct connection {
  std::string target;
  std::string token;    // --token, PLANTD_TOKEN or the saved login
  std::string ca_file;  // --ca: TLS with this root
  bool tls = false;     // --tls: TLS with the system's roots (or --ca)
};

// Where plantctl keeps session tokens: $XDG_CONFIG_HOME/plantd/tokens
// (or ~/.config/plantd/tokens), one "TARGET TOKEN" line per plantd, 0600.
std::string token_file();
std::string saved_token(const std::string& target);
bool save_token(const std::string& target, const std::string& token);

// The channel to plantd: TLS when asked (--tls, --ca) and always to a
// non-loopback TCP address; every call carries the token.
std::shared_ptr<grpc::Channel> open_channel(const connection& c);

struct access_args {
  std::string action;  // login logout whoami bootstrap users tokens installer-code audit
  std::string sub;     // users/tokens: list add disable enable create revoke
  std::string name, code, role, id, principal, method;
  bool password_stdin = false;
  bool refused = false;
  uint32_t days = 0;
  uint32_t last = 20;
};

int access(const control_opts& o, const connection& c, const std::shared_ptr<grpc::Channel>& ch,
           const access_args& a);

}  // namespace plantd::apps
