#include "services/access_service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "services/access_gate.hpp"
#include "services/status.hpp"

namespace plantd::services {

namespace {

using google::protobuf::util::TimeUtil;

// The caller's address without its port (a client's new connections share
// it); an IPv6 address by its /64, which one client may hold whole.
std::string peer_host(const std::string& peer) {
  auto colon = peer.rfind(':');
  auto host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.starts_with("ipv6:[") && host.ends_with("]")) {
    auto addr = host.substr(6, host.size() - 7);
    in6_addr a{};
    if (::inet_pton(AF_INET6, addr.c_str(), &a) == 1) {
      std::memset(a.s6_addr + 8, 0, 8);
      char text[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET6, &a, text, sizeof text);
      return fmt::format("ipv6:[{}]/64", text);
    }
  }
  return host;
}

grpc::Status status_of(const refusal& r) {
  return to_status(r.code, r.message);
}

v1::CredentialKind to_proto(credential k) {
  switch (k) {
    case credential::session: return v1::CREDENTIAL_KIND_SESSION;
    case credential::api_token: return v1::CREDENTIAL_KIND_API_TOKEN;
    case credential::client_certificate: return v1::CREDENTIAL_KIND_CLIENT_CERTIFICATE;
    case credential::local_socket: return v1::CREDENTIAL_KIND_LOCAL_SOCKET;
  }
  return v1::CREDENTIAL_KIND_UNSPECIFIED;
}

void to_proto(const principal& p, v1::Principal* out) {
  out->set_name(p.name);
  out->set_role(role_to_proto(p.role));
  out->set_kind(to_proto(p.kind));
  if (p.expires_ms)
    *out->mutable_expires() = TimeUtil::MillisecondsToTimestamp(p.expires_ms);
}

void to_proto(const user_info& u, v1::User* out) {
  out->set_username(u.name);
  out->set_role(role_to_proto(u.role));
  out->set_disabled(u.disabled);
  *out->mutable_created() = TimeUtil::MillisecondsToTimestamp(u.created_ms);
  out->set_created_by(u.created_by);
}

void to_proto(const token_info& t, v1::ApiToken* out) {
  out->set_id(t.id);
  out->set_name(t.name);
  out->set_role(role_to_proto(t.role));
  *out->mutable_created() = TimeUtil::MillisecondsToTimestamp(t.created_ms);
  if (t.expires_ms)
    *out->mutable_expires() = TimeUtil::MillisecondsToTimestamp(t.expires_ms);
  out->set_created_by(t.created_by);
}

grpc::Status logged_in(const answer<login_result>& res, v1::LoginResponse* resp) {
  if (!res)
    return status_of(res.error());
  resp->set_token(res.value().token);
  *resp->mutable_expires() = TimeUtil::MillisecondsToTimestamp(res.value().who.expires_ms);
  to_proto(res.value().who, resp->mutable_principal());
  return grpc::Status::OK;
}

}  // namespace

v1::Role role_to_proto(access::role r) {
  return static_cast<v1::Role>(static_cast<int>(r) + 1);
}

std::optional<access::role> role_from_proto(v1::Role r) {
  int i = static_cast<int>(r) - 1;
  if (i < 0 || i >= static_cast<int>(access::all_roles.size()))
    return std::nullopt;
  return access::all_roles[static_cast<std::size_t>(i)];
}

access_service::access_service(std::shared_ptr<accounts> accts)
  : accounts_(std::move(accts)) {}

grpc::ServerUnaryReactor* access_service::Login(grpc::CallbackServerContext* ctx,
                                                const v1::LoginRequest* req,
                                                v1::LoginResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  return finish(
    ctx,
    logged_in(accounts_->login(req->username(), req->password(), peer_host(ctx->peer())), resp));
}

grpc::ServerUnaryReactor* access_service::Bootstrap(grpc::CallbackServerContext* ctx,
                                                    const v1::BootstrapRequest* req,
                                                    v1::LoginResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  return finish(ctx, logged_in(accounts_->bootstrap(req->installer_code(), req->username(),
                                                    req->password(), peer_host(ctx->peer())),
                               resp));
}

grpc::ServerUnaryReactor* access_service::Logout(grpc::CallbackServerContext* ctx,
                                                 const v1::LogoutRequest*, v1::LogoutResponse*) {
  if (auto* r = refused(ctx))
    return r;
  accounts_->logout(caller_of(ctx).who);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* access_service::WhoAmI(grpc::CallbackServerContext* ctx,
                                                 const v1::WhoAmIRequest*, v1::Principal* resp) {
  if (auto* r = refused(ctx))
    return r;
  to_proto(caller_of(ctx).who, resp);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* access_service::ChangePassword(grpc::CallbackServerContext* ctx,
                                                         const v1::ChangePasswordRequest* req,
                                                         v1::ChangePasswordResponse*) {
  if (auto* r = refused(ctx))
    return r;
  auto res =
    accounts_->change_password(caller_of(ctx).who, req->old_password(), req->new_password());
  return finish(ctx, res ? grpc::Status::OK : status_of(res.error()));
}

grpc::ServerUnaryReactor* access_service::CreateUser(grpc::CallbackServerContext* ctx,
                                                     const v1::CreateUserRequest* req,
                                                     v1::User* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto role = role_from_proto(req->role());
  if (!role)
    return finish(ctx,
                  to_status(errc::invalid_argument, "role: one of ROLE_VIEWER .. ROLE_SERVICE"));
  auto res = accounts_->create_user(caller_of(ctx).who, req->username(), req->password(), *role);
  if (!res)
    return finish(ctx, status_of(res.error()));
  to_proto(res.value(), resp);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* access_service::SetUserDisabled(grpc::CallbackServerContext* ctx,
                                                          const v1::SetUserDisabledRequest* req,
                                                          v1::User* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto res = accounts_->set_disabled(caller_of(ctx).who, req->username(), req->disabled());
  if (!res)
    return finish(ctx, status_of(res.error()));
  note_change(
    ctx, fmt::format("{}: {}", req->username(), res.value().was_disabled ? "disabled" : "active"),
    fmt::format("{}: {}", req->username(), res.value().disabled ? "disabled" : "active"));
  to_proto(res.value(), resp);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* access_service::ListUsers(grpc::CallbackServerContext* ctx,
                                                    const v1::ListUsersRequest*,
                                                    v1::ListUsersResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  for (const auto& u : accounts_->users(caller_of(ctx).who))
    to_proto(u, resp->add_users());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* access_service::CreateToken(grpc::CallbackServerContext* ctx,
                                                      const v1::CreateTokenRequest* req,
                                                      v1::CreateTokenResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto role = role_from_proto(req->role());
  if (!role)
    return finish(ctx, to_status(errc::invalid_argument,
                                 "role: one of ROLE_VIEWER, ROLE_OWNER, ROLE_ENERGY_MANAGER, "
                                 "ROLE_SERVICE"));
  auto res = accounts_->create_token(caller_of(ctx).who, req->name(), *role, req->valid_days());
  if (!res)
    return finish(ctx, status_of(res.error()));
  resp->set_token(res.value().first);
  to_proto(res.value().second, resp->mutable_info());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* access_service::RevokeToken(grpc::CallbackServerContext* ctx,
                                                      const v1::RevokeTokenRequest* req,
                                                      v1::RevokeTokenResponse*) {
  if (auto* r = refused(ctx))
    return r;
  auto res = accounts_->revoke_token(caller_of(ctx).who, req->id());
  return finish(ctx, res ? grpc::Status::OK : status_of(res.error()));
}

grpc::ServerUnaryReactor* access_service::ListTokens(grpc::CallbackServerContext* ctx,
                                                     const v1::ListTokensRequest*,
                                                     v1::ListTokensResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  for (const auto& t : accounts_->tokens())
    to_proto(t, resp->add_tokens());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor*
access_service::IssueInstallerCode(grpc::CallbackServerContext* ctx,
                                   const v1::IssueInstallerCodeRequest* req,
                                   v1::IssueInstallerCodeResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto res = accounts_->issue_code(caller_of(ctx).who, req->valid_days());
  if (!res)
    return finish(ctx, status_of(res.error()));
  resp->set_installer_code(res.value().first);
  *resp->mutable_expires() = TimeUtil::MillisecondsToTimestamp(res.value().second);
  return finish(ctx, grpc::Status::OK);
}

audit_service::audit_service(std::shared_ptr<audit_log> log)
  : log_(std::move(log)) {}

grpc::ServerUnaryReactor* audit_service::ListAudit(grpc::CallbackServerContext* ctx,
                                                   const v1::AuditQuery* req, v1::AuditPage* resp) {
  if (auto* r = refused(ctx))
    return r;
  *resp = log_->list(*req);
  return finish(ctx, grpc::Status::OK);
}

}  // namespace plantd::services
