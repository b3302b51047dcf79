#include "services/accounts.hpp"

#include <filesystem>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <google/protobuf/descriptor.h>

#include "plantd/v1/access.grpc.pb.h"
#include "plantd/v1/alarm.grpc.pb.h"
#include "plantd/v1/control.grpc.pb.h"
#include "plantd/v1/energy.grpc.pb.h"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "plantd/v1/statistics.grpc.pb.h"
#include "plantd/v1/telemetry.grpc.pb.h"
#include "services/audit_log.hpp"

using namespace plantd;
using namespace plantd::services;
using namespace std::chrono_literals;
using access::role;

namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path()
           / ("plantd-accounts-" + std::to_string(getpid()) + "-" + std::to_string(++n));
    std::filesystem::remove_all(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

// Deterministic clocks and a cheap hash (the real cost is libsodium's).
struct fixture {
  temp_dir dir;
  int64_t wall = 1'800'000'000'000;
  std::chrono::steady_clock::time_point steady = std::chrono::steady_clock::time_point{} + 1h;
  std::shared_ptr<store::store> db;
  std::unique_ptr<accounts> accts;

  fixture() { open(); }
  void open() {
    accts.reset();
    db.reset();
    auto opened = store::store::open(dir.path);
    REQUIRE(opened);
    db = std::move(opened.value());
    accounts::options o;
    o.ops_limit = 1;
    o.mem_limit = 64 * 1024;
    o.now_ms = [this] { return wall; };
    o.steady = [this] { return steady; };
    accts = std::make_unique<accounts>(db, o);
  }
  principal local() const { return {"local", role::local, credential::local_socket, 0, {}}; }
};

}  // namespace

TEST_CASE("the first start prints a code that makes the first installer, once", "[access]") {
  fixture f;
  auto code = f.accts->first_start_code();
  REQUIRE(code);
  CHECK(code->size() == 19);  // XXXX-XXXX-XXXX-XXXX
  // Typed in lower case and without dashes, it still works.
  std::string typed;
  for (char c : *code)
    if (c != '-')
      typed += static_cast<char>(std::tolower(c));
  auto made = f.accts->bootstrap(typed, "ingrid", "ingrid-password", "ipv4:10.0.0.5");
  REQUIRE(made);
  CHECK(made.value().who.role == role::installer);
  CHECK(made.value().who.name == "user:ingrid");
  auto again = f.accts->bootstrap(*code, "mallory", "mallory-password", "ipv4:10.0.0.6");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::unauthenticated);
  // An account exists: no more first-start codes.
  CHECK_FALSE(f.accts->first_start_code());
  // The session works after a restart; the code stays spent.
  auto token = made.value().token;
  f.open();
  auto who = f.accts->authenticate(token);
  REQUIRE(who);
  CHECK(who.value().name == "user:ingrid");
  CHECK_FALSE(f.accts->bootstrap(*code, "mallory", "mallory-password", "ipv4:10.0.0.6"));
}

TEST_CASE("five wrong passwords lock the name, an unknown name is answered alike", "[access]") {
  fixture f;
  REQUIRE(f.accts->create_user(f.local(), "olga", "olga-password", role::owner));
  for (int i = 0; i < 5; ++i) {
    auto r = f.accts->login("olga", "wrong-password", "ipv4:10.0.0." + std::to_string(i));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unauthenticated);
    CHECK(r.error().message == "wrong user name or password");
  }
  auto unknown = f.accts->login("nobody", "wrong-password", "ipv4:10.0.0.99");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message == "wrong user name or password");
  // Locked, even with the right password, from any address.
  auto locked = f.accts->login("olga", "olga-password", "ipv4:10.0.0.50");
  REQUIRE_FALSE(locked);
  CHECK(locked.error().code == errc::resource_exhausted);
  CHECK_THAT(locked.error().message, Catch::Contains("try again in 60 s"));
  f.steady += 61s;
  CHECK(f.accts->login("olga", "olga-password", "ipv4:10.0.0.50"));
}

TEST_CASE("one address trying many names is locked too", "[access]") {
  fixture f;
  REQUIRE(f.accts->create_user(f.local(), "olga", "olga-password", role::owner));
  for (int i = 0; i < 5; ++i)
    CHECK_FALSE(f.accts->login("guess" + std::to_string(i), "x-password", "ipv4:10.9.9.9"));
  auto r = f.accts->login("olga", "olga-password", "ipv4:10.9.9.9");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::resource_exhausted);
  CHECK(f.accts->login("olga", "olga-password", "ipv4:10.0.0.1"));
}

TEST_CASE("sessions expire, end at logout and when the user is disabled", "[access]") {
  fixture f;
  REQUIRE(f.accts->create_user(f.local(), "olga", "olga-password", role::owner));
  auto a = f.accts->login("olga", "olga-password", "ipv4:10.0.0.1");
  auto b = f.accts->login("olga", "olga-password", "ipv4:10.0.0.1");
  REQUIRE(a);
  REQUIRE(b);
  auto who = f.accts->authenticate(a.value().token);
  REQUIRE(who);
  f.accts->logout(who.value());
  CHECK_FALSE(f.accts->authenticate(a.value().token));
  CHECK(f.accts->authenticate(b.value().token));
  f.wall += 12 * 3600 * 1000 + 1;
  auto expired = f.accts->authenticate(b.value().token);
  REQUIRE_FALSE(expired);
  CHECK_THAT(expired.error().message, Catch::Contains("expired"));
  auto c = f.accts->login("olga", "olga-password", "ipv4:10.0.0.1");
  REQUIRE(c);
  principal installer{"user:ingrid", role::installer, credential::session, 0, {}};
  REQUIRE(f.accts->set_disabled(installer, "olga", true));
  CHECK_FALSE(f.accts->authenticate(c.value().token));
  CHECK_FALSE(f.accts->login("olga", "olga-password", "ipv4:10.0.0.1"));
  // Still disabled after a restart.
  f.open();
  CHECK_FALSE(f.accts->login("olga", "olga-password", "ipv4:10.0.0.1"));
}

TEST_CASE("an API token is shown once, kept as a hash, and stops at revocation", "[access]") {
  fixture f;
  principal installer{"user:ingrid", role::installer, credential::session, 0, {}};
  auto made = f.accts->create_token(installer, "meter-gateway", role::energy_manager, 0);
  REQUIRE(made);
  auto token = made.value().first;
  CHECK(token.starts_with("pdt_"));
  for (const auto& [id, bytes] : f.db->access_records(store::store::access_kind::token)) {
    CHECK(id.find(token) == std::string::npos);
    CHECK(bytes.find(token) == std::string::npos);
  }
  auto who = f.accts->authenticate(token);
  REQUIRE(who);
  CHECK(who.value().name == "token:meter-gateway");
  CHECK(who.value().role == role::energy_manager);
  CHECK_FALSE(f.accts->create_token(installer, "meter-gateway", role::service, 0));
  CHECK_FALSE(f.accts->create_token(installer, "commissioner", role::installer, 0));
  REQUIRE(f.accts->tokens().size() == 1);
  auto id = f.accts->tokens().front().id;
  REQUIRE(f.accts->revoke_token(installer, id));
  f.open();
  CHECK_FALSE(f.accts->authenticate(token));
  // Expiry.
  auto week = f.accts->create_token(installer, "temp", role::viewer, 7);
  REQUIRE(week);
  CHECK(f.accts->authenticate(week.value().first));
  f.wall += int64_t{8} * 86400000;
  CHECK_FALSE(f.accts->authenticate(week.value().first));
}

TEST_CASE("who may create whom, and bad names and passwords", "[access]") {
  fixture f;
  principal installer{"user:ingrid", role::installer, credential::session, 0, {}};
  principal distributor{"user:dora", role::distributor, credential::session, 0, {}};
  principal owner{"user:olga", role::owner, credential::session, 0, {}};
  CHECK(f.accts->create_user(installer, "olga", "olga-password", role::owner));
  auto up = f.accts->create_user(installer, "ivan", "ivan-password", role::installer);
  REQUIRE_FALSE(up);
  CHECK(up.error().code == errc::permission_denied);
  CHECK(f.accts->create_user(distributor, "ivan", "ivan-password", role::installer));
  CHECK_FALSE(f.accts->create_user(owner, "vera", "vera-password", role::viewer));
  auto dup = f.accts->create_user(installer, "olga", "olga-password", role::owner);
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == errc::already_exists);
  CHECK(f.accts->create_user(installer, "bad\tname", "good-password", role::viewer).error().code
        == errc::invalid_argument);
  CHECK(f.accts->create_user(installer, std::string(10000, 'x'), "good-password", role::viewer)
          .error()
          .code
        == errc::invalid_argument);
  CHECK(f.accts->create_user(installer, "vera", "short", role::viewer).error().code
        == errc::invalid_argument);
  // A huge or binary name at login is a wrong login, nothing more.
  auto huge = f.accts->login(std::string(1 << 20, '\xff'), "x", "ipv4:10.0.0.1");
  REQUIRE_FALSE(huge);
  CHECK(huge.error().code == errc::unauthenticated);
  // The installer sees the site's people, the distributor its installers.
  CHECK(f.accts->users(installer).size() == 1);
  CHECK(f.accts->users(distributor).size() == 1);
  CHECK(f.accts->users(distributor).front().name == "ivan");
}

TEST_CASE("a password change ends the user's other sessions", "[access]") {
  fixture f;
  REQUIRE(f.accts->create_user(f.local(), "olga", "olga-password", role::owner));
  auto a = f.accts->login("olga", "olga-password", "ipv4:10.0.0.1");
  auto b = f.accts->login("olga", "olga-password", "ipv4:10.0.0.2");
  auto me = f.accts->authenticate(a.value().token).value();
  CHECK(f.accts->change_password(me, "not-the-old-one", "new-password-1").error().code
        == errc::permission_denied);
  REQUIRE(f.accts->change_password(me, "olga-password", "new-password-1"));
  CHECK(f.accts->authenticate(a.value().token));
  CHECK_FALSE(f.accts->authenticate(b.value().token));
  CHECK_FALSE(f.accts->login("olga", "olga-password", "ipv4:10.0.0.3"));
  CHECK(f.accts->login("olga", "new-password-1", "ipv4:10.0.0.3"));
}

TEST_CASE("every RPC of plantd's services is in the access table, and every entry is an RPC",
          "[access]") {
  // Every file that defines a service plantd serves (plant-sim's aside).
  std::set<std::string> rpcs;
  for (const auto* fd :
       {v1::LoginRequest::descriptor()->file(), v1::Alarm::descriptor()->file(),
        v1::SetModeRequest::descriptor()->file(), v1::EnergyModel::descriptor()->file(),
        v1::GetInfoResponse::descriptor()->file(), v1::Overview::descriptor()->file(),
        v1::ListSeriesRequest::descriptor()->file()}) {
    REQUIRE(fd);
    for (int s = 0; s < fd->service_count(); ++s)
      for (int m = 0; m < fd->service(s)->method_count(); ++m)
        rpcs.insert("/" + fd->service(s)->full_name() + "/" + fd->service(s)->method(m)->name());
  }
  CHECK(rpcs.size() > 40);
  for (const auto& rpc : rpcs) {
    CAPTURE(rpc);
    CHECK(access::permission_of(rpc));
  }
  for (const auto& [method, p] : access::method_table()) {
    CAPTURE(method);
    if (method.starts_with("/plantd."))
      CHECK(rpcs.contains(method));
  }
}

TEST_CASE("the audit keeps secrets out and refusals at a bounded rate", "[access][audit]") {
  temp_dir dir;
  auto db = std::shared_ptr<store::store>(std::move(store::store::open(dir.path).value()));
  int64_t now = 1'800'000'000'000;
  audit_log::options o;
  o.refused_per_second = 2;
  o.refused_burst = 5;
  o.now_ms = [&] { return now; };
  audit_log log{db, o};
  v1::LoginRequest login;
  login.set_username("olga");
  login.set_password("hunter2-hunter2");
  auto text = audit_log::summary(login);
  CHECK_THAT(text, Catch::Contains("olga"));
  CHECK_THAT(text, !Catch::Contains("hunter2"));
  for (int i = 0; i < 100; ++i) {
    v1::ChangeRecord r;
    r.set_principal("anonymous");
    r.set_method("/plantd.v1.AccessService/Login");
    r.set_result("UNAUTHENTICATED: wrong user name or password");
    log.record(r, true);
  }
  v1::ChangeRecord ok;
  ok.set_principal("user:olga");
  ok.set_method("/plantd.v1.ControlService/SetMode");
  ok.set_result("OK");
  now += 1000;
  log.record(ok, false);
  auto page = log.list({});
  REQUIRE(page.records_size() == 6);  // the burst, then the write
  CHECK(page.records(0).method() == "/plantd.v1.ControlService/SetMode");
  CHECK_THAT(page.records(0).result(), Catch::Contains("and 95 refused calls"));
  v1::AuditQuery refused;
  refused.set_refused_only(true);
  CHECK(log.list(refused).records_size() == 5);
  v1::AuditQuery paged;
  paged.set_limit(4);
  auto first = log.list(paged);
  REQUIRE(first.records_size() == 4);
  paged.set_before_seq(first.next_before_seq());
  auto second = log.list(paged);
  CHECK(second.records_size() == 2);
  CHECK(second.next_before_seq() == 0);
  CHECK(second.records(0).seq() < first.records(3).seq());
  // Numbering goes on after a restart.
  audit_log reopened{db, o};
  reopened.record(ok, false);
  CHECK(reopened.list({}).records(0).seq() == 7);
}

TEST_CASE("the first-start code opens nothing once an account exists, however it was made",
          "[access]") {
  fixture f;
  auto code = f.accts->first_start_code();
  REQUIRE(code);
  // The first installer is made on the local socket, not with the code.
  REQUIRE(f.accts->create_user(f.local(), "ingrid", "ingrid-password", role::installer));
  auto late = f.accts->bootstrap(*code, "mallory", "mallory-password", "ipv4:10.0.0.6");
  REQUIRE_FALSE(late);
  CHECK(late.error().code == errc::unauthenticated);
}

TEST_CASE("one user logging in again and again ends only its own oldest sessions", "[access]") {
  fixture f;
  REQUIRE(f.accts->create_user(f.local(), "olga", "olga-password", role::owner));
  REQUIRE(f.accts->create_user(f.local(), "vera", "vera-password", role::viewer));
  auto olga = f.accts->login("olga", "olga-password", "ipv4:10.0.0.1");
  REQUIRE(olga);
  for (int i = 0; i < 50; ++i) {
    f.wall += 1;
    REQUIRE(f.accts->login("vera", "vera-password", "ipv4:10.0.0.2"));
  }
  CHECK(f.accts->authenticate(olga.value().token));
}

TEST_CASE("wrong old passwords in a password change lock the name like wrong logins", "[access]") {
  fixture f;
  REQUIRE(f.accts->create_user(f.local(), "olga", "olga-password", role::owner));
  auto a = f.accts->login("olga", "olga-password", "ipv4:10.0.0.1");
  auto me = f.accts->authenticate(a.value().token).value();
  // Five wrong old passwords lock the name for password changes too.
  for (int i = 0; i < 5; ++i)
    CHECK(f.accts->change_password(me, "guess-guess-" + std::to_string(i), "new-password-1")
            .error()
            .code
          == errc::permission_denied);
  CHECK(f.accts->change_password(me, "olga-password", "new-password-1").error().code
        == errc::resource_exhausted);
}
