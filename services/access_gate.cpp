#include "services/access_gate.hpp"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "services/local_socket.hpp"
#include "services/raw_methods.hpp"

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

// The principal of a verified client certificate: its common name, and its
// role from the organizational unit where that names a role a machine may
// hold (viewer, owner, energy_manager, service; anything else: service).
// Read from the certificate itself (not from gRPC's subject string, where
// an escaped comma in the CN could pose as another field); a certificate
// restricted to other uses than client authentication is refused.
std::optional<principal> certificate_principal(const grpc::AuthContext& ac) {
  auto pems = ac.FindPropertyValues("x509_pem_cert");
  if (pems.empty())
    return std::nullopt;
  const auto& pem = pems.front();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{
    PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
  if (!cert || X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0) != 1)
    return std::nullopt;
  auto field = [&](int nid) {
    auto* name = X509_get_subject_name(cert.get());
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
      return std::string{};
    auto* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0)
      return std::string{};
    std::string out{reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n)};
    OPENSSL_free(utf8);
    return out;
  };
  auto cn = field(NID_commonName);
  if (cn.empty() || cn.size() > 128)
    return std::nullopt;
  auto r = access::parse_role(field(NID_organizationalUnitName)).value_or(access::role::service);
  if (r != access::role::viewer && r != access::role::owner && r != access::role::energy_manager)
    r = access::role::service;
  return principal{"cert:" + printable(cn), r, credential::client_certificate, 0, {}};
}

class gate_interceptor final : public grpc::experimental::Interceptor {
public:
  gate_interceptor(const access_gate& gate, grpc::experimental::ServerRpcInfo* info)
    : gate_(gate),
      info_(info),
      method_(info->method()) {}

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
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) && audited()
        && request_.empty()) {
      // A refused call's request is named, not shown: it may hold what the
      // caller had no right to hand in (a config with its secrets).
      if (auto raw = raw_request_type(method_); !raw.empty()) {
        // Served raw: the handler parses the bytes, the gate sees them.
        if (const auto* b = static_cast<const grpc::ByteBuffer*>(methods->GetRecvMessage()))
          request_ = fmt::format("{} of {} bytes", raw, b->Valid() ? b->Length() : 0);
      } else if (const auto* m =
                   static_cast<const google::protobuf::Message*>(methods->GetRecvMessage())) {
        request_ = auth_.status.ok()
                     ? audit_log::summary(*m)
                     : fmt::format("{} of {} bytes", m->GetTypeName(), m->ByteSizeLong());
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && audited()
        && gate_.audit()) {
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
    // Listing accounts and tokens needs their permission but changes nothing.
    if (method_.starts_with("/plantd.v1.AccessService/List"))
      return false;
    auto p = access::permission_of(method_);
    return p
           && (access::is_write(*p) || *p == access::permission::open
               || method_ == "/plantd.v1.AccessService/Logout"
               || method_ == "/plantd.v1.AccessService/ChangePassword");
  }
  static bool refused_login(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED
           || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }

  const access_gate& gate_;
  grpc::experimental::ServerRpcInfo* info_;
  std::string_view method_;
  call_auth auth_;
  std::string request_;
};

}  // namespace

call_auth caller_of(const grpc::ServerContextBase* ctx) {
  std::lock_guard guard{calls().mtx};
  auto it = calls().calls.find(ctx);
  if (it == calls().calls.end())
    return {grpc::Status{grpc::StatusCode::UNAUTHENTICATED, "no access decision for this call"},
            {},
            false,
            {},
            {}};
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
  : accounts_(std::move(accts)),
    audit_(std::move(audit)),
    opts_(opts) {}

grpc::experimental::Interceptor*
access_gate::CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) {
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
    // plantd's own socket (and only it): the user the kernel says connected.
    out.who = principal{"local:" + cred->user, opts_.local_role, credential::local_socket, 0, {}};
    out.identified = true;
  }
  if (!out.identified && ctx) {
    auto ac = ctx->auth_context();
    if (ac && ac->IsPeerAuthenticated()) {
      if (auto who = certificate_principal(*ac)) {
        out.who = std::move(*who);
        out.identified = true;
      } else {
        bad_credentials = grpc::Status{grpc::StatusCode::UNAUTHENTICATED,
                                       "the client certificate has no common name or is not "
                                       "for client authentication"};
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
        if (value.starts_with("pds_") || value.starts_with("pdt_")
            || value.starts_with("Bearer ")) {
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
    out.status =
      grpc::Status{grpc::StatusCode::PERMISSION_DENIED,
                   fmt::format("{} needs permission '{}', which role '{}' does not have", method,
                               access::to_string(*perm), access::to_string(out.who.role))};
    return out;
  }
  out.status = grpc::Status::OK;
  return out;
}

}  // namespace plantd::services
