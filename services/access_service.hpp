// AccessService and AuditService over gRPC: accounts, sessions, API tokens,
// installer codes and the audit, answered on the calling thread (each is a
// map lookup or one small store write; a password check is bounded by
// accounts).
#pragma once

#include <memory>

#include "plantd/v1/access.grpc.pb.h"
#include "services/accounts.hpp"
#include "services/audit_log.hpp"

namespace plantd::services {

class access_service final : public v1::AccessService::CallbackService {
public:
  explicit access_service(std::shared_ptr<accounts> accts);

  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* ctx, const v1::LoginRequest* req,
                                  v1::LoginResponse* resp) override;
  grpc::ServerUnaryReactor* Bootstrap(grpc::CallbackServerContext* ctx,
                                      const v1::BootstrapRequest* req,
                                      v1::LoginResponse* resp) override;
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* ctx, const v1::LogoutRequest* req,
                                   v1::LogoutResponse* resp) override;
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* ctx, const v1::WhoAmIRequest* req,
                                   v1::Principal* resp) override;
  grpc::ServerUnaryReactor* ChangePassword(grpc::CallbackServerContext* ctx,
                                           const v1::ChangePasswordRequest* req,
                                           v1::ChangePasswordResponse* resp) override;
  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* ctx,
                                       const v1::CreateUserRequest* req, v1::User* resp) override;
  grpc::ServerUnaryReactor* SetUserDisabled(grpc::CallbackServerContext* ctx,
                                            const v1::SetUserDisabledRequest* req,
                                            v1::User* resp) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* ctx,
                                      const v1::ListUsersRequest* req,
                                      v1::ListUsersResponse* resp) override;
  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* ctx,
                                        const v1::CreateTokenRequest* req,
                                        v1::CreateTokenResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* ctx,
                                        const v1::RevokeTokenRequest* req,
                                        v1::RevokeTokenResponse* resp) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* ctx,
                                       const v1::ListTokensRequest* req,
                                       v1::ListTokensResponse* resp) override;
  grpc::ServerUnaryReactor* IssueInstallerCode(grpc::CallbackServerContext* ctx,
                                               const v1::IssueInstallerCodeRequest* req,
                                               v1::IssueInstallerCodeResponse* resp) override;

private:
  std::shared_ptr<accounts> accounts_;
};

class audit_service final : public v1::AuditService::CallbackService {
public:
  explicit audit_service(std::shared_ptr<audit_log> log);
  grpc::ServerUnaryReactor* ListAudit(grpc::CallbackServerContext* ctx, const v1::AuditQuery* req,
                                      v1::AuditPage* resp) override;

private:
  std::shared_ptr<audit_log> log_;
};

// The API's role enum and the model's.
v1::Role role_to_proto(access::role r);
std::optional<access::role> role_from_proto(v1::Role r);

}  // namespace plantd::services
