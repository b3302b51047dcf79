// The access gate: every call to plantd passes it. A gRPC server
// interceptor decides, before the handler runs, who the caller is (local
// socket, client certificate or bearer token) and whether its role holds
// the permission the method needs (model/access's one table). Every
// handler starts by asking for that decision and answers a refusal with it;
// the e2e test that calls every method without credentials proves none
// forgets. Calls that change something, logins and refusals are audited.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/server_context.h>

#include "services/accounts.hpp"
#include "services/audit_log.hpp"

namespace plantd::services {

// The gate's decision for one call.
struct call_auth {
  grpc::Status status;  // OK: allowed
  principal who;        // the caller, when it could be told
  bool identified = false;
  // What the call changed, for the audit (note_change).
  std::string before, after;
};

// A handler tells the audit what its call changed (before and after, one
// line each); recorded when the call ends.
void note_change(const grpc::ServerContextBase* ctx, std::string before, std::string after);

// The decision for the call of `ctx` (UNAUTHENTICATED when the gate did
// not see the call: a server built without it serves nobody).
call_auth caller_of(const grpc::ServerContextBase* ctx);

// A unary handler's refusal: nullptr when the call may go on.
grpc::ServerUnaryReactor* refused(grpc::CallbackServerContext* ctx);

// A stream that ends at once with `status`.
template <class Msg>
class refused_writer final : public grpc::ServerWriteReactor<Msg> {
public:
  explicit refused_writer(grpc::Status s) { this->Finish(std::move(s)); }
  void OnDone() override { delete this; }
};

// A server-streaming handler's refusal: nullptr when the call may go on.
template <class Msg>
grpc::ServerWriteReactor<Msg>* refused_stream(grpc::CallbackServerContext* ctx) {
  auto auth = caller_of(ctx);
  if (auth.status.ok())
    return nullptr;
  return new refused_writer<Msg>(auth.status);
}

struct gate_options {
  // Calls over plantd's Unix-domain socket act as this principal (the
  // socket's file permissions decide who may connect).
  access::role local_role = access::role::local;
};

class access_gate final : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
  access_gate(std::shared_ptr<accounts> accts, std::shared_ptr<audit_log> audit,
              gate_options opts = {});
  grpc::experimental::Interceptor*
  CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

  // The decision for a call's metadata (public for the bench and tests).
  call_auth decide(std::string_view method, const std::string& peer,
                   const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                   const grpc::ServerContextBase* ctx) const;

  const std::shared_ptr<audit_log>& audit() const noexcept { return audit_; }

private:
  std::shared_ptr<accounts> accounts_;
  std::shared_ptr<audit_log> audit_;
  gate_options opts_;
};

}  // namespace plantd::services
