#include "services/accounts.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <sodium.h>

namespace plantd::services {

namespace {

using access::role;

// Records are tab-separated fields: names are checked to hold no tab,
// hashes are ASCII.
std::string join(std::initializer_list<std::string> fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty())
      out += '\t';
    out += f;
  }
  return out;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto tab = s.find('\t', start);
    out.emplace_back(s.substr(start, tab == std::string_view::npos ? s.npos : tab - start));
    if (tab == std::string_view::npos)
      return out;
    start = tab + 1;
  }
}

int64_t to_i64(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// A random secret as URL-safe base64 (no padding): `bytes` of entropy.
std::string random_secret(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  sodium_memzero(raw.data(), raw.size());
  return out;
}

// The key a token or code is stored under: the hex of its BLAKE2b-256.
std::string secret_key(std::string_view secret) {
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

// An installer code a person can read out and type: 16 letters and digits
// without look-alikes, in groups of four (about 80 bits).
std::string installer_code() {
  static constexpr std::string_view alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0)
      out += '-';
    out += alphabet[randombytes_uniform(static_cast<uint32_t>(alphabet.size()))];
  }
  return out;
}

std::string normalized_code(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ')
      continue;
    out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return out;
}

refusal refuse(errc code, std::string message) {
  return refusal{code, std::move(message)};
}

}  // namespace

struct accounts::state {
  struct user {
    role r = role::viewer;
    std::string hash;
    int64_t created_ms = 0;
    std::string created_by;
    bool disabled = false;
  };
  struct session {
    std::string user;
    role r = role::viewer;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
  };
  struct token {
    std::string name;
    role r = role::service;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
    std::string created_by;
  };
  struct code {
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
    std::string created_by;
  };

  explicit state(access::throttle t)
    : throttle(std::move(t)) {}

  mutable std::mutex mtx;
  std::map<std::string, user, std::less<>> users;
  std::map<std::string, session, std::less<>> sessions;
  std::map<std::string, token, std::less<>> tokens;
  std::map<std::string, code, std::less<>> codes;
  access::throttle throttle;
  // One password check at a time: Argon2id takes ~19 MiB and tens of
  // milliseconds each, so a flood of logins is bounded in memory and CPU.
  std::mutex verify;
  // Checked when the user name is unknown, so that an unknown name and a
  // wrong password take the same time.
  std::string dummy_hash;

  static std::string encode(const user& u) {
    return join({std::string{access::to_string(u.r)}, u.hash, std::to_string(u.created_ms),
                 u.created_by, u.disabled ? "1" : "0"});
  }
  static std::string encode(const session& s) {
    return join({s.user, std::string{access::to_string(s.r)}, std::to_string(s.created_ms),
                 std::to_string(s.expires_ms)});
  }
  static std::string encode(const token& t) {
    return join({t.name, std::string{access::to_string(t.r)}, std::to_string(t.created_ms),
                 std::to_string(t.expires_ms), t.created_by});
  }
  static std::string encode(const code& c) {
    return join({std::to_string(c.created_ms), std::to_string(c.expires_ms), c.created_by});
  }
};

accounts::accounts(std::shared_ptr<store::store> db, options opts)
  : db_(std::move(db)),
    opts_(std::move(opts)) {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium cannot be initialised");
  if (!opts_.now_ms)
    opts_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
    };
  if (!opts_.steady)
    opts_.steady = [] { return std::chrono::steady_clock::now(); };
  st_ = std::make_unique<state>(access::throttle{opts_.steady, opts_.throttle});
  using kind = store::store::access_kind;
  for (auto& [id, bytes] : db_->access_records(kind::user)) {
    auto f = split(bytes);
    if (f.size() < 5)
      continue;
    st_->users[id] = {access::parse_role(f[0]).value_or(role::viewer), f[1], to_i64(f[2]), f[3],
                      f[4] == "1"};
  }
  for (auto& [id, bytes] : db_->access_records(kind::session)) {
    auto f = split(bytes);
    if (f.size() < 4)
      continue;
    st_->sessions[id] = {f[0], access::parse_role(f[1]).value_or(role::viewer), to_i64(f[2]),
                         to_i64(f[3])};
  }
  for (auto& [id, bytes] : db_->access_records(kind::token)) {
    auto f = split(bytes);
    if (f.size() < 5)
      continue;
    st_->tokens[id] = {f[0], access::parse_role(f[1]).value_or(role::viewer), to_i64(f[2]),
                       to_i64(f[3]), f[4]};
  }
  for (auto& [id, bytes] : db_->access_records(kind::code)) {
    auto f = split(bytes);
    if (f.size() < 3)
      continue;
    st_->codes[id] = {to_i64(f[0]), to_i64(f[1]), f[2]};
  }
  std::string dummy(crypto_pwhash_STRBYTES, '\0');
  auto pw = random_secret(16);
  if (crypto_pwhash_str_alg(dummy.data(), pw.c_str(), pw.size(), opts_.ops_limit, opts_.mem_limit,
                            crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    throw std::runtime_error("cannot hash a password (out of memory?)");
  st_->dummy_hash = dummy.c_str();
}

accounts::~accounts() = default;

std::optional<std::string> accounts::first_start_code() {
  std::lock_guard guard{st_->mtx};
  auto now = opts_.now_ms();
  if (!st_->users.empty()) {
    drop_first_start_codes();
    return std::nullopt;
  }
  // A new code at every start until the first account exists: the one
  // printed last is the one that works.
  std::vector<store::store::access_write> batch;
  for (auto& [id, c] : st_->codes)
    if (c.created_by == "first-start")
      batch.push_back({store::store::access_kind::code, id, ""});
  std::erase_if(st_->codes, [](const auto& kv) { return kv.second.created_by == "first-start"; });
  auto code = installer_code();
  state::code rec{now, now + int64_t{30} * 24 * 3600 * 1000, "first-start"};
  auto key = secret_key(normalized_code(code));
  batch.push_back({store::store::access_kind::code, key, state::encode(rec)});
  if (!db_->put_access(batch))
    return std::nullopt;
  st_->codes[key] = rec;
  return code;
}

void accounts::drop_first_start_codes() {
  // Called with st_->mtx held: once an account exists, the code printed at
  // the first start opens nothing (however the account was made).
  std::vector<store::store::access_write> batch;
  for (const auto& [id, c] : st_->codes)
    if (c.created_by == "first-start")
      batch.push_back({store::store::access_kind::code, id, ""});
  if (batch.empty() || !db_->put_access(batch))
    return;
  std::erase_if(st_->codes, [](const auto& kv) { return kv.second.created_by == "first-start"; });
}

answer<login_result> accounts::open_session(const std::string& user, role r) {
  // Called with st_->mtx held.
  auto now = opts_.now_ms();
  auto token = "pds_" + random_secret(32);
  auto key = secret_key(token);
  state::session s{
    user, r, now,
    now + std::chrono::duration_cast<std::chrono::milliseconds>(opts_.session_life).count()};
  std::vector<store::store::access_write> batch;
  // Expired sessions go; beyond max_sessions the oldest go too.
  for (auto it = st_->sessions.begin(); it != st_->sessions.end();) {
    if (it->second.expires_ms <= now) {
      batch.push_back({store::store::access_kind::session, it->first, ""});
      it = st_->sessions.erase(it);
    } else {
      ++it;
    }
  }
  // A user holds at most max_sessions_per_user (its oldest go first), so
  // no one logging in again and again ends everybody else's sessions.
  for (;;) {
    std::vector<std::map<std::string, state::session, std::less<>>::iterator> mine;
    for (auto it = st_->sessions.begin(); it != st_->sessions.end(); ++it)
      if (it->second.user == user)
        mine.push_back(it);
    if (mine.size() < opts_.max_sessions_per_user)
      break;
    auto oldest = *std::min_element(mine.begin(), mine.end(), [](auto x, auto y) {
      return x->second.created_ms < y->second.created_ms;
    });
    batch.push_back({store::store::access_kind::session, oldest->first, ""});
    st_->sessions.erase(oldest);
  }
  while (st_->sessions.size() >= opts_.max_sessions) {
    auto oldest = std::min_element(
      st_->sessions.begin(), st_->sessions.end(),
      [](const auto& a, const auto& b) { return a.second.created_ms < b.second.created_ms; });
    batch.push_back({store::store::access_kind::session, oldest->first, ""});
    st_->sessions.erase(oldest);
  }
  batch.push_back({store::store::access_kind::session, key, state::encode(s)});
  if (auto w = db_->put_access(batch); !w)
    return unexpected{refuse(w.error().code, "the session cannot be stored: " + w.error().message)};
  st_->sessions[key] = s;
  return login_result{token, principal{"user:" + user, r, credential::session, s.expires_ms, key}};
}

answer<login_result> accounts::login(const std::string& user, const std::string& password,
                                     const std::string& peer) {
  // Names are checked for shape only after the throttle and the hash, so
  // that a bad name costs what a wrong password costs.
  auto user_key = "user:" + user.substr(0, 64);
  auto peer_key = "peer:" + peer;
  std::string hash;
  {
    std::lock_guard guard{st_->mtx};
    auto wait = std::max(st_->throttle.locked_for(user_key), st_->throttle.locked_for(peer_key));
    if (wait.count() > 0)
      return unexpected{
        refuse(errc::resource_exhausted,
               fmt::format("too many failed logins; try again in {} s", wait.count()))};
    auto it = st_->users.find(user);
    hash = it != st_->users.end() && !it->second.disabled ? it->second.hash : st_->dummy_hash;
  }
  // Never waits for another check: a gRPC thread is not held while a flood
  // of logins queues up behind the one Argon2id running.
  std::unique_lock verify{st_->verify, std::try_to_lock};
  if (!verify.owns_lock())
    return unexpected{
      refuse(errc::resource_exhausted, "another login is being checked; try again in a moment")};
  bool ok = password.size() <= 128
            && crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0
            && hash != st_->dummy_hash;
  verify.unlock();
  std::lock_guard guard{st_->mtx};
  auto it = st_->users.find(user);
  // The hash checked must still be the user's (a password changed in
  // between makes an old-password login fail).
  if (!ok || it == st_->users.end() || it->second.disabled || it->second.hash != hash) {
    st_->throttle.failed(user_key);
    st_->throttle.failed(peer_key);
    return unexpected{refuse(errc::unauthenticated, "wrong user name or password")};
  }
  // Only the name's count ends: an address that also tried other names
  // stays counted.
  st_->throttle.succeeded(user_key);
  return open_session(user, it->second.r);
}

answer<login_result> accounts::bootstrap(const std::string& code, const std::string& user,
                                         const std::string& password, const std::string& peer) {
  auto peer_key = "peer:" + peer;
  auto key = secret_key(normalized_code(code.substr(0, 64)));
  auto check = [&]() -> std::optional<refusal> {
    // With st_->mtx held.
    if (auto wait = st_->throttle.locked_for(peer_key); wait.count() > 0)
      return refuse(errc::resource_exhausted,
                    fmt::format("too many wrong codes; try again in {} s", wait.count()));
    auto it = st_->codes.find(key);
    if (it == st_->codes.end() || it->second.expires_ms <= opts_.now_ms()) {
      st_->throttle.failed(peer_key);
      return refuse(errc::unauthenticated,
                    "installer code: unknown, used or expired (plantd prints a new one at each "
                    "start until the first account exists)");
    }
    if (!access::valid_user_name(user))
      return refuse(errc::invalid_argument, "username: 1 to 64 of letters, digits and . _ @ -");
    if (auto p = access::password_problem(password))
      return refuse(errc::invalid_argument, "password: " + *p);
    if (st_->users.contains(user))
      return refuse(errc::already_exists, "username: " + user + " exists");
    return std::nullopt;
  };
  {
    std::lock_guard guard{st_->mtx};
    if (auto no = check())
      return unexpected{std::move(*no)};
  }
  // Hashed without holding the accounts (every call's check waits on them).
  std::unique_lock verify{st_->verify, std::try_to_lock};
  if (!verify.owns_lock())
    return unexpected{
      refuse(errc::resource_exhausted, "another login is being checked; try again in a moment")};
  std::string hash(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str_alg(hash.data(), password.c_str(), password.size(), opts_.ops_limit,
                            opts_.mem_limit, crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    return unexpected{refuse(errc::resource_exhausted, "out of memory hashing the password")};
  verify.unlock();
  std::lock_guard guard{st_->mtx};
  if (auto no = check())  // the code may have been spent meanwhile
    return unexpected{std::move(*no)};
  auto it = st_->codes.find(key);
  auto now = opts_.now_ms();
  state::user u{role::installer, hash.c_str(), now, "code:" + it->second.created_by, false};
  std::vector<store::store::access_write> batch{
    {store::store::access_kind::code, key, ""},
    {store::store::access_kind::user, user, state::encode(u)}};
  if (auto w = db_->put_access(batch); !w)
    return unexpected{refuse(w.error().code, "the account cannot be stored: " + w.error().message)};
  st_->codes.erase(it);
  st_->users[user] = u;
  drop_first_start_codes();
  return open_session(user, u.r);
}

answer<principal> accounts::authenticate(std::string_view token) {
  if (token.size() < 8 || token.size() > 128)
    return unexpected{refuse(errc::unauthenticated, "malformed token")};
  auto key = secret_key(token);
  auto now = opts_.now_ms();
  std::lock_guard guard{st_->mtx};
  if (auto s = st_->sessions.find(key); s != st_->sessions.end()) {
    if (s->second.expires_ms <= now)
      return unexpected{refuse(errc::unauthenticated, "the session has expired; log in again")};
    auto u = st_->users.find(s->second.user);
    if (u == st_->users.end() || u->second.disabled)
      return unexpected{refuse(errc::unauthenticated, "the account is disabled")};
    return principal{"user:" + s->second.user, u->second.r, credential::session,
                     s->second.expires_ms, key};
  }
  if (auto t = st_->tokens.find(key); t != st_->tokens.end()) {
    if (t->second.expires_ms != 0 && t->second.expires_ms <= now)
      return unexpected{refuse(errc::unauthenticated, "the API token has expired")};
    return principal{"token:" + t->second.name, t->second.r, credential::api_token,
                     t->second.expires_ms, key};
  }
  return unexpected{refuse(errc::unauthenticated, "unknown or revoked token")};
}

void accounts::logout(const principal& who) {
  if (who.kind != credential::session)
    return;
  std::lock_guard guard{st_->mtx};
  if (st_->sessions.erase(who.token_key))
    (void)db_->put_access({{store::store::access_kind::session, who.token_key, ""}});
}

answer<void*> accounts::change_password(const principal& who, const std::string& old_password,
                                        const std::string& new_password) {
  if (who.kind != credential::session)
    return unexpected{
      refuse(errc::failed_precondition, "only a user logged in with a password can change it")};
  auto name = who.name.substr(5);  // "user:"
  if (auto p = access::password_problem(new_password))
    return unexpected{refuse(errc::invalid_argument, "new_password: " + *p)};
  std::string hash;
  {
    std::lock_guard guard{st_->mtx};
    auto it = st_->users.find(name);
    if (it == st_->users.end())
      return unexpected{refuse(errc::not_found, "the account is gone")};
    hash = it->second.hash;
  }
  auto user_key = "user:" + name;
  {
    std::lock_guard guard{st_->mtx};
    if (auto wait = st_->throttle.locked_for(user_key); wait.count() > 0)
      return unexpected{
        refuse(errc::resource_exhausted,
               fmt::format("too many wrong passwords; try again in {} s", wait.count()))};
  }
  {
    std::unique_lock verify{st_->verify, std::try_to_lock};
    if (!verify.owns_lock())
      return unexpected{
        refuse(errc::resource_exhausted, "another login is being checked; try again in a moment")};
    if (old_password.size() > 128
        || crypto_pwhash_str_verify(hash.c_str(), old_password.c_str(), old_password.size()) != 0) {
      verify.unlock();
      std::lock_guard guard{st_->mtx};
      st_->throttle.failed(user_key);
      return unexpected{refuse(errc::permission_denied, "old_password is wrong")};
    }
  }
  std::string fresh(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str_alg(fresh.data(), new_password.c_str(), new_password.size(),
                            opts_.ops_limit, opts_.mem_limit, crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    return unexpected{refuse(errc::resource_exhausted, "out of memory hashing the password")};
  std::lock_guard guard{st_->mtx};
  auto it = st_->users.find(name);
  if (it == st_->users.end())
    return unexpected{refuse(errc::not_found, "the account is gone")};
  auto u = it->second;
  u.hash = fresh.c_str();
  std::vector<store::store::access_write> batch{
    {store::store::access_kind::user, name, state::encode(u)}};
  // Every other session of the user ends.
  for (const auto& [k, s] : st_->sessions)
    if (s.user == name && k != who.token_key)
      batch.push_back({store::store::access_kind::session, k, ""});
  if (auto w = db_->put_access(batch); !w)
    return unexpected{refuse(w.error().code, "the account cannot be stored: " + w.error().message)};
  it->second = u;
  std::erase_if(st_->sessions, [&](const auto& kv) {
    return kv.second.user == name && kv.first != who.token_key;
  });
  return nullptr;
}

answer<user_info> accounts::create_user(const principal& by, const std::string& name,
                                        const std::string& password, role r) {
  if (!access::manages(by.role, r))
    return unexpected{refuse(errc::permission_denied,
                             fmt::format("a {} cannot create {} accounts",
                                         access::to_string(by.role), access::to_string(r)))};
  if (!access::valid_user_name(name))
    return unexpected{
      refuse(errc::invalid_argument, "username: 1 to 64 of letters, digits and . _ @ -")};
  if (auto p = access::password_problem(password))
    return unexpected{refuse(errc::invalid_argument, "password: " + *p)};
  std::string hash(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str_alg(hash.data(), password.c_str(), password.size(), opts_.ops_limit,
                            opts_.mem_limit, crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    return unexpected{refuse(errc::resource_exhausted, "out of memory hashing the password")};
  std::lock_guard guard{st_->mtx};
  if (st_->users.contains(name))
    return unexpected{refuse(errc::already_exists, "username: " + name + " exists")};
  state::user u{r, hash.c_str(), opts_.now_ms(), by.name, false};
  if (auto w = db_->put_access({{store::store::access_kind::user, name, state::encode(u)}}); !w)
    return unexpected{refuse(w.error().code, "the account cannot be stored: " + w.error().message)};
  st_->users[name] = u;
  drop_first_start_codes();
  return user_info{name, u.r, false, u.created_ms, u.created_by};
}

answer<user_info> accounts::set_disabled(const principal& by, const std::string& name,
                                         bool disabled) {
  std::lock_guard guard{st_->mtx};
  auto it = st_->users.find(name);
  if (it == st_->users.end() || !access::manages(by.role, it->second.r))
    return unexpected{
      refuse(errc::not_found, fmt::format("username: no account {} that a {} manages", name,
                                          access::to_string(by.role)))};
  auto u = it->second;
  bool was = u.disabled;
  u.disabled = disabled;
  std::vector<store::store::access_write> batch{
    {store::store::access_kind::user, name, state::encode(u)}};
  if (disabled)
    for (const auto& [k, s] : st_->sessions)
      if (s.user == name)
        batch.push_back({store::store::access_kind::session, k, ""});
  if (auto w = db_->put_access(batch); !w)
    return unexpected{refuse(w.error().code, "the account cannot be stored: " + w.error().message)};
  it->second = u;
  if (disabled)
    std::erase_if(st_->sessions, [&](const auto& kv) { return kv.second.user == name; });
  return user_info{name, u.r, u.disabled, u.created_ms, u.created_by, was};
}

std::vector<user_info> accounts::users(const principal& by) const {
  std::lock_guard guard{st_->mtx};
  std::vector<user_info> out;
  for (const auto& [name, u] : st_->users)
    if (access::manages(by.role, u.r))
      out.push_back({name, u.r, u.disabled, u.created_ms, u.created_by});
  return out;
}

answer<std::pair<std::string, token_info>>
accounts::create_token(const principal& by, const std::string& name, role r, uint32_t valid_days) {
  if (r == role::installer || r == role::distributor || r == role::local)
    return unexpected{refuse(errc::invalid_argument,
                             "role: an API token is for a machine (viewer, owner, energy_manager "
                             "or service)")};
  if (!access::valid_user_name(name))
    return unexpected{
      refuse(errc::invalid_argument, "name: 1 to 64 of letters, digits and . _ @ -")};
  if (valid_days > 3650)
    return unexpected{refuse(errc::invalid_argument, "valid_days: at most 3650 (0: no expiry)")};
  auto now = opts_.now_ms();
  auto token = "pdt_" + random_secret(32);
  auto key = secret_key(token);
  state::token t{name, r, now, valid_days ? now + int64_t{valid_days} * 86400000 : 0, by.name};
  std::lock_guard guard{st_->mtx};
  for (const auto& [k, x] : st_->tokens)
    if (x.name == name)
      return unexpected{refuse(errc::already_exists, "name: a token " + name + " exists")};
  if (st_->tokens.size() >= 256)
    return unexpected{refuse(errc::resource_exhausted, "256 API tokens exist; revoke one first")};
  if (auto w = db_->put_access({{store::store::access_kind::token, key, state::encode(t)}}); !w)
    return unexpected{refuse(w.error().code, "the token cannot be stored: " + w.error().message)};
  st_->tokens[key] = t;
  return std::pair{
    token, token_info{key.substr(0, 16), t.name, t.r, t.created_ms, t.expires_ms, t.created_by}};
}

answer<void*> accounts::revoke_token(const principal&, const std::string& id) {
  std::lock_guard guard{st_->mtx};
  if (id.size() != 16)
    return unexpected{refuse(errc::invalid_argument, "id: the 16 hex digits ListTokens shows")};
  for (auto it = st_->tokens.begin(); it != st_->tokens.end(); ++it) {
    if (it->first.compare(0, 16, id) != 0)
      continue;
    if (auto w = db_->put_access({{store::store::access_kind::token, it->first, ""}}); !w)
      return unexpected{
        refuse(w.error().code, "the revocation cannot be stored: " + w.error().message)};
    st_->tokens.erase(it);
    return nullptr;
  }
  return unexpected{refuse(errc::not_found, "id: no token " + id)};
}

std::vector<token_info> accounts::tokens() const {
  std::lock_guard guard{st_->mtx};
  std::vector<token_info> out;
  for (const auto& [k, t] : st_->tokens)
    out.push_back({k.substr(0, 16), t.name, t.r, t.created_ms, t.expires_ms, t.created_by});
  return out;
}

answer<std::pair<std::string, int64_t>> accounts::issue_code(const principal& by,
                                                             uint32_t valid_days) {
  if (valid_days == 0)
    valid_days = 7;
  if (valid_days > 30)
    return unexpected{refuse(errc::invalid_argument, "valid_days: 1 to 30")};
  auto now = opts_.now_ms();
  auto code = installer_code();
  auto key = secret_key(normalized_code(code));
  state::code c{now, now + int64_t{valid_days} * 86400000, by.name};
  std::lock_guard guard{st_->mtx};
  std::erase_if(st_->codes, [&](const auto& kv) { return kv.second.expires_ms <= now; });
  if (st_->codes.size() >= 64)
    return unexpected{refuse(errc::resource_exhausted, "64 installer codes are open")};
  if (auto w = db_->put_access({{store::store::access_kind::code, key, state::encode(c)}}); !w)
    return unexpected{refuse(w.error().code, "the code cannot be stored: " + w.error().message)};
  st_->codes[key] = c;
  return std::pair{code, c.expires_ms};
}

}  // namespace plantd::services
