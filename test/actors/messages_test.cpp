// The plant's messages are data: each goes through CAF's binary serializer
// and comes back equal, field by field where a string form could hide a
// difference (optional times, enum lists, nested records).
#include "test/support/actor_fixture.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>

using namespace plantd;

namespace {

template <class T>
T round_trip(caf::actor_system& sys, T in) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(in));
  T out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(out));
  CHECK(caf::deep_to_string(out) == caf::deep_to_string(in));
  return out;
}

}  // namespace

TEST_CASE_METHOD(test::actor_fixture, "plant messages go through a serializer and back",
                 "[actors][messages]") {
  actors::plant_state s;
  s.time = time_point{std::chrono::milliseconds{1'764'547'200'123}};
  s.grid_w = {-1234.5, quality::measured};
  s.soc_percent = {55.5, quality::estimated};
  s.mode = plant::working_mode::time_of_use;
  s.binding = dispatch::rule::export_limit;
  s.explanation = "export limit binds";
  s.cabinets.push_back({"C01", true, "", 5000, 5200, 61, "SN1", "", false});
  s.cabinet_details.push_back({});
  s.cabinet_details.back().id = "C01";
  s.cabinet_details.back().fire_state = "normal";
  s.sub_meters.push_back({"sub-1", true, "", {1, quality::measured}, {2, quality::measured}, {}});
  s.latency_counts = {1, 2, 3};
  s.conditions.push_back({"comm_lost", "C02", alarms::severity::major, "no answer"});
  auto back = round_trip(sys, s);
  CHECK(back.time == s.time);
  CHECK(back.mode == plant::working_mode::time_of_use);
  CHECK(back.binding == dispatch::rule::export_limit);
  CHECK(back.grid_w.value == -1234.5);
  CHECK(back.soc_percent.quality == quality::estimated);
  REQUIRE(back.cabinets.size() == 1);
  CHECK(back.cabinets[0].serial == "SN1");
  CHECK(back.sub_meters.at(0).import_wh.value == 2);
  CHECK(back.latency_counts == s.latency_counts);
  REQUIRE(back.conditions.size() == 1);
  CHECK(back.conditions[0].level == alarms::severity::major);

  actors::cabinet_sample c;
  c.index = 3;
  c.ok = true;
  c.input.soc = 42;
  c.input.fire = true;
  c.flags.push_back({"bms_fault_word.2", "C04", alarms::severity::warning, "cell imbalance"});
  c.coolant_outlet_c = {31.5, quality::measured};
  auto cb = round_trip(sys, c);
  CHECK(cb.input.fire);
  CHECK(cb.input.soc == 42);
  CHECK(cb.coolant_outlet_c.value == 31.5);

  actors::meter_sample m;
  m.role = plant::device_role::pv_meter;
  m.read_at = std::chrono::steady_clock::now();
  auto mb = round_trip(sys, m);
  CHECK(mb.role == plant::device_role::pv_meter);
  CHECK(mb.read_at == m.read_at);

  actors::io_sample io;
  io.lines.dred.to_com[2] = true;
  io.lines.rcr[3] = true;
  auto iob = round_trip(sys, io);
  CHECK(iob.lines.dred.to_com[2]);
  CHECK(iob.lines.rcr[3]);

  actors::demand_response_sample dr;
  dr.ok = true;
  dr.dred.refgen_to_com = true;
  dr.rcr[1] = true;
  dr.error = "none";
  auto drb = round_trip(sys, dr);
  CHECK(drb.ok);
  CHECK(drb.dred.refgen_to_com);
  CHECK(drb.rcr[1]);
  CHECK(drb.error == "none");

  modbus::request write;
  write.kind = modbus::request_kind::write_registers;
  write.unit = 3;
  write.fc = 16;
  write.address = 0x3005;
  write.values = {1, 0xFFFF};
  write.needs_success = true;
  auto bb = round_trip(sys, actors::bus_batch{"inv-1", {modbus::request{}, write}});
  REQUIRE(bb.requests.size() == 2);
  CHECK(bb.device == "inv-1");
  CHECK(bb.requests[1].kind == modbus::request_kind::write_registers);
  CHECK(bb.requests[1].unit == 3);
  CHECK(bb.requests[1].address == 0x3005);
  CHECK(bb.requests[1].values == modbus::registers{1, 0xFFFF});
  CHECK(bb.requests[1].needs_success);
  CHECK_FALSE(bb.requests[0].needs_success);
  actors::bus_reply reply;
  reply.answers.push_back({{7, 8}, std::nullopt});
  reply.answers.push_back({{}, modbus::failure{modbus::fault::exception, 2, "no such register"}});
  reply.done_at = std::chrono::steady_clock::now();
  auto rb = round_trip(sys, reply);
  REQUIRE(rb.answers.size() == 2);
  CHECK(rb.answers[0].ok());
  CHECK(rb.answers[0].data == modbus::registers{7, 8});
  REQUIRE(rb.answers[1].error);
  CHECK(rb.answers[1].error->fault == modbus::fault::exception);
  CHECK(rb.answers[1].error->exception_code == 2);
  CHECK(rb.answers[1].error->message == "no such register");
  CHECK(rb.done_at == reply.done_at);

  alarms::alarm open{7, "fire", "C01", alarms::severity::critical, "fire", 1000, {}, 1500, "ana"};
  auto ab = round_trip(sys, std::vector<alarms::alarm>{open});
  REQUIRE(ab.size() == 1);
  CHECK_FALSE(ab[0].cleared_ms.has_value());
  CHECK(ab[0].acked_ms == std::optional<int64_t>(1500));
  CHECK(ab[0].level == alarms::severity::critical);

  plant::tou_slot slot;
  slot.days = {plant::weekday::saturday, plant::weekday::sunday};
  slot.start = "10:00";
  slot.end = "14:00";
  slot.action = plant::slot_action::charge;
  auto tb = round_trip(sys, std::vector<plant::tou_slot>{slot});
  REQUIRE(tb.size() == 1);
  CHECK(tb[0] == slot);

  alarms::filter f;
  f.state = alarms::filter::which::open;
  f.limit = 25;
  auto fb = round_trip(sys, f);
  CHECK(fb.state == alarms::filter::which::open);
  CHECK(fb.limit == 25);

  auto pb = round_trip(sys, std::vector<store::point>{{4, -5, 6.5, quality::manual}});
  CHECK(pb.at(0).q == quality::manual);
  CHECK(pb.at(0).t_ms == -5);
}

namespace {

// A configuration with every field away from its default, every optional
// there and every list filled.
plant::config full_config() {
  plant::config c;
  c.site = {"Works 3",
            "ACME",
            "1 Road",
            "CN",
            plant::grid_profile::gb_t_36547,
            "Asia/Shanghai",
            std::chrono::milliseconds{1'700'000'000'123},
            1.5e6,
            3e6};
  c.ems.primary = {"ems-1", "C01", {"C01", "C02"}, "10.0.0.2", 502};
  c.ems.ems_switch = plant::ems_unit{"sw-1", "", {"C13"}, "10.0.0.3", 1502};
  plant::cabinet cab;
  cab.id = "C01";
  cab.serial = "SN-1";
  cab.modbus.host = "10.0.0.11";
  cab.modbus.port = 1502;
  cab.modbus.unit_id = 3;
  cab.point_table = "cm2-cabinet-v2";
  cab.rated_power_w = 125e3;
  cab.rated_energy_wh = 261e3;
  c.cabinets.push_back(cab);
  plant::serial_line line;
  line.port = plant::serial_port::rs485_2;
  line.device = "/dev/ttyS2";
  line.baud = 19200;
  line.parity = plant::parity::even;
  line.data_bits = 7;
  line.stop_bits = 2;
  line.tcp_gateway = plant::tcp_endpoint{"10.0.0.20", 4196, 9};
  line.timeout_ms = 300;
  line.inter_frame_gap_ms = 7;
  line.devices.push_back({"inv-1", plant::device_role::pv_inverter, "saj-r5", 4, 50e3, "INV9"});
  c.rs485_lines.push_back(line);
  c.io.demand_response = plant::demand_response_kind::rcr;
  c.io.inputs.push_back({1, plant::input_function::fire_alarm, true, "smoke"});
  c.io.outputs.push_back({2, plant::output_function::alarm_lamp, "lamp"});
  c.io.gpio_chip = "gpiochip1";
  c.io.modbus_gateway = plant::tcp_endpoint{"10.0.0.30", 502, 2};
  c.policies.mode = plant::working_mode::time_of_use;
  c.policies.tou.push_back({{plant::weekday::monday},
                            "08:00",
                            "12:00",
                            plant::slot_action::discharge,
                            50e3,
                            20,
                            90,
                            true});
  c.policies.export_limit = {true, 10e3, 3000, 2, 750.0};
  c.policies.demand_limit = {true, 200e3, 150e3};
  c.policies.soc = {12, 93, 3};
  c.policies.fail_safe = {2500, 100, 4000, 6000, 12000};
  c.policies.distribution = {5000, 50};
  c.policies.thermal = {44, 56, 0.4};
  c.polling = {150, 900, 1100, 800, 250, 700};
  c.storage = {31, 900, 40, 4096};
  c.networks.net2 = {true, "10.0.1.2/24", "10.0.1.1", {"10.0.1.1", "9.9.9.9"}};
  c.networks.cellular = {true, "internet", "u", "p"};
  c.networks.bluetooth = {true, "plantd"};
  c.networks.apply_hook = "/usr/lib/plantd/apply-net";
  c.economics = {"CNY", {{{plant::weekday::friday}, "00:00", "08:00", 0.31}}, 0.39, 0.58, 0.31,
                 18.5};
  c.uplink = {true,
              "https://fleet.example/api/v1/write",
              "/etc/plantd/token",
              "site-3",
              "/etc/plantd/pw",
              "/etc/plantd/ca.pem",
              5000,
              1000,
              500,
              12};
  return c;
}

template <class T>
std::vector<char> bytes_of(caf::actor_system& sys, T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(x));
  return buf;
}

}  // namespace

TEST_CASE_METHOD(test::actor_fixture,
                 "the config and model snapshots go through a serializer and back as new ones",
                 "[actors][messages]") {
  auto cfg = std::make_shared<const plant::config>(full_config());
  REQUIRE_FALSE(*cfg == plant::config{});
  actors::config_snapshot snap{cfg, 42, time_point{std::chrono::milliseconds{1'700'000'000'000}}};
  auto back = round_trip(sys, snap);
  REQUIRE(back.config);
  CHECK(back.config != cfg);  // a snapshot of its own
  CHECK(*back.config == *cfg);
  CHECK(back.version == 42);
  CHECK(back.applied_at == snap.applied_at);

  actors::apply_result applied{snap, back, {{"C02"}, {"inv-1"}, {}}, {"site.time_zone"}};
  applied.before.config = nullptr;
  auto ab = round_trip(sys, applied);
  CHECK(ab.before.config == nullptr);
  REQUIRE(ab.after.config);
  CHECK(*ab.after.config == *cfg);
  CHECK(ab.devices.restarted == std::vector<std::string>{"inv-1"});
  CHECK(ab.at_restart == applied.at_restart);

  // Each optional left out comes back left out.
  auto bare = std::make_shared<const plant::config>();
  CHECK(*round_trip(sys, bare) == plant::config{});

  // The energy model: its records come back, indexed.
  auto m = std::make_shared<energy::model>(energy::seeded_model());
  energy::node plant_node;
  plant_node.id = plant_node.name = "plant";
  plant_node.kind = energy::node_kind::plant;
  plant_node.metering_level = 1;
  REQUIRE(m->put_node(plant_node));
  energy::node shop = plant_node;
  shop.id = shop.name = "w1";
  shop.kind = energy::node_kind::workshop;
  shop.parent = "plant";
  shop.metering_level = 2;
  REQUIRE(m->put_node(shop));
  energy::meter mt;
  mt.id = mt.name = "m1";
  mt.energy_type = "electricity";
  mt.node = "w1";
  mt.metering_level = 2;
  mt.details.edit().ct_ratio = 40;
  REQUIRE(m->put_meter(mt));
  energy::indicator v;
  v.id = v.name = "m1.v";
  v.template_id = "active_energy";
  v.owner = "m1";
  v.source = energy::source_kind::meter;
  REQUIRE(m->put_indicator(v));
  energy::indicator e = v;
  e.id = e.name = "plant.e";
  e.template_id = "electricity_use";
  e.owner = "plant";
  e.source = energy::source_kind::formula;
  e.formula = "#m1.v * 2";
  REQUIRE(m->put_indicator(e));
  std::shared_ptr<const energy::model> shared = m;
  actors::model_view view{shared, 9};
  auto vb = round_trip(sys, view);
  REQUIRE(vb.model);
  CHECK(vb.model != shared);
  CHECK(vb.version == 9);
  CHECK(vb.model->check().empty());
  CHECK(vb.model->energy_types.size() == shared->energy_types.size());
  CHECK(vb.model->templates.size() == shared->templates.size());
  CHECK(vb.model->meters.at("m1").details->ct_ratio == 40);
  CHECK(vb.model->path_of("m1") == "plant/w1/m1");
  CHECK(vb.model->root() == "plant");
  CHECK(vb.model->formula_of("plant.e") != nullptr);
  // Written again, the copy is the same bytes as the original.
  CHECK(bytes_of(sys, vb.model) == bytes_of(sys, shared));
  auto rb = round_trip(sys, actors::model_replace{shared, "user:ana"});
  CHECK(rb.who == "user:ana");
  REQUIRE(rb.model);
  CHECK(rb.model->indicators.size() == shared->indicators.size());

  // A unit's slice, with its time zone by name.
  auto slice = std::make_shared<actors::unit_slice>();
  slice->node = "w1";
  REQUIRE(absl::LoadTimeZone("Europe/Berlin", &slice->tz));
  slice->leaves = {{"w1.manual", "manual"}, {"m1.v", "meter"}};
  slice->meters["m1"] = {999999, 40, {{"m1.v", 1.0}, {"m1.mwh", 0.001}}};
  auto sb = round_trip(sys, std::shared_ptr<const actors::unit_slice>{slice});
  REQUIRE(sb);
  CHECK(sb->tz.name() == "Europe/Berlin");
  CHECK(sb->leaves == slice->leaves);
  CHECK(sb->meters.at("m1").multiplier == 40);
  CHECK(sb->meters.at("m1").indicators == slice->meters.at("m1").indicators);
}
