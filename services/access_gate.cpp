#include "services/access_gate.hpp"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <grpcpp/security/auth_context.h>

#include "services/local_socket.hpp"

namespace plantd::services {

namespace {

using grpc::experimental::InterceptionHookPoints;

// The decisions of the calls in flight, by their server context.
struct registry {
  std::mutex mtx;
  std::unordered_map<const grpc::ServerContextBase*, call_auth> calls;
};

registry& calls() {
  static registry r;
  return r;
}

std::string_view view(const grpc::string_ref& s) {
  return {s.data(), s.size()};
}

// A printable cut of what a client sent (a binary or huge value).
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

// The common name and the organizational unit of a TLS peer's certificate.
std::pair<std::string, std::string> certificate_names(const grpc::AuthContext& ac) {
  std::string cn, ou;
  for (const auto& v : ac.FindPropertyValues("x509_common_name"))
    cn = std::string{v.data(), v.size()};
  for (const auto& v : ac.FindPropertyValues("x509_subject")) {
    // "CN=cloud,OU=service,O=Fleet" (RFC 2253, ',' separated)
    std::string_view subject{v.data(), v.size()};
    std::size_t pos = 0;
    while (pos < subject.size()) {
      auto end = subject.find(',', pos);
      auto part = subject.substr(pos, end == std::string_view::npos ? subject.npos : end - pos);
      if (part.starts_with("OU="))
        ou = std::string{part.substr(3)};
      if (end == std::string_view::npos)
        break;
      pos = end + 1;
    }
  }
  return {cn, ou};
}

class gate_interceptor final : public grpc::experimental::Interceptor {
public:
  gate_interceptor(const access_gate& gate, grpc::experimental::ServerRpcInfo* info)
    : gate_(gate), info_(info), method_(info->method()) {}

  ~gate_interceptor() override {
    std::lock_guard guard{calls().mtx};
    calls().calls.erase(info_->server_context());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    auto* ctx = info_->server_context();
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = methods->GetRecvInitialMetadata();
      static const std::multimap<grpc::string_ref, grpc::string_ref> none;
      auth_ = gate_.decide(method_, ctx->peer(), md ? *md : none, ctx);
      std::lock_guard guard{calls().mtx};
      calls().calls[ctx] = auth_;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        audited() && request_.empty()) {
      if (const auto* m = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage()))
        request_ = audit_log::summary(*m);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        audited() && gate_.audit()) {
      auto status = methods->GetSendStatus();
      v1::ChangeRecord rec;
      rec.set_principal(auth_.identified ? auth_.who.name : "anonymous");
      if (auth_.identified)
        rec.set_role(static_cast<v1::Role>(static_cast<int>(auth_.who.role) + 1));
      rec.set_peer(ctx->peer());
      rec.set_method(std::string{method_});
      rec.set_request(request_);
      rec.set_result(audit_log::result_text(status));
      if (status.ok()) {
        std::lock_guard guard{calls().mtx};
        if (auto it = calls().calls.find(ctx); it != calls().calls.end()) {
          rec.set_before(it->second.before);
          rec.set_after(it->second.after);
        }
      }
      gate_.audit()->record(std::move(rec), !auth_.status.ok() || refused_login(status));
    }
    methods->Proceed();
  }

private:
  // Writes, logins and every refusal are audited; reads that pass are not.
  // Only plantd's own services: their messages are protobuf (gRPC's health
  // service reads raw bytes).
  bool audited() const {
    if (!method_.starts_with("/plantd."))
      return false;
    if (!auth_.status.ok())
      return true;
    auto p = access::permission_of(method_);
    return p && (access::is_write(*p) || method_.starts_with("/plantd.v1.AccessService/"));
  }
  static bool refused_login(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
           s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }

  const access_gate& gate_;
  grpc::experimental::ServerRpcInfo* info_;
  std::string_view method_;
  call_auth auth_;
  std::string request_;
};

} // namespace

call_auth caller_of(const grpc::ServerContextBase* ctx) {
  std::lock_guard guard{calls().mtx};
  auto it = calls().calls.find(ctx);
  if (it == calls().calls.end())
    return {grpc::Status{grpc::StatusCode::UNAUTHENTICATED, "no access decision for this call"},
            {}, false, {}, {}};
  return it->second;
}

void note_change(const grpc::ServerContextBase* ctx, std::string before, std::string after) {
  std::lock_guard guard{calls().mtx};
  auto it = calls().calls.find(ctx);
  if (it == calls().calls.end())
    return;
  it->second.before = std::move(before);
  it->second.after = std::move(after);
}

grpc::ServerUnaryReactor* refused(grpc::CallbackServerContext* ctx) {
  auto auth = caller_of(ctx);
  if (auth.status.ok())
    return nullptr;
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(auth.status);
  return reactor;
}

access_gate::access_gate(std::shared_ptr<accounts> accts, std::shared_ptr<audit_log> audit,
                         gate_options opts)
  : accounts_(std::move(accts)), audit_(std::move(audit)), opts_(opts) {}

grpc::experimental::Interceptor* access_gate::CreateServerInterceptor(
  grpc::experimental::ServerRpcInfo* info) {
  return new gate_interceptor(*this, info);
}

call_auth access_gate::decide(std::string_view method, const std::string& peer,
                              const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                              const grpc::ServerContextBase* ctx) const {
  call_auth out;
  auto perm = access::permission_of(method);
  if (!perm) {
    out.status = grpc::Status{grpc::StatusCode::PERMISSION_DENIED,
                              fmt::format("{} is not in plantd's access table", printable(method))};
    return out;
  }
  // Who is calling: the local socket, a client certificate, or a token.
  std::optional<grpc::Status> bad_credentials;
  if (auto cred = peer_user(peer)) {
    // plantd's own socket: the user the kernel says connected.
    out.who = principal{"local:" + cred->user, opts_.local_role, credential::local_socket, 0, {}};
    out.identified = true;
  } else if (peer.starts_with("unix:")) {
    out.who = principal{"local", opts_.local_role, credential::local_socket, 0, {}};
    out.identified = true;
  }
  if (!out.identified && ctx) {
    auto ac = ctx->auth_context();
    if (ac && ac->IsPeerAuthenticated()) {
      auto [cn, ou] = certificate_names(*ac);
      if (!cn.empty()) {
        out.who = principal{"cert:" + cn, access::parse_role(ou).value_or(access::role::service),
                            credential::client_certificate, 0, {}};
        out.identified = true;
      }
    }
  }
  if (!out.identified) {
    auto it = metadata.find("authorization");
    if (it != metadata.end()) {
      auto value = view(it->second);
      if (!value.starts_with("Bearer ")) {
        bad_credentials = grpc::Status{grpc::StatusCode::UNAUTHENTICATED,
                                       "authorization: expected 'Bearer <token>'"};
      } else if (auto who = accounts_->authenticate(value.substr(7)); who) {
        out.who = who.value();
        out.identified = true;
      } else {
        bad_credentials = grpc::Status{grpc::StatusCode::UNAUTHENTICATED, who.error().message};
      }
    } else {
      // A token sent under another key: say where it belongs.
      for (const auto& [k, v] : metadata) {
        auto value = view(v);
        if (value.starts_with("pds_") || value.starts_with("pdt_") ||
            value.starts_with("Bearer ")) {
          bad_credentials = grpc::Status{
            grpc::StatusCode::UNAUTHENTICATED,
            fmt::format("a token was sent as '{}'; send it as 'authorization: Bearer <token>'",
                        printable(view(k)))};
          break;
        }
      }
    }
  }
  if (*perm == access::permission::open) {
    out.status = grpc::Status::OK;
    return out;
  }
  if (bad_credentials) {
    out.status = *bad_credentials;
    return out;
  }
  if (!out.identified) {
    out.status = grpc::Status{grpc::StatusCode::UNAUTHENTICATED,
                              "this call needs credentials: send 'authorization: Bearer <token>' "
                              "(AccessService.Login, plantctl login) or a client certificate"};
    return out;
  }
  if (!access::grants(out.who.role, *perm)) {
    out.status = grpc::Status{
      grpc::StatusCode::PERMISSION_DENIED,
      fmt::format("{} needs permission '{}', which role '{}' does not have", method,
                  access::to_string(*perm), access::to_string(out.who.role))};
    return out;
  }
  out.status = grpc::Status::OK;
  return out;
}

} // namespace plantd::services
