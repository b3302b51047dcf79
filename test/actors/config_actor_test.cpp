#include "test/support/actor_fixture.hpp"

#include "actors/config_actor.hpp"
#include "actors/errors.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace std::chrono_literals;

namespace {

actors::config_snapshot snapshot_with(std::string site, std::size_t cabinets) {
  auto cfg = std::make_shared<plant::config>();
  cfg->site.name = std::move(site);
  cfg->cabinets.resize(cabinets);
  return {cfg, 7, time_point{1'700'000'000'000ms}};
}

}  // namespace

TEST_CASE_METHOD(test::actor_fixture, "config actor answers with the snapshot it holds",
                 "[actors][config]") {
  manual_clock clk{time_point{1'700'000'000'000ms}};
  auto actor =
    actors::spawn_config_actor(sys, {snapshot_with("Demo", 3), "primary", &clk, {}, {}, {}, {}});
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
  auto actor = actors::spawn_config_actor(
    sys, {snapshot_with("Depot", 20), "ems-switch", &clk, {}, {}, {}, {}});
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
  auto actor =
    actors::spawn_config_actor(sys, {snapshot_with("Gone", 1), "primary", &clk, {}, {}, {}, {}});
  run();
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  run();
  auto reply = ask<actors::config_snapshot>(actor, caf::get_atom_v);
  REQUIRE_FALSE(reply);
  CHECK(actors::to_errc(reply.error()) == errc::unavailable);
}

TEST_CASE_METHOD(test::actor_fixture,
                 "config actor: a change is validated, stored, published and versioned",
                 "[actors][config]") {
  manual_clock clk{time_point{1'700'000'000'000ms}};
  auto initial = std::make_shared<const plant::config>(test::valid_config(2));
  std::vector<std::pair<uint64_t, actors::change_info>> stored;
  bool store_fails = false;
  auto view = std::make_shared<actors::config_view>();
  actors::config_actor_args args;
  args.initial = {initial, 4, clk.now()};
  args.clk = &clk;
  args.persist = [&](const plant::config&, uint64_t version,
                     const actors::change_info& info) -> expected<void, store::error> {
    if (store_fails)
      return unexpected{store::error{errc::resource_exhausted, "the disk is full"}};
    stored.emplace_back(version, info);
    return {};
  };
  args.view = view;
  auto actor = actors::spawn_config_actor(sys, args);
  run();
  CHECK(view->snapshot().version == 4);
  auto apply = [&](plant::config next, uint64_t based_on) {
    actors::change_info info;
    info.by = "user:ana";
    info.origin = "apply";
    info.based_on = based_on;
    return ask<actors::apply_result>(
      actor, actors::apply_atom_v,
      std::shared_ptr<const plant::config>{std::make_shared<plant::config>(std::move(next))}, info);
  };
  auto next = test::valid_config(2);
  next.policies.export_limit.limit_w = 5'000;
  auto done = apply(next, 4);
  REQUIRE(done);
  CHECK(done->before.version == 4);
  CHECK(done->after.version == 5);
  CHECK(done->after.config->policies.export_limit.limit_w == 5'000);
  CHECK(done->at_restart.empty());
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].first == 5);
  CHECK(stored[0].second.by == "user:ana");
  CHECK(view->snapshot().version == 5);
  CHECK(view->get()->policies.export_limit.limit_w == 5'000);
  // Made on version 4 while 5 is in force: refused, nothing stored.
  next.policies.export_limit.limit_w = 7'000;
  auto stale = apply(next, 4);
  REQUIRE_FALSE(stale);
  CHECK(actors::to_errc(stale.error()) == errc::aborted);
  CHECK(stored.size() == 1);
  // Invalid: every problem named, nothing stored.
  auto bad = next;
  bad.cabinets[1].id = "C01";
  bad.policies.soc.min_percent = 99;
  auto refused = apply(bad, 5);
  REQUIRE_FALSE(refused);
  CHECK(actors::to_errc(refused.error()) == errc::invalid_argument);
  CHECK_THAT(actors::error_text(refused.error()), Catch::Contains("cabinets[1].id"));
  CHECK(stored.size() == 1);
  CHECK(view->snapshot().version == 5);
  // The same config again: no new version.
  auto same = apply(*view->get(), 0);
  REQUIRE(same);
  CHECK(same->after.version == 5);
  CHECK(stored.size() == 1);
  // Storage fails: refused, the running config unchanged.
  store_fails = true;
  auto unstored = apply(next, 5);
  REQUIRE_FALSE(unstored);
  CHECK(actors::to_errc(unstored.error()) == errc::resource_exhausted);
  CHECK(view->get()->policies.export_limit.limit_w == 5'000);
  store_fails = false;
  // What waits for a restart is said.
  auto tz = *view->get();
  tz.site.time_zone = "Europe/Berlin";
  auto later = apply(tz, 5);
  REQUIRE(later);
  CHECK(later->at_restart == std::vector<std::string>{"site.time_zone"});
  // The working mode is a change like any other.
  actors::change_info info;
  info.origin = "mode";
  auto mode =
    ask<actors::apply_result>(actor, actors::mode_atom_v, plant::working_mode::time_of_use,
                              std::vector<plant::tou_slot>{}, info);
  REQUIRE(mode);
  CHECK(mode->after.version == 7);
  CHECK(view->get()->policies.mode == plant::working_mode::time_of_use);
  CHECK(stored.back().second.origin == "mode");
}
