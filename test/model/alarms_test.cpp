#include <catch2/catch.hpp>

#include "model/alarms/alarm_book.hpp"
#include "model/alarms/uplink.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace plantd::alarms;

TEST_CASE("a condition raises an alarm once and clears it when it goes", "[alarms]") {
  alarm_book book;
  condition silent{"comm_lost", "C02", severity::major, "cabinet C02 does not answer"};
  condition fire{"fire", "C01", severity::critical, "fire alarm"};
  auto raised = book.update({silent}, 1000);
  REQUIRE(raised.size() == 1);
  CHECK(raised[0].id == 1);
  CHECK(raised[0].open());
  CHECK(book.update({silent}, 2000).empty());  // still holding: nothing new
  auto both = book.update({silent, fire}, 3000);
  REQUIRE(both.size() == 1);
  CHECK(both[0].code == "fire");
  auto cleared = book.update({fire}, 4000);
  REQUIRE(cleared.size() == 1);
  CHECK(cleared[0].id == 1);
  CHECK(cleared[0].cleared_ms == 4000);
  CHECK(book.open_count() == 1);
  // It comes back: a new alarm, a new id.
  auto again = book.update({fire, silent}, 5000);
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == 3);
}

TEST_CASE("acknowledging, listing with filters and paging", "[alarms]") {
  alarm_book book;
  for (int i = 0; i < 5; ++i)
    book.update({{"comm_lost", "C0" + std::to_string(i), severity::major, ""}}, i * 1000);
  // Each update cleared the previous one: ids 1..4 closed, 5 open.
  CHECK(book.list({filter::which::open, "", 0, 100}).size() == 1);
  CHECK(book.list({filter::which::closed, "", 0, 100}).size() == 4);
  CHECK(book.list({filter::which::all, "C03", 0, 100}).size() == 1);
  auto page1 = book.list({filter::which::all, "", 0, 2});
  REQUIRE(page1.size() == 2);
  auto page2 = book.list({filter::which::all, "", page1.back().id, 2});
  REQUIRE(page2.size() == 2);
  CHECK(page2[0].id == 3);
  auto acked = book.acknowledge(5, "operator", 9000);
  REQUIRE(acked);
  CHECK(acked->acked_by == "operator");
  CHECK(acked->acked_ms == 9000);
  CHECK(book.acknowledge(5, "someone else", 9500)->acked_by == "operator");  // first ack stays
  auto missing = book.acknowledge(77, "x", 1);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == errc::not_found);
}

TEST_CASE("restored open alarms clear when their condition is gone", "[alarms]") {
  alarms::alarm a{7, "fire", "C01", severity::critical, "fire", 100, std::nullopt, std::nullopt,
                  ""};
  alarm_book book;
  book.restore({a});
  CHECK(book.open_count() == 1);
  auto changed = book.update({}, 200);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].id == 7);
  CHECK(changed[0].cleared_ms == 200);
  auto next = book.update({{"comm_lost", "C01", severity::major, ""}}, 300);
  CHECK(next[0].id == 8);
}

TEST_CASE("every cabinet behind the EMS-Switch silent: one uplink alarm, not one per cabinet",
          "[alarms][uplink]") {
  auto cfg = plantd::test::valid_config(14);  // C11..C14 behind the switch
  auto lost = [](const std::string& id) {
    return alarms::condition{"comm_lost", id, alarms::severity::major, "no fresh reading"};
  };
  std::vector<alarms::condition> conds{
    lost("C11"), lost("C12"), lost("C13"),
    lost("C14"), lost("C02"), {"fire", "C12", alarms::severity::critical, "fire"}};
  alarms::fold_uplink_loss(cfg, conds);
  REQUIRE(conds.size() == 3);
  CHECK(conds[0].device == "C02");  // a cabinet on the primary: its own alarm
  CHECK(conds[1].code == "fire");   // not a silence: kept
  CHECK(conds[2].code == "uplink_lost");
  CHECK(conds[2].device == "ems-switch-1");
  CHECK(conds[2].level == alarms::severity::major);
  CHECK(conds[2].text.find("4 cabinets (C11 .. C14)") != std::string::npos);
  // Three of four silent: those cabinets, as they are.
  std::vector<alarms::condition> some{lost("C11"), lost("C12"), lost("C13")};
  alarms::fold_uplink_loss(cfg, some);
  CHECK(some.size() == 3);
  CHECK(some[0].code == "comm_lost");
  // Coming back one by one: while recovering, the ones still silent stay
  // folded into the uplink alarm.
  std::vector<alarms::condition> back{lost("C12"), lost("C13")};
  CHECK(alarms::fold_uplink_loss(cfg, back, true));
  REQUIRE(back.size() == 1);
  CHECK(back[0].code == "uplink_lost");
  std::vector<alarms::condition> all_back{lost("C02")};
  CHECK_FALSE(alarms::fold_uplink_loss(cfg, all_back, true));
  CHECK(all_back.size() == 1);
  // No switch: nothing to fold.
  auto small = plantd::test::valid_config(3);
  std::vector<alarms::condition> three{lost("C01"), lost("C02"), lost("C03")};
  alarms::fold_uplink_loss(small, three);
  CHECK(three.size() == 3);
}
