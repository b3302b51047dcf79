// Accounts, sessions, API tokens and installer codes: who a caller is.
// Passwords are kept as Argon2id hashes (libsodium), tokens and codes only
// as BLAKE2b hashes, all in the store's access records, so a copy of the
// data directory logs nobody in. Thread-safe; called from gRPC threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/store/store.hpp"
#include "model/access/access.hpp"
#include "model/common/errc.hpp"
#include "model/common/expected.hpp"

namespace plantd::services {

enum class credential { session, api_token, client_certificate, local_socket };

struct principal {
  std::string name;  // "user:NAME", "token:NAME", "cert:CN", "local"
  access::role role = access::role::viewer;
  credential kind = credential::session;
  int64_t expires_ms = 0;  // 0: does not expire
  std::string token_key;   // sessions and API tokens: the record's id
};

struct refusal {
  errc code = errc::internal;
  std::string message;
};

template <class T>
using answer = expected<T, refusal>;

struct login_result {
  std::string token;
  principal who;
};

struct user_info {
  std::string name;
  access::role role = access::role::viewer;
  bool disabled = false;
  int64_t created_ms = 0;
  std::string created_by;
  bool was_disabled = false;  // set_disabled: the state before
};

struct token_info {
  std::string id;  // 16 hex digits
  std::string name;
  access::role role = access::role::service;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  std::string created_by;
};

class accounts {
public:
  struct options {
    std::chrono::hours session_life{12};
    // Argon2id cost: OWASP's minimum (19 MiB, 2 passes) by default.
    unsigned long long ops_limit = 2;
    std::size_t mem_limit = 19u << 20;
    std::size_t max_sessions = 1000;
    std::size_t max_sessions_per_user = 20;
    access::throttle::limits throttle{};
    // Clocks (tests inject their own): wall time for expiry, steady time
    // for the login throttle.
    std::function<int64_t()> now_ms;
    access::throttle::clock_fn steady;
  };

  accounts(std::shared_ptr<store::store> db, options opts);
  ~accounts();

  // At the first start (no account, no open code): a new installer code,
  // to be printed on the unit's console. nullopt otherwise.
  std::optional<std::string> first_start_code();

  answer<login_result> login(const std::string& user, const std::string& password,
                             const std::string& peer);
  answer<login_result> bootstrap(const std::string& code, const std::string& user,
                                 const std::string& password, const std::string& peer);
  // The principal behind a session or API token.
  answer<principal> authenticate(std::string_view token);
  void logout(const principal& who);
  answer<void*> change_password(const principal& who, const std::string& old_password,
                                const std::string& new_password);

  answer<user_info> create_user(const principal& by, const std::string& name,
                                const std::string& password, access::role role);
  answer<user_info> set_disabled(const principal& by, const std::string& name, bool disabled);
  std::vector<user_info> users(const principal& by) const;

  answer<std::pair<std::string, token_info>> create_token(const principal& by,
                                                          const std::string& name,
                                                          access::role role, uint32_t valid_days);
  answer<void*> revoke_token(const principal& by, const std::string& id);
  std::vector<token_info> tokens() const;

  answer<std::pair<std::string, int64_t>> issue_code(const principal& by, uint32_t valid_days);

private:
  struct state;
  answer<login_result> open_session(const std::string& user, access::role role);
  void drop_first_start_codes();
  std::shared_ptr<store::store> db_;
  options opts_;
  std::unique_ptr<state> st_;
};

}  // namespace plantd::services
