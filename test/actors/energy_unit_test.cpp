// Energy-unit actors under the energy supervisor: one unit per tree node,
// spawned when a request for the node arrives, writing entries and counters
// to a real RocksDB, forwarding inputs to the graph before answering, given
// a new slice after a model change, retired when idle or when the node is
// deleted, and restarted from the store.
#include "test/support/actor_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/energy_actor.hpp"
#include "actors/energy_unit.hpp"

using namespace plantd;
using namespace plantd::energy;
using namespace std::chrono_literals;

namespace {

const int64_t t0_ms = 1'795'000'000'000;  // 2026-11-18 (UTC)

struct resources {
  manual_clock clk{time_point{std::chrono::milliseconds{t0_ms}}};
  std::filesystem::path dir =
    std::filesystem::temp_directory_path() / ("plantd-energy-unit-" + std::to_string(::getpid()));
  std::shared_ptr<store::store> db;
  resources() {
    std::filesystem::remove_all(dir);
    db = std::move(*store::store::open(dir));
  }
  ~resources() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

[[maybe_unused]] void ok(const result& r) {
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r);
}

node make_node(std::string id, node_kind k, std::string parent, int level) {
  node n;
  n.id = n.name = std::move(id);
  n.kind = k;
  n.parent = std::move(parent);
  n.metering_level = level;
  return n;
}

meter make_meter(std::string id, std::string node) {
  meter m;
  m.id = m.name = std::move(id);
  m.energy_type = "electricity";
  m.node = std::move(node);
  m.metering_level = 2;
  return m;
}

indicator ind(std::string id, std::string tpl, std::string owner, source_kind s,
              std::string f = {}) {
  indicator i;
  i.id = i.name = std::move(id);
  i.template_id = std::move(tpl);
  i.owner = std::move(owner);
  i.source = s;
  i.formula = std::move(f);
  return i;
}

struct fixture : resources, test::actor_fixture {
  actors::energy_api energy;
  // The model's encoding is the services' business: here it is kept aside.
  // Each encoded model is kept aside and the file holds its number, so the
  // model served after a start is the one the file names.
  std::shared_ptr<std::vector<model>> saved = std::make_shared<std::vector<model>>();
  actors::energy_book* the_book = nullptr;  // read between messages only

  fixture() { start(); }
  ~fixture() { stop(); }

  void start() {
    actors::energy_actor_args a;
    a.db = db;
    a.clk = &clk;
    a.unit_idle = 1min;
    a.codec.encode = [s = saved](const model& m) {
      s->push_back(m);
      return fmt::format("model#{}", s->size() - 1);
    };
    a.codec.decode = [s = saved](std::string_view bytes) -> expected<model, std::string> {
      std::size_t n = 0;
      if (bytes.rfind("model#", 0) != 0
          || (n = std::stoul(std::string(bytes.substr(6)))) >= s->size())
        return unexpected{std::string("not a model of this test: ") + std::string(bytes)};
      return (*s)[n];
    };
    a.on_book = [this](actors::energy_book* b) { the_book = b; };
    energy = actors::spawn_energy_actor(sys, a);
    sched.run();
  }
  void stop() {
    the_book = nullptr;
    caf::anon_send_exit(energy, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // Runs f on the supervisor's book once every message sent is handled;
  // the answer's text or the error.
  caf::expected<std::string>
  book(std::function<std::pair<errc, std::string>(actors::energy_book&)> f) {
    sched.run();
    REQUIRE(the_book);
    auto [code, text] = f(*the_book);
    if (code != errc::ok)
      return caf::make_error(code, text);
    return text;
  }
  // Applies f to a copy of the model and sends the records it changed as
  // a service would: model_edits (the puts in the order changed, or each
  // removal in turn).
  void change(std::function<result(model&)> f) {
    sched.run();
    REQUIRE(the_book);
    model next = the_book->model();
    auto applied = f(next);
    INFO((applied ? std::string() : applied.error().message()));
    REQUIRE(applied);
    actors::model_edit puts;
    puts.who = "test";
    std::vector<actors::model_edit> removals;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& c : next.take_changes()) {
      if (!seen.insert({c.kind, c.id}).second)
        continue;
      std::optional<actors::model_record> rec;
      if (c.kind == "node" && next.nodes.count(c.id))
        rec = next.nodes.at(c.id);
      else if (c.kind == "meter" && next.meters.count(c.id))
        rec = next.meters.at(c.id);
      else if (c.kind == "indicator" && next.indicators.count(c.id))
        rec = next.indicators.at(c.id);
      else if (c.kind != "node" && c.kind != "meter" && c.kind != "indicator")
        FAIL("change(): a change of a " << c.kind << " is not sent by this fixture");
      if (rec) {
        puts.puts.push_back({*rec, false});
        continue;
      }
      actors::model_edit e;
      e.what = actors::model_edit::op::remove;
      e.kind = c.kind, e.id = c.id, e.who = "test";
      removals.push_back(std::move(e));
    }
    REQUIRE((puts.puts.empty() || removals.empty()));
    if (puts.puts.size() > 1)
      puts.what = actors::model_edit::op::put_many;
    if (!puts.puts.empty())
      removals.push_back(std::move(puts));
    for (const auto& e : removals) {
      auto r = ask<actors::model_edited>(energy, actors::energy_atom_v, e);
      INFO((r ? std::string() : caf::to_string(r.error())));
      REQUIRE(r);
    }
  }
  // A put of one record as a service sends it; the change, or its refusal.
  caf::expected<actors::model_edited> put(actors::model_record r) {
    actors::model_edit e;
    e.who = "test";
    e.puts.push_back({std::move(r), false});
    return ask<actors::model_edited>(energy, actors::energy_atom_v, e);
  }
  // A unit request; its one outcome, or its refusal as an error.
  caf::expected<actors::unit_outcome> unit(actors::unit_request req) {
    auto r = ask<actors::unit_reply>(energy, actors::energy_atom_v, std::move(req));
    if (!r)
      return r.error();
    REQUIRE(r->outcomes.size() == 1);
    auto& o = r->outcomes.front();
    if (o.code != errc::ok)
      return caf::make_error(o.code, o.message);
    return o;
  }
  caf::expected<actors::unit_outcome> enter(std::string id, absl::CivilDay d, double v) {
    actors::unit_request req;
    req.what = actors::unit_request::op::enter_daily;
    req.target = id;
    req.who = "operator";
    req.entries = {{id, d - absl::CivilDay(1970, 1, 1), v, ""}};
    return unit(std::move(req));
  }
  caf::expected<actors::unit_outcome> read(std::string meter, int64_t t_ms, double counter,
                                           bool logged = true) {
    actors::unit_request req;
    req.what = actors::unit_request::op::reading;
    req.target = meter;
    req.readings = {{t_ms, counter}};
    req.logged = logged;
    return unit(std::move(req));
  }
  // A reading and what became of it (or the error's text).
  std::string read_fate(std::string meter, int64_t t_ms, double counter, bool logged = true) {
    auto r = read(meter, t_ms, counter, logged);
    if (!r)
      return caf::to_string(r.error());
    using f = actors::energy_unit::fate;
    auto fate = static_cast<f>(r->fate);
    return fate == f::recorded     ? "recorded"
           : fate == f::backfilled ? "backfilled"
           : fate == f::duplicate  ? "duplicate"
                                   : "ignored";
  }
  uint64_t units() {
    auto n = ask<uint64_t>(energy, actors::units_atom_v);
    REQUIRE(n);
    return *n;
  }
  // A day's value of an indicator, read from the supervisor's graph.
  reading day_value(std::string id, absl::CivilDay d) {
    reading out;
    auto r = book([&](actors::energy_book& b) -> std::pair<errc, std::string> {
      out = b.engine().value(id, period_of(resolution::day, absl::CivilSecond(d)),
                             absl::FromCivil(absl::CivilSecond(d + 1), b.tz()) + absl::Hours(1));
      return {errc::ok, ""};
    });
    REQUIRE(r);
    return out;
  }
  reading hour_value(std::string id, absl::CivilHour h) {
    reading out;
    auto r = book([&](actors::energy_book& b) -> std::pair<errc, std::string> {
      out = b.engine().value(id, period_of(resolution::hour, absl::CivilSecond(h)),
                             absl::FromCivil(absl::CivilSecond(h + 2), b.tz()));
      return {errc::ok, ""};
    });
    REQUIRE(r);
    return out;
  }
  void idle_for(std::chrono::milliseconds d) {
    for (auto t = 0ms; t < d; t += 30s) {
      sched.advance_time(30s);
      sched.run();
    }
  }
  // The Unix ms of a civil time in the site's zone (Asia/Shanghai).
  static int64_t ms(absl::CivilSecond c) {
    absl::TimeZone tz;
    absl::LoadTimeZone("Asia/Shanghai", &tz);
    return absl::ToUnixMillis(absl::FromCivil(c, tz));
  }

  void build() {
    change([](model& m) -> result {
      if (auto r = m.put_node(make_node("plant", node_kind::plant, "", 1)); !r)
        return r;
      if (auto r = m.put_node(make_node("w1", node_kind::workshop, "plant", 2)); !r)
        return r;
      if (auto r = m.put_node(make_node("w2", node_kind::workshop, "plant", 2)); !r)
        return r;
      if (auto r = m.put_meter(make_meter("m1", "w1")); !r)
        return r;
      if (auto r = m.put_meter(make_meter("m2", "w2")); !r)
        return r;
      if (auto r = m.put_indicator(ind("m1.v", "active_energy", "m1", source_kind::meter)); !r)
        return r;
      if (auto r = m.put_indicator(ind("m2.v", "active_energy", "m2", source_kind::meter)); !r)
        return r;
      if (auto r = m.put_indicator(ind("w1.manual", "electricity_use", "w1", source_kind::manual));
          !r)
        return r;
      if (auto r = m.put_indicator(
            ind("w1.e", "electricity_use", "w1", source_kind::formula, "#m1.v + #w1.manual"));
          !r)
        return r;
      return m.put_indicator(
        ind("plant.e", "electricity_use", "plant", source_kind::formula, "#m1.v + #m2.v"));
    });
  }
};

}  // namespace

TEST_CASE_METHOD(
  fixture, "energy units: one per node, spawned on demand, answer after the graph has the input",
  "[actors][energy]") {
  build();
  CHECK(units() == 0);
  absl::CivilDay day(2026, 11, 18);
  REQUIRE(enter("w1.manual", day, 120));
  CHECK(units() == 1);
  // The answer came after the supervisor applied it: the graph has it.
  auto v = day_value("w1.manual", day);
  CHECK(v.quality == quality::manual);
  CHECK(v.value == Approx(120));
  // A meter of the same node: the same unit.
  auto h = absl::CivilSecond(2026, 11, 18, 10, 0, 0);
  REQUIRE(read("m1", ms(h), 1000));
  REQUIRE(read("m1", ms(h + 1800), 1004));
  CHECK(units() == 1);
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(4));
  // Another node: a second unit.
  REQUIRE(read("m2", ms(h), 50));
  CHECK(units() == 2);
  // Unknown targets and bad input are refused with clear errors, nothing written.
  auto bad = read("nope", ms(h), 1);
  REQUIRE_FALSE(bad);
  CHECK_THAT(caf::to_string(bad.error()), Catch::Contains("no indicator, product or meter nope"));
  auto nan = enter("w1.manual", day, std::nan(""));
  REQUIRE_FALSE(nan);
  CHECK_THAT(caf::to_string(nan.error()), Catch::Contains("must be a number"));
  auto formula = enter("w1.e", day, 5);
  REQUIRE_FALSE(formula);
  CHECK_THAT(caf::to_string(formula.error()), Catch::Contains("formula indicator"));
  CHECK(day_value("w1.manual", day).value == Approx(120));
  CHECK(units() == 2);
}

TEST_CASE_METHOD(fixture, "energy units: a model change gives live units their new slice",
                 "[actors][energy]") {
  build();
  auto h = absl::CivilSecond(2026, 11, 18, 10, 0, 0);
  REQUIRE(read("m1", ms(h), 1000));
  REQUIRE(read("m1", ms(h + 600), 1001));
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(1));
  // The meter gets a CT of 40 while its unit is alive: the next reading uses it.
  change([](model& m) -> result {
    auto mt = m.meters.at("m1");
    mt.details.edit().ct_ratio = 40;
    return m.put_meter(mt);
  });
  REQUIRE(read("m1", ms(h + 1200), 1002));
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(41));
  // The node w2 is deleted: its unit retires.
  REQUIRE(read("m2", ms(h), 50));
  CHECK(units() == 2);
  change([](model& m) -> result {
    if (auto r = m.remove_indicator("plant.e"); !r)
      return r;
    if (auto r = m.remove_indicator("m2.v"); !r)
      return r;
    if (auto r = m.remove_meter("m2"); !r)
      return r;
    return m.remove_node("w2");
  });
  CHECK(units() == 1);
}

TEST_CASE_METHOD(fixture, "energy units: idle units retire, a new one continues from the store",
                 "[actors][energy]") {
  build();
  auto h = absl::CivilSecond(2026, 11, 18, 10, 0, 0);
  REQUIRE(read("m1", ms(h), 1000));
  REQUIRE(read("m1", ms(h + 600), 1010));
  REQUIRE(read("m2", ms(h), 7));
  CHECK(units() == 2);
  idle_for(3min);
  CHECK(units() == 0);
  // The counter continues from the last stored reading: 1010 -> 1015 adds 5.
  REQUIRE(read("m1", ms(h + 1200), 1015));
  CHECK(units() == 1);
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(15));
  // A unit that keeps working is not retired.
  for (int i = 0; i < 6; ++i) {
    idle_for(30s);
    REQUIRE(read("m1", ms(h + 1300 + i * 10), 1015 + i));
  }
  CHECK(units() == 1);
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(20));
}

TEST_CASE_METHOD(fixture, "energy units: after a restart the graph has every input the units wrote",
                 "[actors][energy]") {
  build();
  absl::CivilDay day(2026, 11, 18);
  auto h = absl::CivilSecond(2026, 11, 18, 10, 0, 0);
  REQUIRE(enter("w1.manual", day, 100));
  REQUIRE(enter("w1.manual", day, 110));  // a correction
  REQUIRE(read("m1", ms(h), 1000));
  REQUIRE(read("m1", ms(h + 600), 1003));
  stop();
  start();
  CHECK(day_value("w1.manual", day).value == Approx(110));
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(3));
  REQUIRE(read("m1", ms(h + 1200), 1004));
  CHECK(hour_value("m1.v", absl::CivilHour(h)).value == Approx(4));
  auto entries = actors::read_entries(db.get(), "w1.manual", std::nullopt, std::nullopt);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].superseded);
  CHECK(entries[1].value == 110);
}

TEST_CASE_METHOD(fixture,
                 "energy model: kept as a document, a store's older model key is read and removed",
                 "[actors][energy]") {
  build();
  auto bytes = db->get_document("energy-model").value();
  REQUIRE(bytes);
  CHECK(bytes->find("\nmodel#") != std::string::npos);  // after the journal header
  CHECK_FALSE(db->get_energy("model"));
  // A store written before documents: the model is a key of the energy family.
  stop();
  std::filesystem::remove(dir / "documents" / "energy-model");
  REQUIRE(db->put_energy({{"model", *bytes}}));
  start();
  CHECK(day_value("w1.manual", absl::CivilDay(2026, 11, 18)).quality == quality::missing);
  CHECK(book([](actors::energy_book& b) -> std::pair<errc, std::string> {
          return {errc::ok, b.model().indicators.count("plant.e") ? "loaded" : "seeded"};
        })
        == caf::expected<std::string>("loaded"));
  // The next change writes the document and drops the old key.
  change([](model& m) { return m.put_node(make_node("w3", node_kind::workshop, "plant", 2)); });
  CHECK(db->get_document("energy-model").value());
  CHECK_FALSE(db->get_energy("model"));
  // A document that exists but cannot be read is kept: changes are refused.
  stop();
  auto doc = dir / "documents" / "energy-model";
  std::filesystem::remove(doc);
  std::filesystem::create_directory(doc);  // reading a directory fails (EISDIR)
  start();
  auto refused = put(make_node("root", node_kind::plant, "", 1));
  REQUIRE_FALSE(refused);
  CHECK_THAT(caf::to_string(refused.error()), Catch::Contains("not changed"));
  CHECK(std::filesystem::is_directory(doc));
}

TEST_CASE_METHOD(
  fixture, "energy units: a gap reaching back into a summed day adds up with the stored hours",
  "[actors][energy]") {
  build();
  absl::CivilDay day(2026, 11, 18);
  auto h = absl::CivilSecond(absl::CivilHour(day));
  REQUIRE(read("m1", ms(h), 1000));
  REQUIRE(read("m1", ms(h + 600), 1001));  // hour 0 of the day holds 1 kWh
  // 40 days on (the window is 35): the day is held as its sum; the next
  // reading's gap is spread back to 00:10 of that day, into hour 0 too,
  // which already has a value: its stored value travels with the update.
  absl::CivilDay later = day + 40;
  clk.set(time_point{std::chrono::milliseconds{ms(absl::CivilSecond(later) + 3600)}});
  REQUIRE(read("m1", ms(absl::CivilSecond(later) + 3600), 1001 + 40 * 24));
  double stored = 0;
  for (const auto& [k, v] : db->scan_energy("hour/m1.v/")) {
    int64_t idx =
      static_cast<int64_t>(std::strtoull(k.substr(k.rfind('/') + 1).c_str(), nullptr, 16));
    if (absl::CivilDay(absl::CivilHour(1970, 1, 1, 0) + idx) == day)
      stored += std::strtod(v.c_str(), nullptr);
  }
  REQUIRE(stored > 1.5);  // the gap's share of the day's remaining hours
  auto v = day_value("m1.v", day);
  CHECK(v.value == Approx(stored));
  CHECK(v.quality == quality::estimated);
  CHECK(hour_value("m1.v", absl::CivilHour(h)).quality
        == quality::missing);  // no longer held by the hour
}

TEST_CASE_METHOD(
  fixture,
  "energy book: hours before the held window are read back from the store, within a budget",
  "[actors][energy]") {
  build();
  absl::CivilDay day(2026, 11, 18);
  auto h0 = absl::CivilSecond(absl::CivilHour(day));
  double counter = 500;
  for (int k = 0; k <= 24; ++k) {  // hour k uses k + 1 kWh
    REQUIRE(read("m1", ms(h0 + 3600 * k), counter));
    counter += k + 1;
  }
  REQUIRE(enter("w1.manual", day, 120));
  REQUIRE(enter("w1.manual", day + 1, 7));  // a day outside the graph read back
  // 40 days on, the window (35 days) has passed the day: memory holds its sum.
  clk.set(time_point{std::chrono::milliseconds{ms(absl::CivilSecond(day + 40))}});
  REQUIRE(book([](actors::energy_book& b) -> std::pair<errc, std::string> {
    b.roll_hours();  // as the next input or query would
    return {errc::ok, ""};
  }));
  CHECK(day_value("m1.v", day).value == Approx(300));
  CHECK(hour_value("m1.v", absl::CivilHour(day) + 5).quality == quality::missing);
  auto r = book([&](actors::energy_book& b) -> std::pair<errc, std::string> {
    CHECK(b.engine().inputs_of({"plant.e"}).hourly == std::vector<std::string>{"m1.v", "m2.v"});
    auto w1 = b.engine().inputs_of({"w1.e", "nope"});
    CHECK(w1.hourly == std::vector<std::string>{"m1.v"});
    CHECK(w1.daily == std::vector<std::string>{"w1.manual"});
    CHECK(!w1.time_varying_coefficients);
    auto past = b.graph_from_store({"plant.e", "w1.e"}, day, day);
    REQUIRE(past);
    auto as_of = absl::FromCivil(absl::CivilSecond(day + 2), b.tz());
    for (int k = 0; k < 24; ++k) {
      auto v = (*past)->value(
        "m1.v", period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + k)), as_of);
      CHECK(v.value == Approx(k + 1));
      CHECK(v.quality == quality::measured);
    }
    // The day's entry is read back too; the next day's is not asked for.
    auto w1e = (*past)->value("w1.e", period_of(resolution::day, absl::CivilSecond(day)), as_of);
    CHECK(w1e.value == Approx(300 + 120));
    CHECK(w1e.quality == quality::manual);
    CHECK((*past)
            ->value("w1.manual", period_of(resolution::day, absl::CivilSecond(day + 1)), as_of)
            .quality
          == quality::missing);
    // m2 has no hours: the plant's sum is missing, never m1 alone.
    CHECK((*past)
            ->value("plant.e",
                    period_of(resolution::hour, absl::CivilSecond(absl::CivilHour(day) + 5)), as_of)
            .quality
          == quality::missing);
    // Two meters for two days is four meter-days: over a budget of three.
    b.set_past_hours_budget(3);
    auto refused = b.graph_from_store({"plant.e"}, day, day + 1);
    REQUIRE(!refused);
    CHECK(refused.error().code == errc::failed_precondition);
    CHECK_THAT(refused.error().message(),
               Catch::Contains("2 meters x 2 days") && Catch::Contains("at most 3"));
    CHECK(b.graph_from_store({"m1.v"}, day, day + 1));  // one meter, two days: within it
    return {errc::ok, ""};
  });
  REQUIRE(r);
}

TEST_CASE_METHOD(fixture,
                 "energy supervisor: the window of held hours moves with the days, without inputs",
                 "[actors][energy]") {
  build();
  absl::CivilDay day(2026, 11, 18);
  REQUIRE(read("m1", ms(absl::CivilSecond(day)), 10));
  auto held = [&] {
    std::optional<absl::CivilDay> out;
    REQUIRE(book([&](actors::energy_book& b) -> std::pair<errc, std::string> {
      out = b.engine().hours_kept_from();
      return {errc::ok, ""};
    }));
    REQUIRE(out);
    return *out;
  };
  CHECK(held() == day - 34);
  // Forty quiet days: no reading, no query. The hourly roll moves the window.
  clk.set(time_point{std::chrono::milliseconds{ms(absl::CivilSecond(day + 40) + 12 * 3600)}});
  CHECK(held() == day - 34);
  sched.advance_time(std::chrono::hours{1});
  sched.run();
  CHECK(held() == day + 40 - 34);
}

TEST_CASE_METHOD(
  fixture,
  "energy supervisor: a change recorded but stopped before its model file is told at start",
  "[actors][energy]") {
  build();
  auto before = actors::read_energy_audit(db.get(), INT64_MIN, INT64_MAX).size();
  // The store records a change, then plantd stops before the file is
  // replaced: the file still holds the model as the codec wrote it.
  auto file_bytes = **db->get_document("energy-model");
  REQUIRE(db->put_document("energy-model", "a model that never landed",
                           "energy/0000000000000001/0000000000000001", "bob\nput unit w9"));
  { std::ofstream(dir / "documents" / "energy-model", std::ios::trunc) << file_bytes; }
  stop();
  start();
  auto audit = actors::read_energy_audit(db.get(), INT64_MIN, INT64_MAX);
  REQUIRE(audit.size() == before + 2);
  CHECK(audit.back().who == "plantd");
  CHECK_THAT(audit.back().what, Catch::Contains("did not reach the model file"));
  CHECK(db->document_current("energy-model", file_bytes));
  // Once told, a further start adds nothing.
  stop();
  start();
  CHECK(actors::read_energy_audit(db.get(), INT64_MIN, INT64_MAX).size() == before + 2);
}

TEST_CASE_METHOD(fixture,
                 "energy supervisor: a change the store cannot write is not kept in memory either",
                 "[actors][energy]") {
  build();
  // The model file cannot be replaced (a directory stands where its
  // temporary file would be written); the current one stays readable.
  auto tmp = dir / "documents" / "energy-model.tmp";
  std::filesystem::create_directories(tmp / "blocked");
  // A change of many records writes the whole model (not the journal).
  actors::model_edit many;
  many.what = actors::model_edit::op::put_many;
  many.who = "test";
  for (int i = 0; i <= 1000; ++i)
    many.puts.push_back(
      {make_node(i ? fmt::format("x{}", i) : "w9", node_kind::workshop, "plant", 2), false});
  auto res = ask<actors::model_edited>(energy, actors::energy_atom_v, many);
  REQUIRE_FALSE(res);
  CHECK(actors::to_errc(res.error()) == errc::unavailable);
  auto check = [&] {
    REQUIRE(book([](actors::energy_book& b) -> std::pair<errc, std::string> {
      CHECK(b.model().nodes.count("w9") == 0);
      CHECK(b.model().nodes.count("x1000") == 0);
      CHECK(b.model().nodes.count("w1") == 1);
      return {errc::ok, ""};
    }));
  };
  check();
  // A later change goes through once the way is clear; w9 was never kept.
  std::filesystem::remove_all(tmp);
  change([](model& m) { return m.put_node(make_node("w8", node_kind::workshop, "plant", 2)); });
  check();
}

TEST_CASE_METHOD(fixture,
                 "energy model: a small change goes to the journal, replayed at load, and the "
                 "document is written again once the journal is full",
                 "[actors][energy]") {
  build();
  auto document = [&] { return db->get_document("energy-model").value().value_or(""); };
  auto journal = [&] { return db->scan_energy("model-journal/"); };
  auto name_of = [&](const std::string& id) {
    auto r = book([id](actors::energy_book& b) -> std::pair<errc, std::string> {
      auto it = b.model().nodes.find(id);
      return {errc::ok, it == b.model().nodes.end() ? "(none)" : std::string(it->second.name)};
    });
    REQUIRE(r);
    return *r;
  };
  auto rename = [&](std::string id, std::string name) {
    change([=](model& m) {
      auto n = m.nodes.at(id);
      n.name = name;
      return m.put_node(n);
    });
  };
  const auto first = document();
  rename("w1", "Workshop one");
  change([](model& m) { return m.put_node(make_node("w5", node_kind::workshop, "plant", 2)); });
  change([](model& m) { return m.remove_node("w5"); });
  // Three entries; the document as it was.
  CHECK(journal().size() == 3);
  CHECK(document() == first);
  auto stale = journal().front();  // the rename, kept for later
  // A restart reads the document and the journal after it.
  stop();
  start();
  CHECK(name_of("w1") == "Workshop one");
  CHECK(name_of("w5") == "(none)");
  CHECK(name_of("w2") == "w2");
  // Queries still see the graph of the model (a rename keeps it).
  CHECK(day_value("w1.manual", absl::CivilDay(2026, 11, 18)).quality == quality::missing);
  rename("w1", "Workshop 1");
  // A full journal is folded into the document.
  for (std::size_t i = 0; i <= actors::energy_book::journal_max_entries; ++i)
    rename("w2", fmt::format("Workshop two, {}", i));
  CHECK(journal().size() < 10);
  CHECK(document() != first);
  auto last = fmt::format("Workshop two, {}", actors::energy_book::journal_max_entries);
  CHECK(name_of("w2") == last);
  // An entry the document holds already (its removal cut short by a stop)
  // is passed over: it would take the rename back.
  REQUIRE(db->put_energy({stale}));
  stop();
  start();
  CHECK(name_of("w1") == "Workshop 1");
  CHECK(name_of("w2") == last);
  // A journal entry that cannot be read keeps the model from changes, as a
  // document that cannot be read does.
  REQUIRE(db->put_energy({{"model-journal/ffffffffffffff00", "garbage"}}));
  stop();
  start();
  auto refused = put(make_node("w6", node_kind::workshop, "plant", 2));
  REQUIRE_FALSE(refused);
  CHECK(actors::error_text(refused.error()).find("cannot apply the model journal's entry")
        != std::string::npos);
  CHECK(name_of("w1") == "Workshop 1");  // the document and the entries before it
  // A document without the header (written by a plantd from before the
  // journal, run after a downgrade) holds every change: the entries beside
  // it are older and are not applied. The next change writes the document.
  stop();
  auto doc = document();
  REQUIRE(db->put_document("energy-model", doc.substr(doc.find('\n') + 1)));
  REQUIRE(db->put_energy({{"model-journal/fffffffffffffff0", stale.second}}));
  start();
  CHECK(name_of("w1") == "Workshop 1");
  change([](model& m) { return m.put_node(make_node("w7", node_kind::workshop, "plant", 2)); });
  CHECK(journal().empty());
  CHECK(document().starts_with("plantd energy model; journal to "));
  stop();
  start();
  CHECK(name_of("w7") == "w7");
  CHECK(name_of("w1") == "Workshop 1");
}

TEST_CASE_METHOD(
  fixture,
  "energy units: late readings find their place, duplicates change nothing, misfits are refused",
  "[actors][energy]") {
  build();
  absl::CivilHour h10(2026, 11, 18, 10);
  auto at = [&](int h, int mi = 0) { return ms(absl::CivilSecond(h10 + (h - 10)) + mi * 60); };
  auto hour = [&](int h) { return hour_value("m1.v", h10 + (h - 10)); };
  auto total = [&] {
    double t = 0;
    for (int h = 9; h <= 12; ++h)
      t += hour(h).value;
    return t;
  };
  CHECK(read_fate("m1", at(10), 1000) == "recorded");
  CHECK(read_fate("m1", at(13), 1300) == "recorded");
  // Three hours apart: spread evenly, estimated.
  CHECK(hour(11).value == Approx(100));
  CHECK(hour(11).quality == quality::estimated);
  // The gateway's buffered 11:00 reading comes late: 10:00-11:00 is exact now.
  CHECK(read_fate("m1", at(11), 1150) == "backfilled");
  CHECK(hour(10).value == Approx(150));
  CHECK(hour(10).quality == quality::measured);
  CHECK(hour(11).value == Approx(75));
  CHECK(hour(11).quality == quality::estimated);
  CHECK(read_fate("m1", at(12), 1210) == "backfilled");
  CHECK(hour(11).value == Approx(60));
  CHECK(hour(11).quality == quality::measured);
  CHECK(hour(12).value == Approx(90));
  CHECK(hour(12).quality == quality::measured);
  CHECK(total() == Approx(300));
  // The same reading again: nothing changes.
  CHECK(read_fate("m1", at(11), 1150) == "duplicate");
  CHECK(hour(10).value == Approx(150));
  // Another counter at a time recorded: refused, naming both.
  auto r = read_fate("m1", at(11), 1160);
  CHECK(r.find("a reading of 1150 is recorded at 2026-11-18 11:00:00; this reading says 1160")
        != std::string::npos);
  // A counter that does not fit between its neighbours: refused, nothing changed.
  r = read_fate("m1", at(11, 30), 1500);
  CHECK(r.find("is not between the readings around it (1150 at 2026-11-18 11:00:00, 1210 at")
        != std::string::npos);
  CHECK(total() == Approx(300));
  // Before the meter's first reading: the hour before it gets its use.
  CHECK(read_fate("m1", at(9), 900) == "backfilled");
  CHECK(hour(9).value == Approx(100));
  CHECK(hour(9).quality == quality::measured);
  // A wrong date far before it is refused, not spread over weeks.
  r = read_fate("m1", at(9) - 40LL * 24 * 3600 * 1000, 10);
  CHECK(r.find("more than 31 days before the meter's first reading (2026-11-18 09:00:00)")
        != std::string::npos);
  // After a restart the log is in the store: an off-hour reading splits 12:00-13:00.
  stop();
  start();
  CHECK(read_fate("m1", at(12, 30), 1250) == "backfilled");
  CHECK(hour(12).value == Approx(90));
  CHECK(hour(12).quality == quality::measured);
  CHECK(total() == Approx(400));
  // The readings go on after the last one as before.
  CHECK(read_fate("m1", at(14), 1400) == "recorded");
  CHECK(hour(13).value == Approx(100));
  // A meter swap before the last reading is refused, not taken and lost.
  actors::unit_request swap;
  swap.what = actors::unit_request::op::swap;
  swap.target = "m1";
  swap.t_ms = at(13, 30);
  swap.old_final = 1350;
  swap.new_initial = 0;
  auto swapped = unit(swap);
  REQUIRE_FALSE(swapped);
  CHECK(caf::to_string(swapped.error()).find("must come after the meter's last reading")
        != std::string::npos);
}

TEST_CASE_METHOD(fixture,
                 "energy units: readings older than the log, or among live ones, are refused",
                 "[actors][energy]") {
  build();
  absl::CivilSecond t(2026, 11, 18, 10, 0, 0);
  SECTION("a store from before the log: its last counter is where the log starts") {
    REQUIRE(db->put_energy({{"counter/m1", fmt::format("{}\n{}", ms(t), 5000.0)}}));
    auto r = read_fate("m1", ms(t - 3600), 4900);
    CHECK(r.find("older than the readings kept for the meter (from 2026-11-18 10:00:00)")
          != std::string::npos);
    CHECK(read_fate("m1", ms(t + 3600), 5100) == "recorded");
    CHECK(read_fate("m1", ms(t + 1800), 5040) == "backfilled");
    CHECK(hour_value("m1.v", absl::CivilHour(t)).value == Approx(100));
    CHECK(hour_value("m1.v", absl::CivilHour(t)).quality == quality::measured);
  }
  SECTION("a late reading must fit the interval it splits: a reset on one side only") {
    CHECK(read_fate("m1", ms(t), 1000) == "recorded");
    CHECK(read_fate("m1", ms(t + 7200), 10) == "recorded");  // the meter was reset in between
    // Down then down again: a second reset the interval did not have.
    auto r = read_fate("m1", ms(t + 3600), 500);
    CHECK(r.find("is not between the readings around it") != std::string::npos);
    // Up, then the reset: it fits.
    CHECK(read_fate("m1", ms(t + 3600), 1005) == "backfilled");
  }
  SECTION("readings of a live meter are not logged: a late one cannot be placed among them") {
    CHECK(read_fate("m1", ms(t), 1000, false) == "recorded");
    CHECK(read_fate("m1", ms(t + 10), 1001, false) == "recorded");
    CHECK(read_fate("m1", ms(t + 5), 1000.5, false) == "ignored");
    auto r = read_fate("m1", ms(t + 5), 1000.5);
    CHECK(r.find("were not kept (read live by plantd)") != std::string::npos);
  }
}

TEST_CASE_METHOD(fixture,
                 "energy units: a meter's reading log keeps 400 days, then starts again from there",
                 "[actors][energy]") {
  build();
  constexpr int64_t day = 24LL * 3600 * 1000;
  absl::CivilSecond t0(2025, 10, 1, 0, 0, 0);
  int64_t start = ms(t0);
  CHECK(read_fate("m1", start, 100) == "recorded");
  CHECK(read_fate("m1", start + day, 124) == "recorded");
  CHECK(read_fate("m1", start + 401 * day, 10'000) == "recorded");
  // The reading of day 0 is gone; day 1's starts the log.
  CHECK(db->scan_energy(fmt::format("reading/m1/{:016x}", start)).empty());
  auto r = read_fate("m1", start + day / 2, 112);
  CHECK(r.find("older than the readings kept for the meter (from 2025-10-02 00:00:00)")
        != std::string::npos);
  // Within the window, late readings still find their place.
  CHECK(read_fate("m1", start + 200 * day, 5000) == "backfilled");
}

TEST_CASE_METHOD(fixture,
                 "energy model: records travel as data, each kind through a serializer and back",
                 "[actors][energy]") {
  energy::energy_type et;
  et.id = "gas";
  et.name = "天然气";
  et.unit = "m3";
  et.coal_equivalent.push_back({"GB/T 2589-2020", absl::CivilDay(2020, 1, 1),
                                absl::CivilDay(2030, 12, 31), 1.2143, "table A"});
  et.co2.push_back({"2022", 2022, "east", 2.16, "MEE"});
  energy::price p;
  p.version = "2026";
  p.valid_from = absl::CivilDay(1965, 3, 1);  // before the epoch
  p.tou.push_back({{plant::weekday::monday, plant::weekday::sunday}, "08:00", "12:00", 1.1});
  et.prices.push_back(p);
  et.required_rate[2] = 95;
  auto nd = make_node("e1", node_kind::equipment, "w1", 3);
  nd.equipment.edit().maker = "ACME";
  nd.equipment.edit().start_date = absl::CivilDay(2019, 6, 30);
  auto mt = make_meter("m9", "e1");
  mt.details.edit().ct_ratio = 40;
  energy::product pr{"steel", "钢", "Q235", "t", "w1"};
  energy::indicator_template tpl{"gas_use",
                                 "用气量",
                                 "gas use",
                                 energy::indicator_kind::collection,
                                 "gas",
                                 "m3",
                                 energy::direction::consumption};
  energy::enterprise ent;
  ent.name = "Works";
  ent.language = "en";
  std::vector<actors::model_record> records{
    et, nd, mt, pr, tpl, ind("w1.g", "gas_use", "w1", source_kind::formula, "#m9.v * 2"), ent};
  for (const auto& rec : records) {
    actors::model_put in{rec, true}, out;
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE_FALSE(sink(in));
    caf::binary_deserializer source{sys, buf};
    REQUIRE_FALSE(source(out));
    CAPTURE(actors::kind_of(rec));
    CHECK(out.create_only);
    CHECK(actors::kind_of(out.record) == actors::kind_of(rec));
    CHECK(actors::id_of(out.record) == actors::id_of(rec));
    CHECK(caf::to_string(out.record) == caf::to_string(rec));
  }
  // The fields a string form could hide, compared as values.
  actors::model_put a{records[0], false}, b;
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(a));
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(b));
  const auto& got = caf::get<energy::energy_type>(b.record);
  REQUIRE(got.coal_equivalent.size() == 1);
  CHECK(got.coal_equivalent[0].valid_to == absl::CivilDay(2030, 12, 31));
  CHECK(got.prices.at(0).valid_from == absl::CivilDay(1965, 3, 1));
  CHECK_FALSE(got.prices.at(0).valid_to.has_value());
  CHECK(got.prices.at(0).tou.at(0) == p.tou[0]);
  CHECK(got.required_rate[2] == 95);
  CHECK(got.name == "天然气");
  buf.clear();
  actors::model_put n{records[1], false}, n2;
  caf::binary_serializer sink2{sys, buf};
  REQUIRE_FALSE(sink2(n));
  caf::binary_deserializer source2{sys, buf};
  REQUIRE_FALSE(source2(n2));
  const auto& node2 = caf::get<energy::node>(n2.record);
  CHECK(node2.equipment->maker == "ACME");
  CHECK(node2.equipment->start_date == absl::CivilDay(2019, 6, 30));
  CHECK(node2.parent == "w1");
  // A whole edit and its answers.
  actors::model_edit e;
  e.what = actors::model_edit::op::put_many;
  e.puts = {{records[1], false}, {records[5], true}};
  e.who = "ana";
  e.base_version = 42;
  buf.clear();
  caf::binary_serializer sink3{sys, buf};
  REQUIRE_FALSE(sink3(e));
  actors::model_edit e2;
  caf::binary_deserializer source3{sys, buf};
  REQUIRE_FALSE(source3(e2));
  CHECK(e2.what == actors::model_edit::op::put_many);
  CHECK(e2.base_version == 42);
  REQUIRE(e2.puts.size() == 2);
  CHECK(actors::kind_of(e2.puts[1].record) == "indicator");
  CHECK(caf::get<energy::indicator>(e2.puts[1].record).formula == "#m9.v * 2");
  actors::audit_answer au{{{7, "ana", "put unit w1", "{}", "{\"id\":\"w1\"}"}}}, au2;
  buf.clear();
  caf::binary_serializer sink4{sys, buf};
  REQUIRE_FALSE(sink4(au));
  caf::binary_deserializer source4{sys, buf};
  REQUIRE_FALSE(source4(au2));
  REQUIRE(au2.records.size() == 1);
  CHECK(au2.records[0].after == au.records[0].after);
}

TEST_CASE_METHOD(fixture,
                 "energy model: a view is shared until the next change, which leaves it as it "
                 "was, and a change based on an older version is refused as aborted",
                 "[actors][energy]") {
  build();
  auto v1 = ask<actors::model_view>(energy, actors::energy_atom_v, actors::model_atom_v);
  auto v2 = ask<actors::model_view>(energy, actors::energy_atom_v, actors::model_atom_v);
  REQUIRE(v1);
  REQUIRE(v2);
  CHECK(v1->model == v2->model);  // one snapshot, not a copy per call
  CHECK(v1->version == v2->version);
  CHECK(v1->model->nodes.count("w1") == 1);
  // A put based on the version seen goes in.
  actors::model_edit e;
  e.who = "test";
  auto w3 = make_node("w3", node_kind::workshop, "plant", 2);
  e.puts.push_back({w3, true});
  e.base_version = v1->version;
  auto done = ask<actors::model_edited>(energy, actors::energy_atom_v, e);
  REQUIRE(done);
  CHECK(done->version != v1->version);
  CHECK(done->put == 1);
  // The view held is the model as it was; the next one has the change.
  CHECK(v1->model->nodes.count("w3") == 0);
  auto v3 = ask<actors::model_view>(energy, actors::energy_atom_v, actors::model_atom_v);
  REQUIRE(v3);
  CHECK(v3->model != v1->model);
  CHECK(v3->model->nodes.count("w3") == 1);
  CHECK(v3->version == done->version);
  // Prepared from the first view: the model changed since, so refused.
  e.puts.front().record = make_node("w4", node_kind::workshop, "plant", 2);
  auto stale = ask<actors::model_edited>(energy, actors::energy_atom_v, e);
  REQUIRE_FALSE(stale);
  CHECK(actors::to_errc(stale.error()) == errc::aborted);
  CHECK(the_book->model().nodes.count("w4") == 0);
  // A put of an indicator answers its formula, stored and shown.
  actors::model_edit f;
  f.who = "test";
  f.puts.push_back({ind("w2.e", "electricity_use", "w2", source_kind::formula, "#m2.v"), true});
  auto put = ask<actors::model_edited>(energy, actors::energy_atom_v, f);
  REQUIRE(put);
  CHECK(put->formula == "#m2.v");
  CHECK_FALSE(put->formula_display.empty());
  // A batch is all or nothing, its refusal naming the item.
  actors::model_edit many;
  many.what = actors::model_edit::op::put_many;
  many.who = "test";
  many.puts.push_back({make_node("w5", node_kind::workshop, "plant", 2), true});
  many.puts.push_back({make_node("w6", node_kind::workshop, "nowhere", 2), true});
  auto refused = ask<actors::model_edited>(energy, actors::energy_atom_v, many);
  REQUIRE_FALSE(refused);
  CHECK_THAT(actors::error_text(refused.error()), Catch::Contains("items[1]"));
  CHECK(the_book->model().nodes.count("w5") == 0);
  // One record, without a view of the whole model; where a record is used.
  auto w1 =
    ask<actors::record_answer>(energy, actors::energy_atom_v, actors::record_request{"node", "w1"});
  REQUIRE(w1);
  REQUIRE(w1->found);
  CHECK(actors::id_of(w1->record) == "w1");
  CHECK(w1->version == put->version);
  auto f2 = ask<actors::record_answer>(energy, actors::energy_atom_v,
                                       actors::record_request{"indicator", "w2.e"});
  REQUIRE(f2);
  CHECK(f2->formula_display == put->formula_display);
  auto none = ask<actors::record_answer>(energy, actors::energy_atom_v,
                                         actors::record_request{"meter", "m404"});
  REQUIRE(none);
  CHECK_FALSE(none->found);
  auto uses = ask<actors::uses_answer>(energy, actors::energy_atom_v,
                                       actors::uses_request{"indicator", "m2.v"});
  REQUIRE(uses);
  REQUIRE_FALSE(uses->uses.empty());
  CHECK(uses->uses.front().kind == "indicator");
  // The audit records every change, the last ones asked for.
  actors::audit_request q;
  q.limit = 2;
  auto audit = ask<actors::audit_answer>(energy, actors::energy_atom_v, q);
  REQUIRE(audit);
  REQUIRE(audit->records.size() == 2);
  CHECK_THAT(audit->records[0].what, Catch::Contains("put unit w3"));
  CHECK_THAT(audit->records[1].what, Catch::Contains("put indicator w2.e"));
  CHECK(audit->records[1].who == "test");
  // A new meter changes no computed value: the graph is not compiled
  // again; its first indicator is compiled in, and reads as it should.
  auto compilations = [&] {
    return std::stoull(*book([](actors::energy_book& b) -> std::pair<errc, std::string> {
      return {errc::ok, std::to_string(b.engine().compilations())};
    }));
  };
  auto before_meter = compilations();
  REQUIRE(this->put(make_meter("m3", "w2")));
  CHECK(compilations() == before_meter);
  REQUIRE(this->put(ind("m3.v", "active_energy", "m3", source_kind::meter)));
  CHECK(compilations() == before_meter + 1);
  auto h = absl::CivilSecond(2026, 11, 18, 10, 0, 0);
  REQUIRE(read("m3", ms(h), 100));
  REQUIRE(read("m3", ms(h + 1800), 102.5));
  CHECK(hour_value("m3.v", absl::CivilHour(h)).value == Approx(2.5));
  // A new tariff is read again, the graph kept: the cost of that hour
  // follows it at once.
  REQUIRE(
    this->put(ind("w2.cost", "cost", "w2", source_kind::formula, "#m3.v * price(electricity)")));
  auto before_price = compilations();
  auto cost = hour_value("w2.cost", absl::CivilHour(h));
  REQUIRE(cost.quality == quality::measured);
  auto el = the_book->model().energy_types.at("electricity");
  energy::price flat;
  flat.version = "flat 2.0";
  flat.flat = 2.0;
  el.prices = {flat};
  REQUIRE(this->put(el));
  CHECK(compilations() == before_price);
  CHECK(cost.value != Approx(2.5 * 2.0));
  CHECK(hour_value("w2.cost", absl::CivilHour(h)).value == Approx(2.5 * 2.0));
}

TEST_CASE_METHOD(fixture,
                 "energy model: the meters bound to a live source follow every change of the "
                 "model, each reading in its meter's unit",
                 "[actors][energy]") {
  build();
  auto live = [&](const std::string& source) {
    return *book([&](actors::energy_book& b) -> std::pair<errc, std::string> {
      std::string out;
      for (const auto& [id, v] : b.live_readings(source, 2000))
        out += fmt::format("{}={:g} ", id, v);
      return {errc::ok, out};
    });
  };
  CHECK(live("grid.import").empty());
  auto m = make_meter("m4", "w1");
  m.live_source = "grid.import";
  REQUIRE(this->put(m));
  CHECK(live("grid.import") == "m4=2 ");  // 2,000 Wh in kWh
  CHECK(live("grid.export").empty());
  m.live_source = "grid.export";
  REQUIRE(this->put(m));
  CHECK(live("grid.import").empty());
  CHECK(live("grid.export") == "m4=2 ");
  // Read again after a restart, from the stored model.
  stop();
  start();
  CHECK(live("grid.export") == "m4=2 ");
  change([](model& x) { return x.remove_meter("m4"); });
  CHECK(live("grid.export").empty());
}
