#include "apps/plantctl/access_cmds.hpp"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/support/client_interceptor.h>

#include "apps/plantctl/common.hpp"
#include "plantd/v1/access.grpc.pb.h"
#include "services/server.hpp"

namespace plantd::apps {

namespace {

using google::protobuf::util::TimeUtil;

// Adds "authorization: Bearer <token>" to every call.
class bearer_interceptor final : public grpc::experimental::Interceptor {
public:
  explicit bearer_interceptor(const std::string& header)
    : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
          grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    methods->Proceed();
  }

private:
  const std::string& header_;
};

class bearer_factory final : public grpc::experimental::ClientInterceptorFactoryInterface {
public:
  explicit bearer_factory(std::string token)
    : header_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor*
  CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new bearer_interceptor(header_);
  }

private:
  std::string header_;
};

bool loopback_or_local(const std::string& target) {
  if (target.starts_with("unix:"))
    return true;
  return services::is_loopback(target.starts_with("ipv4:") ? target.substr(5) : target);
}

std::string read_password(bool from_stdin, const std::string& prompt) {
  std::string pw;
  if (from_stdin || !::isatty(STDIN_FILENO)) {
    std::getline(std::cin, pw);
    return pw;
  }
  std::cerr << prompt;
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  auto quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, pw);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << '\n';
  return pw;
}

std::optional<v1::Role> role_of(const std::string& name) {
  v1::Role r;
  std::string upper = "ROLE_";
  for (char c : name)
    upper += static_cast<char>(c == '-' ? '_' : std::toupper(static_cast<unsigned char>(c)));
  if (!v1::Role_Parse(upper, &r) || r == v1::ROLE_UNSPECIFIED)
    return std::nullopt;
  return r;
}

std::string role_name(v1::Role r) {
  auto n = v1::Role_Name(r);
  std::string out;
  for (char c : n.substr(5))
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string when(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0)
    return "-";
  auto text = TimeUtil::ToString(t);
  return text.substr(0, 19) + "Z";
}

int failed(const grpc::Status& st) {
  std::cerr << fmt::format("plantctl: {}\n", st.error_message());
  return 3;
}

}  // namespace

std::string token_file() {
  std::filesystem::path dir;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    dir = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = std::filesystem::path{h} / ".config";
  else
    return {};
  return (dir / "plantd" / "tokens").string();
}

std::string saved_token(const std::string& target) {
  auto file = token_file();
  if (file.empty())
    return {};
  std::ifstream in{file};
  std::string t, tok;
  while (in >> t >> tok)
    if (t == target)
      return tok;
  return {};
}

bool save_token(const std::string& target, const std::string& token) {
  auto file = token_file();
  if (file.empty())
    return false;
  std::map<std::string, std::string> all;
  {
    std::ifstream in{file};
    std::string t, tok;
    while (in >> t >> tok)
      all[t] = tok;
  }
  if (token.empty())
    all.erase(target);
  else
    all[target] = token;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path{file}.parent_path(), ec);
  auto old = ::umask(077);
  auto tmp = file + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    for (const auto& [t, tok] : all)
      out << t << ' ' << tok << '\n';
  }
  ::umask(old);
  ::chmod(tmp.c_str(), 0600);
  return std::rename(tmp.c_str(), file.c_str()) == 0;
}

std::shared_ptr<grpc::Channel> open_channel(const connection& c) {
  grpc::ChannelArguments args;
  // Large enough for GetModel of an enterprise-scale energy tree.
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (c.tls || !c.ca_file.empty() || !loopback_or_local(c.target)) {
    grpc::SslCredentialsOptions ssl;
    if (!c.ca_file.empty()) {
      std::ifstream in{c.ca_file};
      std::stringstream ss;
      ss << in.rdbuf();
      ssl.pem_root_certs = ss.str();
    }
    creds = grpc::SslCredentials(ssl);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> icp;
  if (!c.token.empty())
    icp.push_back(std::make_unique<bearer_factory>(c.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(c.target, creds, args,
                                                                 std::move(icp));
}

int access(const control_opts& o, const connection& c, const std::shared_ptr<grpc::Channel>& ch,
           const access_args& a) {
  auto stub = v1::AccessService::NewStub(ch);
  if (a.action == "login" || a.action == "bootstrap") {
    auto pw = read_password(a.password_stdin, "password: ");
    v1::LoginResponse resp;
    grpc::Status st;
    if (a.action == "login") {
      v1::LoginRequest req;
      req.set_username(a.name);
      req.set_password(pw);
      st = stub->Login(context(o).get(), req, &resp);
    } else {
      v1::BootstrapRequest req;
      req.set_installer_code(a.code);
      req.set_username(a.name);
      req.set_password(pw);
      st = stub->Bootstrap(context(o).get(), req, &resp);
    }
    if (!st.ok())
      return failed(st);
    if (!save_token(c.target, resp.token())) {
      std::cerr << "plantctl: cannot save the token in " << token_file() << '\n';
      return 2;
    }
    std::cout << fmt::format("logged in to {} as {} ({}) until {}; token in {}\n", c.target,
                             resp.principal().name(), role_name(resp.principal().role()),
                             when(resp.expires()), token_file());
    return 0;
  }
  if (a.action == "logout") {
    v1::LogoutResponse resp;
    auto st = stub->Logout(context(o).get(), {}, &resp);
    save_token(c.target, "");
    if (!st.ok())
      return failed(st);
    std::cout << "logged out\n";
    return 0;
  }
  if (a.action == "whoami") {
    v1::Principal p;
    auto st = stub->WhoAmI(context(o).get(), {}, &p);
    if (!st.ok())
      return failed(st);
    if (o.json)
      std::cout << json_of(p) << '\n';
    else
      std::cout << fmt::format("{} ({}), until {}\n", p.name(), role_name(p.role()),
                               p.has_expires() ? when(p.expires()) : "no expiry");
    return 0;
  }
  if (a.action == "users") {
    if (a.sub == "add") {
      auto r = role_of(a.role);
      if (!r) {
        std::cerr << "plantctl: --role: viewer, owner, energy-manager, installer or distributor\n";
        return 2;
      }
      v1::CreateUserRequest req;
      req.set_username(a.name);
      req.set_password(read_password(a.password_stdin, "password for " + a.name + ": "));
      req.set_role(*r);
      v1::User u;
      auto st = stub->CreateUser(context(o).get(), req, &u);
      if (!st.ok())
        return failed(st);
      std::cout << fmt::format("created {} ({})\n", u.username(), role_name(u.role()));
      return 0;
    }
    if (a.sub == "disable" || a.sub == "enable") {
      v1::SetUserDisabledRequest req;
      req.set_username(a.name);
      req.set_disabled(a.sub == "disable");
      v1::User u;
      auto st = stub->SetUserDisabled(context(o).get(), req, &u);
      if (!st.ok())
        return failed(st);
      std::cout << fmt::format("{} {}\n", u.username(), u.disabled() ? "disabled" : "enabled");
      return 0;
    }
    v1::ListUsersResponse resp;
    auto st = stub->ListUsers(context(o).get(), {}, &resp);
    if (!st.ok())
      return failed(st);
    if (o.json) {
      std::cout << json_of(resp) << '\n';
      return 0;
    }
    for (const auto& u : resp.users())
      std::cout << fmt::format("{:<24} {:<15} {:<9} created {} by {}\n", u.username(),
                               role_name(u.role()), u.disabled() ? "disabled" : "active",
                               when(u.created()), u.created_by());
    return 0;
  }
  if (a.action == "tokens") {
    if (a.sub == "create") {
      auto r = role_of(a.role);
      if (!r) {
        std::cerr << "plantctl: --role: viewer, owner, energy-manager or service\n";
        return 2;
      }
      v1::CreateTokenRequest req;
      req.set_name(a.name);
      req.set_role(*r);
      req.set_valid_days(a.days);
      v1::CreateTokenResponse resp;
      auto st = stub->CreateToken(context(o).get(), req, &resp);
      if (!st.ok())
        return failed(st);
      std::cout << resp.token() << '\n';
      std::cerr << fmt::format("token {} ({}, id {}): shown once, keep it now\n",
                               resp.info().name(), role_name(resp.info().role()), resp.info().id());
      return 0;
    }
    if (a.sub == "revoke") {
      v1::RevokeTokenRequest req;
      req.set_id(a.id);
      v1::RevokeTokenResponse resp;
      auto st = stub->RevokeToken(context(o).get(), req, &resp);
      if (!st.ok())
        return failed(st);
      std::cout << "revoked " << a.id << '\n';
      return 0;
    }
    v1::ListTokensResponse resp;
    auto st = stub->ListTokens(context(o).get(), {}, &resp);
    if (!st.ok())
      return failed(st);
    if (o.json) {
      std::cout << json_of(resp) << '\n';
      return 0;
    }
    for (const auto& t : resp.tokens())
      std::cout << fmt::format("{}  {:<20} {:<15} created {} by {}, expires {}\n", t.id(), t.name(),
                               role_name(t.role()), when(t.created()), t.created_by(),
                               when(t.expires()));
    return 0;
  }
  if (a.action == "installer-code") {
    v1::IssueInstallerCodeRequest req;
    req.set_valid_days(a.days);
    v1::IssueInstallerCodeResponse resp;
    auto st = stub->IssueInstallerCode(context(o).get(), req, &resp);
    if (!st.ok())
      return failed(st);
    std::cout << fmt::format("{} (one installer account, until {})\n", resp.installer_code(),
                             when(resp.expires()));
    return 0;
  }
  if (a.action == "audit") {
    auto audit = v1::AuditService::NewStub(ch);
    v1::AuditQuery q;
    q.set_limit(a.last);
    q.set_principal(a.principal);
    q.set_method(a.method);
    q.set_refused_only(a.refused);
    v1::AuditPage page;
    auto st = audit->ListAudit(context(o).get(), q, &page);
    if (!st.ok())
      return failed(st);
    if (o.json) {
      std::cout << json_of(page) << '\n';
      return 0;
    }
    for (const auto& r : page.records()) {
      auto method = r.method().substr(r.method().rfind('.') + 1);
      std::cout << fmt::format("{} {:<22} {:<40} {} {}\n", when(r.at()), r.principal(), method,
                               r.result(), r.request());
    }
    return 0;
  }
  std::cerr << "plantctl: unknown access command\n";
  return 2;
}

}  // namespace plantd::apps
