#include "test/support/actor_fixture.hpp"

#include "actors/config_actor.hpp"

using namespace plantd;
using namespace std::chrono_literals;

namespace {

actors::config_snapshot snapshot_with(std::string site, std::size_t cabinets) {
  auto cfg = std::make_shared<plant::config>();
  cfg->site.name = std::move(site);
  cfg->cabinets.resize(cabinets);
  return {cfg, 7, time_point{1'700'000'000'000ms}};
}

} // namespace

TEST_CASE_METHOD(test::actor_fixture, "config actor answers with the snapshot it holds",
                 "[actors][config]") {
  manual_clock clk{time_point{1'700'000'000'000ms}};
  auto actor = actors::spawn_config_actor(sys, {snapshot_with("Demo", 3), "primary", &clk, caf::actor{}, {}});
  auto snap = ask<actors::config_snapshot>(actor, caf::get_atom_v);
  REQUIRE(snap);
  REQUIRE(snap->config != nullptr);
  CHECK(snap->config->site.name == "Demo");
  CHECK(snap->config->cabinets.size() == 3);
  CHECK(snap->version == 7);
  CHECK(snap->applied_at == time_point{1'700'000'000'000ms});
}

TEST_CASE_METHOD(test::actor_fixture, "config actor reports uptime from the clock it is given",
                 "[actors][config]") {
  manual_clock clk{time_point{1'700'000'000'000ms}};
  auto actor = actors::spawn_config_actor(sys, {snapshot_with("Depot", 20), "ems-switch", &clk, caf::actor{}, {}});
  run();
  auto first = ask<actors::plant_info>(actor, caf::get_atom_v, actors::info_atom_v);
  REQUIRE(first);
  CHECK(first->uptime_ms == 0);
  CHECK(first->started_at_ms == 1'700'000'000'000);
  clk.advance(90s);
  auto later = ask<actors::plant_info>(actor, caf::get_atom_v, actors::info_atom_v);
  REQUIRE(later);
  CHECK(later->uptime_ms == 90'000);
  CHECK(later->role == "ems-switch");
  CHECK(later->site_name == "Depot");
  CHECK(later->cabinet_count == 20);
  CHECK(later->config_version == 7);
  CHECK_FALSE(later->version.empty());
}

TEST_CASE_METHOD(test::actor_fixture, "a request to a stopped config actor fails as unavailable",
                 "[actors][config]") {
  manual_clock clk{time_point{0ms}};
  auto actor = actors::spawn_config_actor(sys, {snapshot_with("Gone", 1), "primary", &clk, caf::actor{}, {}});
  run();
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  run();
  auto reply = ask<actors::config_snapshot>(actor, caf::get_atom_v);
  REQUIRE_FALSE(reply);
  CHECK(actors::to_errc(reply.error()) == errc::unavailable);
}
