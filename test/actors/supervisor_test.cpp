// The supervisor and its device actors under the CAF test coordinator: fake
// buses feed raw registers, a stepped clock moves time, faults are injected
// into the buses.
#include "test/support/actor_fixture.hpp"

#include "actors/supervisor.hpp"
#include "test/support/fake_bus.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace std::chrono_literals;
using plantd::test::f32;

namespace {

void fill_cabinet(test::fake_bus& bus, double soc) {
  for (uint16_t a = 0; a < 0x16; ++a)
    bus.set(1, 3, a, {0});
  for (uint16_t a = 0x100; a < 0x10F; ++a)
    bus.set(1, 3, a, {0});
  for (uint16_t a = 0x200; a < 0x205; ++a)
    bus.set(1, 3, a, {0});
  bus.set(1, 3, 0x300, {0, 0});
  bus.set(1, 3, 0x0008, {0x0001, 0x86A0});  // allowed charge 100 kW
  bus.set(1, 3, 0x000A, {0x0001, 0x86A0});  // allowed discharge 100 kW
  bus.set(1, 3, 0x0101, {static_cast<uint16_t>(soc * 10)});
  bus.set(1, 3, 0x010E, {1});
  bus.set(1, 3, 0x0107, {250});
}

void fill_dtsu(test::fake_bus& bus, float watts) {
  bus.set(1, 3, 0x0006, {1, 10});
  for (uint16_t a = 0x2000; a < 0x2046; a += 2)
    bus.set(1, 3, a, f32(0));
  bus.set(1, 3, 0x2012, f32(watts * 10));
  bus.set(1, 3, 0x401E, f32(0));
  bus.set(1, 3, 0x4028, f32(0));
}

int32_t power_setpoint(test::fake_bus& bus) {
  return static_cast<int32_t>((uint32_t{bus.get(1, 3, 0x0006)} << 16) | bus.get(1, 3, 0x0007));
}

// What the actors point to must outlive them: the actor system (in the base
// class listed after this one) is torn down first.
struct plant_resources {
  manual_clock clk{time_point{std::chrono::milliseconds{1'780'000'000'000}}};
  pointtables::registry tables = pointtables::registry::builtin();
};

// DI / DO lines read and set in memory.
struct fake_lines : dio::line_source {
  dio::line_state state;
  std::array<bool, 2> out{};
  expected<dio::line_state, std::string> read() override { return state; }
  expected<void, std::string> set_output(int channel, bool closed) override {
    out[static_cast<std::size_t>(channel - 1)] = closed;
    return {};
  }
};

struct plant_fixture : plant_resources, test::actor_fixture {
  std::map<std::string, std::shared_ptr<test::fake_bus>> buses;
  std::shared_ptr<fake_lines> io_lines;      // set before start(): the I/O actor runs
  std::function<void(plant::config&)> edit;  // set before start()
  std::shared_ptr<actors::state_hub> hub = std::make_shared<actors::state_hub>();
  actors::supervisor_api sup;

  ~plant_fixture() {
    // Stop the periodic actors; the base class then drains what is left.
    if (sup)
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void start(std::size_t cabinets, float grid_w) {
    auto cfg = test::valid_config(cabinets);
    cfg.policies.export_limit.enabled = false;
    if (edit)
      edit(cfg);
    for (std::size_t i = 1; i <= cabinets; ++i) {
      auto b = std::make_shared<test::fake_bus>();
      fill_cabinet(*b, 50);
      buses[fmt::format("C{:02}", i)] = b;
    }
    buses["RS485-1"] = std::make_shared<test::fake_bus>();
    fill_dtsu(*buses["RS485-1"], grid_w);
    buses["RS485-2"] = std::make_shared<test::fake_bus>();
    buses["RS485-3"] = std::make_shared<test::fake_bus>();
    actors::supervisor_args a;
    a.cfg = cfg;
    a.tables = &tables;
    a.clk = &clk;
    a.hub = hub;
    a.detached_devices = false;
    a.io_lines = io_lines;
    a.bus_for = [this](const std::string& name) -> std::shared_ptr<modbus::register_bus> {
      return buses.at(name);
    };
    sup = actors::spawn_supervisor(sys, a);
    sched.run();
  }

  // Moves the stepped clock and CAF's timers together, then runs every actor.
  void leap(std::chrono::milliseconds d, std::chrono::milliseconds step = 100ms) {
    for (auto t = 0ms; t < d; t += step) {
      clk.advance(step);
      sched.advance_time(step);
      sched.run();
    }
  }

  actors::plant_state state() {
    auto [s, seq] = hub->latest();
    REQUIRE(s);
    return *s;
  }
};

}  // namespace

TEST_CASE_METHOD(plant_fixture, "a grid-meter reading leads to cabinet setpoints",
                 "[actors][supervisor]") {
  start(1, 30'000);
  leap(1500ms);
  auto s = state();
  CHECK(s.binding == dispatch::rule::self_consumption);
  CHECK(s.grid_meter_available);
  CHECK(s.cabinets[0].available);
  CHECK(power_setpoint(*buses["C01"]) == 30'000);
  CHECK(buses["C01"]->get(1, 3, 0x000C) == 1);  // run
  CHECK(buses["C01"]->get(1, 3, 0x000D) > 0);   // heartbeat advancing
}

TEST_CASE_METHOD(plant_fixture, "a silent grid meter: fail-safe after the stale time",
                 "[actors][supervisor][faults]") {
  start(1, 30'000);
  leap(1000ms);
  REQUIRE(power_setpoint(*buses["C01"]) == 30'000);
  buses["RS485-1"]->fail_all = modbus::failure{modbus::fault::timeout, 0, "no answer"};
  leap(1500ms);  // meter_stale_ms = 2000: not yet
  CHECK(state().binding == dispatch::rule::self_consumption);
  leap(1000ms);
  auto s = state();
  CHECK(s.binding == dispatch::rule::fail_safe);
  CHECK_FALSE(s.grid_meter_available);
  CHECK(power_setpoint(*buses["C01"]) == 0);
  // The meter answers again: control resumes.
  buses["RS485-1"]->fail_all.reset();
  leap(1000ms);
  CHECK(state().binding == dispatch::rule::self_consumption);
  CHECK(power_setpoint(*buses["C01"]) == 30'000);
}

TEST_CASE_METHOD(plant_fixture, "a cabinet that times out is excluded and its share moves",
                 "[actors][supervisor][faults]") {
  start(2, 60'000);
  leap(1500ms);
  CHECK(power_setpoint(*buses["C01"]) + power_setpoint(*buses["C02"]) == 60'000);
  buses["C02"]->fail_all = modbus::failure{modbus::fault::timeout, 0, "no answer"};
  auto silent_from = buses["C02"]->log.size();
  leap(6000ms);  // cabinet_stale_ms = 5000
  auto s = state();
  CHECK_FALSE(s.cabinets[1].available);
  CHECK_THAT(s.cabinets[1].error, Catch::Contains("timeout"));
  CHECK(s.cabinets[0].setpoint_w == Approx(60'000));
  CHECK(power_setpoint(*buses["C01"]) == 60'000);
  // Commands to the silent cabinet are held back (each write would wait for
  // its timeout); polling goes on and notices when it answers again.
  leap(3000ms);
  std::size_t reads = 0;
  std::size_t writes = 0;
  for (auto i = silent_from; i < buses["C02"]->log.size(); ++i) {
    auto fc = std::get<0>(buses["C02"]->log[i]);
    (fc == 3 ? reads : writes) += 1;
  }
  CHECK(reads >= 8 * 4);  // a read of 4 requests every second
  CHECK(writes <= 2);     // at most the writes that found it silent
  buses["C02"]->fail_all.reset();
  leap(2000ms);
  s = state();
  CHECK(s.cabinets[1].available);
  CHECK(power_setpoint(*buses["C01"]) + power_setpoint(*buses["C02"]) == 60'000);
}

TEST_CASE_METHOD(plant_fixture, "exception responses make a device unavailable, with the code",
                 "[actors][supervisor][faults]") {
  start(1, 10'000);
  leap(1000ms);
  buses["C01"]->fail_all = modbus::failure{modbus::fault::exception, 4, "read"};
  leap(6000ms);
  auto s = state();
  CHECK_FALSE(s.cabinets[0].available);
  CHECK_THAT(s.cabinets[0].error, Catch::Contains("exception 4 (server device failure)"));
}

TEST_CASE_METHOD(plant_fixture, "a device actor that dies is restarted with backoff",
                 "[actors][supervisor][restart]") {
  start(1, 20'000);
  leap(1000ms);
  auto killed = ask<bool>(sup, actors::restart_atom_v, std::string{"C01"});
  REQUIRE(killed);
  leap(200ms);
  auto restarts = ask<uint64_t>(sup, caf::get_atom_v, actors::restart_atom_v);
  REQUIRE(restarts);
  CHECK(*restarts == 1);
  // While it is down no samples arrive; after the backoff (500 ms) it is back.
  buses["C01"]->set(1, 3, 0x0101, {777});  // SOC 77.7 %
  leap(2000ms);
  auto s = state();
  CHECK(s.cabinets[0].available);
  CHECK(s.cabinets[0].soc_percent == Approx(77.7));
  auto unknown = ask<bool>(sup, actors::restart_atom_v, std::string{"C99"});
  REQUIRE_FALSE(unknown);
  CHECK(actors::to_errc(unknown.error()) == errc::not_found);
}

TEST_CASE_METHOD(plant_fixture, "mode and manual setpoint requests", "[actors][supervisor]") {
  start(1, 10'000);
  leap(1000ms);
  auto manual =
    ask<bool>(sup, actors::manual_atom_v, -40'000.0, int64_t{5000}, std::string{"operator"});
  REQUIRE(manual);
  leap(500ms);
  CHECK(power_setpoint(*buses["C01"]) == -40'000);
  CHECK(state().binding == dispatch::rule::manual);
  leap(5000ms);  // expired: back to self-consumption
  CHECK(state().binding == dispatch::rule::self_consumption);
  auto too_big = ask<bool>(sup, actors::manual_atom_v, 1e9, int64_t{5000}, std::string{"operator"});
  REQUIRE_FALSE(too_big);
  CHECK(actors::to_errc(too_big.error()) == errc::invalid_argument);
  // A new config (validated by the config actor) holds from a decision
  // made at once; no device changed, so none restarts.
  auto cfg = std::make_shared<plant::config>(test::valid_config(1));
  cfg->policies.export_limit.enabled = false;
  cfg->policies.mode = plant::working_mode::time_of_use;
  auto changes = ask<actors::device_changes>(sup, actors::apply_atom_v,
                                             std::shared_ptr<const plant::config>{cfg});
  REQUIRE(changes);
  CHECK(changes->started.empty());
  CHECK(changes->restarted.empty());
  CHECK(changes->stopped.empty());
  CHECK(state().mode == plant::working_mode::time_of_use);
}

TEST_CASE_METHOD(plant_fixture,
                 "stopping the supervisor stops its device actors, restarted ones too",
                 "[actors][supervisor][restart]") {
  start(1, 10'000);
  leap(1000ms);
  REQUIRE(ask<bool>(sup, actors::restart_atom_v, std::string{"C01"}));
  leap(2000ms);  // C01 runs again under a new handle
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  sched.run();
  auto reads = buses["C01"]->log.size();
  leap(3000ms);
  CHECK(buses["C01"]->log.size() == reads);  // nobody polls any more
  sup = actors::supervisor_api{};
}

TEST_CASE_METHOD(plant_fixture, "a new config restarts only the device actors it changed",
                 "[actors][supervisor][config]") {
  start(2, 30'000);
  leap(1500ms);
  auto total = [this] { return power_setpoint(*buses["C01"]) + power_setpoint(*buses["C02"]); };
  REQUIRE(total() == 30'000);
  auto apply = [this](plant::config cfg) {
    cfg.policies.export_limit.enabled = false;
    auto changes = ask<actors::device_changes>(
      sup, actors::apply_atom_v,
      std::shared_ptr<const plant::config>{std::make_shared<plant::config>(std::move(cfg))});
    REQUIRE(changes);
    return *changes;
  };
  // The same config: nothing restarts.
  auto same = apply(test::valid_config(2));
  CHECK(same.started.empty());
  CHECK(same.restarted.empty());
  CHECK(same.stopped.empty());
  // C02 moves to another port: it alone restarts; C01 keeps polling.
  auto moved = test::valid_config(2);
  moved.cabinets[1].modbus.port = 1502;
  auto c01_reads = buses["C01"]->log.size();
  auto changed = apply(moved);
  CHECK(changed.restarted == std::vector<std::string>{"C02"});
  CHECK(changed.started.empty());
  CHECK(changed.stopped.empty());
  leap(1500ms);
  CHECK(buses["C01"]->log.size() > c01_reads);
  CHECK(state().cabinets.size() == 2);
  CHECK(state().cabinets[1].available);
  CHECK(total() == 30'000);
  // A third cabinet: started, and it takes its share.
  buses["C03"] = std::make_shared<test::fake_bus>();
  fill_cabinet(*buses["C03"], 50);
  auto grown = test::valid_config(3);
  grown.cabinets[1].modbus.port = 1502;
  auto added = apply(grown);
  CHECK(added.started == std::vector<std::string>{"C03"});
  CHECK(added.restarted.empty());
  leap(2500ms);
  REQUIRE(state().cabinets.size() == 3);
  CHECK(state().cabinets[2].id == "C03");
  CHECK(state().cabinets[2].available);
  CHECK(power_setpoint(*buses["C03"]) > 0);
  // An equal share (the fake grid meter does not answer to the battery, so
  // the sum is not the plant's balance here).
  CHECK(power_setpoint(*buses["C03"]) == power_setpoint(*buses["C01"]));
  CHECK(power_setpoint(*buses["C03"]) == power_setpoint(*buses["C02"]));
  // Back to one: C02 and C03 stop, and nobody polls them any more.
  auto removed = apply(test::valid_config(1));
  CHECK(removed.stopped == std::vector<std::string>{"C02", "C03"});
  leap(500ms);
  CHECK(power_setpoint(*buses["C03"]) == 0);  // told 0 W before it went
  auto c03_reads = buses["C03"]->log.size();
  leap(2000ms);
  CHECK(buses["C03"]->log.size() == c03_reads);
  REQUIRE(state().cabinets.size() == 1);
  CHECK(power_setpoint(*buses["C01"]) == 30'000);
}

TEST_CASE_METHOD(plant_fixture,
                 "a generic alarm input raises its alarm, the alarm lamp and fault relay follow "
                 "the conditions",
                 "[actors][supervisor][io]") {
  io_lines = std::make_shared<fake_lines>();
  io_lines->state.di = {true, false};  // DI1 closed
  edit = [](plant::config& c) {
    c.rs485_lines.resize(1);  // the grid meter only: no silent inverters
    c.io.inputs = {{1, plant::input_function::generic_alarm, false, "Door open"}};
    c.io.outputs = {{1, plant::output_function::alarm_lamp, "Lamp"},
                    {2, plant::output_function::fault_relay, "Relay"}};
  };
  start(1, 10'000);
  leap(1500ms);
  auto has = [this](const std::string& code, const std::string& device) {
    for (const auto& c : state().conditions)
      if (c.code == code && c.device == device)
        return true;
    return false;
  };
  REQUIRE(has("digital_input", "DI1"));
  for (const auto& c : state().conditions)
    if (c.code == "digital_input")
      CHECK(c.text == "Door open active (DI1)");
  CHECK_FALSE(io_lines->out[0]);  // no critical condition: the lamp is off
  CHECK(io_lines->out[1]);        // a major one: the fault relay is closed
  // The grid meter goes silent: a critical condition lights the lamp.
  buses["RS485-1"]->fail_all = modbus::failure{modbus::fault::timeout, 0, "no answer"};
  leap(3000ms);
  REQUIRE(has("comm_lost", "grid-meter"));
  CHECK(io_lines->out[0]);
  // All clear: both open again.
  buses["RS485-1"]->fail_all.reset();
  io_lines->state.di = {false, false};
  leap(1500ms);
  CHECK_FALSE(has("digital_input", "DI1"));
  CHECK_FALSE(io_lines->out[0]);
  CHECK_FALSE(io_lines->out[1]);
}

TEST_CASE_METHOD(plant_fixture,
                 "a meter or inverter actor that dies is restarted alone, its line goes on",
                 "[actors][supervisor][restart]") {
  start(1, 20'000);
  leap(1000ms);
  auto& line = *buses["RS485-3"];  // inv-1 (unit 1) and inv-2 (unit 2)
  REQUIRE(line.requests_to(1) > 0);
  REQUIRE(line.requests_to(2) > 0);
  auto restarts = [this] {
    auto n = ask<uint64_t>(sup, caf::get_atom_v, actors::restart_atom_v);
    REQUIRE(n);
    return *n;
  };
  REQUIRE(ask<bool>(sup, actors::restart_atom_v, std::string{"inv-1"}));
  sched.run();
  auto inv1 = line.requests_to(1);
  auto inv2 = line.requests_to(2);
  auto grid = buses["RS485-1"]->log.size();
  leap(400ms);  // within its backoff (500 ms): it alone is silent
  CHECK(line.requests_to(1) == inv1);
  CHECK(buses["RS485-1"]->log.size() > grid);  // polled every 200 ms
  CHECK(restarts() == 1);                      // inv-2 and the line's bus were not
  leap(1500ms);
  CHECK(line.requests_to(1) > inv1);
  CHECK(line.requests_to(2) > inv2);
  // The line's bus actor: its devices stop with it and start again with it.
  REQUIRE(ask<bool>(sup, actors::restart_atom_v, std::string{"RS485-3"}));
  sched.run();
  inv1 = line.requests_to(1);
  inv2 = line.requests_to(2);
  leap(400ms);
  CHECK(line.requests_to(1) == inv1);
  CHECK(line.requests_to(2) == inv2);
  CHECK(restarts() == 4);  // the bus and both inverters
  leap(2000ms);
  CHECK(line.requests_to(1) > inv1);
  CHECK(line.requests_to(2) > inv2);
  // The grid meter went on through all of it.
  CHECK(state().grid_meter_available);
}

TEST_CASE_METHOD(plant_fixture, "the grid meter's requests go first on its line",
                 "[actors][supervisor][bus]") {
  auto bus = std::make_shared<test::fake_bus>();
  bus->set(1, 3, 100, {1});
  bus->set(1, 3, 200, {2});
  actors::bus_actor_args a;
  a.clk = &clk;
  a.bus = bus;
  auto line = sys.spawn(actors::bus_actor, a);
  auto read = [](uint16_t address) {
    modbus::request r;
    r.address = address;
    r.count = 1;
    return r;
  };
  // Three batches queued while the line is busy: the urgent one runs first,
  // the others in the order they came.
  auto first = self->request(line, caf::infinite, actors::bus_batch{"inv-1", {read(100)}});
  auto second = self->request(line, caf::infinite, actors::bus_batch{"inv-2", {read(100)}});
  auto urgent = self->request<caf::message_priority::high>(
    line, caf::infinite, actors::bus_batch{"grid-meter", {read(200)}});
  sched.run();
  REQUIRE(bus->log.size() == 3);
  CHECK(std::get<1>(bus->log[0]) == 200);
  CHECK(std::get<1>(bus->log[1]) == 100);
  std::vector<uint16_t> got;
  for (auto* h : {&urgent, &first, &second})
    h->receive(
      [&](actors::bus_reply& r) {
        REQUIRE(r.answers.size() == 1);
        REQUIRE(r.answers[0].ok());
        got.push_back(r.answers[0].data.at(0));
      },
      [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(got == std::vector<uint16_t>{2, 1, 1});
  // A request that needs the ones before it is not sent after a failure.
  modbus::request write;
  write.kind = modbus::request_kind::write_registers;
  write.address = 300;
  write.values = {7};
  write.needs_success = true;
  auto batch = ask<actors::bus_reply>(line, actors::bus_batch{"inv-1", {read(999), write}});
  REQUIRE(batch);
  REQUIRE(batch->answers.size() == 2);
  CHECK_FALSE(batch->answers[0].ok());  // no such register
  REQUIRE(batch->answers[1].error);
  CHECK_THAT(batch->answers[1].error->message, Catch::Contains("not sent"));
  CHECK(bus->log.size() == 4);  // the write never reached the line
  caf::anon_send_exit(line, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(plant_fixture, "a new config restarts a line's bus actor only when the line moved",
                 "[actors][supervisor][config]") {
  start(1, 20'000);
  leap(1000ms);
  auto apply = [this](plant::config cfg) {
    cfg.policies.export_limit.enabled = false;
    auto changes = ask<actors::device_changes>(
      sup, actors::apply_atom_v,
      std::shared_ptr<const plant::config>{std::make_shared<plant::config>(std::move(cfg))});
    REQUIRE(changes);
    return *changes;
  };
  // A sub-meter wired to RS485-2: it alone starts; the PV meter on the
  // same line keeps its actor.
  auto cfg = test::valid_config(1);
  cfg.rs485_lines[1].devices.push_back(
    {"sub-1", plant::device_role::sub_meter, "eastron-sdm630", 3, 0, ""});
  auto added = apply(cfg);
  CHECK(added.started == std::vector<std::string>{"sub-1"});
  CHECK(added.restarted.empty());
  CHECK(added.stopped.empty());
  leap(1500ms);
  CHECK(buses["RS485-2"]->requests_to(3) > 0);
  // The line's timeout changes: its bus actor and every device on it start again.
  cfg.rs485_lines[1].timeout_ms = 300;
  auto moved = apply(cfg);
  CHECK(moved.restarted == std::vector<std::string>{"RS485-2", "pv-meter", "sub-1"});
  CHECK(moved.started.empty());
  leap(1500ms);
  auto pv = buses["RS485-2"]->requests_to(2);
  auto sub = buses["RS485-2"]->requests_to(3);
  leap(1500ms);
  CHECK(buses["RS485-2"]->requests_to(2) > pv);
  CHECK(buses["RS485-2"]->requests_to(3) > sub);
  CHECK(state().grid_meter_available);  // RS485-1 never stopped
  // The sub-meter taken out: stopped, and nobody polls it.
  cfg.rs485_lines[1].devices.pop_back();
  auto removed = apply(cfg);
  CHECK(removed.stopped == std::vector<std::string>{"sub-1"});
  CHECK(removed.restarted.empty());
  leap(500ms);
  sub = buses["RS485-2"]->requests_to(3);
  leap(2000ms);
  CHECK(buses["RS485-2"]->requests_to(3) == sub);
}

TEST_CASE_METHOD(plant_fixture,
                 "the DRED port is an actor apart from the dry contacts: either restarts alone",
                 "[actors][supervisor][io]") {
  io_lines = std::make_shared<fake_lines>();
  io_lines->state.di = {true, false};
  io_lines->state.dred.to_com[0] = true;  // DRM1: no consumption (the battery may not charge)
  edit = [](plant::config& c) {
    c.rs485_lines.resize(1);
    c.io.demand_response = plant::demand_response_kind::dred;
    c.io.inputs = {{1, plant::input_function::generic_alarm, false, "Door open"}};
  };
  start(1, -30'000);  // exporting 30 kW: self-consumption would charge
  leap(1500ms);
  auto has = [this](const std::string& code) {
    for (const auto& c : state().conditions)
      if (c.code == code)
        return true;
    return false;
  };
  CHECK(state().binding == dispatch::rule::grid_order);
  CHECK(power_setpoint(*buses["C01"]) == 0);
  CHECK(has("digital_input"));
  auto restarts = [this] {
    auto n = ask<uint64_t>(sup, caf::get_atom_v, actors::restart_atom_v);
    REQUIRE(n);
    return *n;
  };
  // The DRED actor stops: the contacts are still read (the door closes).
  REQUIRE(ask<bool>(sup, actors::restart_atom_v, std::string{"demand-response"}));
  io_lines->state.di = {false, false};
  leap(400ms);
  CHECK_FALSE(has("digital_input"));
  CHECK(restarts() == 1);
  // Back after its backoff, and the order it reads is lifted.
  io_lines->state.dred.to_com[0] = false;
  leap(1500ms);
  CHECK(state().binding == dispatch::rule::self_consumption);
  CHECK(power_setpoint(*buses["C01"]) == -30'000);
  // The contacts' actor stops: the DRED port is still read.
  REQUIRE(ask<bool>(sup, actors::restart_atom_v, std::string{"io"}));
  io_lines->state.dred.to_com[0] = true;
  leap(400ms);
  CHECK(state().binding == dispatch::rule::grid_order);
  CHECK(restarts() == 2);
}
