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
