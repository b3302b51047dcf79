#include "model/access/access.hpp"

#include <catch2/catch.hpp>

using namespace plantd::access;
using namespace std::chrono_literals;

TEST_CASE("each role holds exactly the permissions of its table", "[access]") {
  using enum permission;
  // Rows: viewer, owner, energy_manager, installer, distributor, service, local.
  struct row {
    permission p;
    std::array<bool, 7> granted;
  };
  const row table[] = {
    {open, {1, 1, 1, 1, 1, 1, 1}},           {session, {1, 1, 1, 1, 1, 1, 1}},
    {monitor, {1, 1, 1, 1, 1, 1, 1}},        {config_read, {1, 1, 0, 1, 1, 1, 1}},
    {config_write, {0, 0, 0, 1, 0, 1, 1}},   {control, {0, 1, 0, 1, 0, 1, 1}},
    {alarm_ack, {0, 1, 0, 1, 0, 1, 1}},      {energy_read, {1, 1, 1, 1, 0, 1, 1}},
    {energy_write, {0, 0, 1, 0, 0, 1, 1}},   {accounts, {0, 0, 0, 1, 1, 0, 1}},
    {tokens, {0, 0, 0, 1, 0, 0, 1}},         {audit_read, {0, 1, 0, 1, 1, 1, 1}},
    {installer_code, {0, 0, 0, 0, 1, 0, 1}},
  };
  for (const auto& r : table)
    for (std::size_t i = 0; i < all_roles.size(); ++i) {
      CAPTURE(to_string(r.p), to_string(all_roles[i]));
      CHECK(grants(all_roles[i], r.p) == r.granted[i]);
    }
}

TEST_CASE("installers manage the site's people, distributors installers, nobody a local role",
          "[access]") {
  CHECK(manages(role::installer, role::owner));
  CHECK(manages(role::installer, role::viewer));
  CHECK(manages(role::installer, role::energy_manager));
  CHECK_FALSE(manages(role::installer, role::installer));
  CHECK_FALSE(manages(role::installer, role::distributor));
  CHECK(manages(role::distributor, role::installer));
  CHECK_FALSE(manages(role::distributor, role::owner));
  CHECK_FALSE(manages(role::owner, role::viewer));
  CHECK(manages(role::local, role::installer));
  for (auto r : all_roles)
    CHECK_FALSE(manages(r, role::local));
}

TEST_CASE("a method absent from the table has no permission, writes are told apart", "[access]") {
  CHECK(permission_of("/plantd.v1.ControlService/SetMode") == permission::control);
  CHECK(permission_of("/plantd.v1.AccessService/Login") == permission::open);
  CHECK_FALSE(permission_of("/plantd.v1.ControlService/NewThing"));
  CHECK_FALSE(permission_of(""));
  CHECK(is_write(permission::control));
  CHECK(is_write(permission::energy_write));
  CHECK_FALSE(is_write(permission::monitor));
  CHECK_FALSE(is_write(permission::energy_read));
  for (auto r : all_roles)
    CHECK(parse_role(to_string(r)) == r);
  CHECK_FALSE(parse_role("root"));
}

TEST_CASE("five failures lock a key, each further lock twice as long, a success clears it",
          "[access][throttle]") {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  throttle t{[&] { return now; }};
  for (int i = 0; i < 4; ++i)
    t.failed("user:alice");
  CHECK(t.locked_for("user:alice") == 0s);
  t.failed("user:alice");
  CHECK(t.locked_for("user:alice") == 60s);
  CHECK(t.locked_for("user:bob") == 0s);
  now += 61s;
  CHECK(t.locked_for("user:alice") == 0s);
  for (int i = 0; i < 5; ++i)
    t.failed("user:alice");
  CHECK(t.locked_for("user:alice") == 120s);
  now += 121s;
  for (int i = 0; i < 5; ++i)
    t.failed("user:alice");
  CHECK(t.locked_for("user:alice") == 240s);
  now += 241s;
  t.failed("user:alice");
  t.succeeded("user:alice");
  for (int i = 0; i < 4; ++i)
    t.failed("user:alice");
  CHECK(t.locked_for("user:alice") == 0s);  // the count started again
}

TEST_CASE("a lock never exceeds an hour and random names cannot grow the throttle",
          "[access][throttle]") {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  throttle t{[&] { return now; }, throttle::limits{5, 60s, 3600s, 100}};
  for (int lock = 0; lock < 10; ++lock) {
    for (int i = 0; i < 5; ++i)
      t.failed("peer:10.0.0.9");
    CHECK(t.locked_for("peer:10.0.0.9") <= 3600s);
    now += t.locked_for("peer:10.0.0.9") + 1s;
  }
  for (int i = 0; i < 5; ++i)
    t.failed("user:olga");
  REQUIRE(t.locked_for("user:olga") > 0s);
  for (int i = 0; i < 1000; ++i) {
    now += 1ms;
    t.failed("user:random" + std::to_string(i));
  }
  CHECK(t.size() == 100);
  // Flooding the throttle with new names does not free a lock.
  CHECK(t.locked_for("user:olga") > 0s);
}

TEST_CASE("user names and passwords have a shape", "[access]") {
  CHECK(valid_user_name("alice"));
  CHECK(valid_user_name("installer@acme.example"));
  CHECK_FALSE(valid_user_name(""));
  CHECK_FALSE(valid_user_name(std::string(65, 'a')));
  CHECK_FALSE(valid_user_name("tab\tname"));
  CHECK_FALSE(valid_user_name("\xff\xfe"));
  CHECK(password_problem("short"));
  CHECK(password_problem(std::string(129, 'x')));
  CHECK_FALSE(password_problem("long enough pass"));
}
