// Config files -> message -> model and back; bad files get clear problems.
#include <algorithm>
#include <catch2/catch.hpp>

#include <fstream>
#include <google/protobuf/util/message_differencer.h>

#include "services/config_codec.hpp"

using namespace plantd;
using namespace plantd::services;

namespace {

std::string example(const std::string& name) {
  return std::string{PLANTD_SOURCE_DIR} + "/deploy/examples/" + name + ".json";
}

[[maybe_unused]] std::string read_text(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::string dump(const problems& found) {
  std::string out;
  for (const auto& p : found)
    out += "  " + p.path + ": " + p.message + "\n";
  return out;
}

bool has(const problems& found, const std::string& path, const std::string& text) {
  return std::any_of(found.begin(), found.end(), [&](const problem& p) {
    return p.path == path && p.message.find(text) != std::string::npos;
  });
}

// A small valid config as text, with `extra` spliced into the site object.
std::string minimal(const std::string& site_extra = "", const std::string& top_extra = "") {
  return R"({
  "site": {"name": "Mini", "time_zone": "Europe/Berlin")"
         + site_extra + R"(},
  "ems": {"primary": {"id": "ems-1", "cabinet_ids": ["C01"]}},
  "cabinets": [{"id": "C01", "modbus": {"host": "10.0.0.2"},
                "rated_power_w": 50000, "rated_energy_wh": 100000}],
  "rs485_lines": [{"port": "SERIAL_PORT_RS485_1", "device": "/dev/ttyS1",
                   "devices": [{"id": "grid", "role": "DEVICE_ROLE_GRID_METER",
                                "point_table": "chint-dtsu666", "unit_id": 1}]}])"
         + top_extra + "\n}";
}

}  // namespace

TEST_CASE("the shipped example configs load and validate", "[codec]") {
  for (auto name : {"single-cabinet", "five-cabinets", "twenty-cabinets"}) {
    CAPTURE(name);
    auto loaded = load_config_file(example(name));
    INFO(dump(loaded.problems));
    CHECK(loaded.problems.empty());
  }
  auto twenty = load_config_file(example("twenty-cabinets"));
  REQUIRE(twenty.model.cabinets.size() == 20);
  REQUIRE(twenty.model.ems.ems_switch);
  CHECK(twenty.model.ems.ems_switch->cabinet_id == "C11");
  CHECK(twenty.model.ems.ems_switch->cabinet_ids.front() == "C11");
  CHECK(twenty.model.ems.ems_switch->cabinet_ids.back() == "C20");
}

TEST_CASE("defaults fill the fields a file leaves out", "[codec]") {
  auto loaded = load_config_text(minimal());
  INFO(dump(loaded.problems));
  REQUIRE(loaded.problems.empty());
  const auto& m = loaded.model;
  CHECK(m.cabinets[0].modbus.port == 502);
  CHECK(m.cabinets[0].modbus.unit_id == 1);
  CHECK(m.cabinets[0].point_table == "cm2-cabinet");
  CHECK(m.rs485_lines[0].baud == 9600);
  CHECK(m.rs485_lines[0].parity == plant::parity::none);
  CHECK(m.rs485_lines[0].data_bits == 8);
  CHECK(m.rs485_lines[0].stop_bits == 1);
  CHECK(m.polling.grid_meter_ms == 200);
  CHECK(m.policies.soc.min_percent == 10);
  CHECK(m.policies.soc.max_percent == 95);
  CHECK(m.policies.mode == plant::working_mode::self_consumption);
  CHECK(m.storage.raw_retention_days == 30);
  CHECK(m.storage.energy_hourly_days == 35);
  CHECK(m.policies.thermal == plant::thermal{45, 55, 0.5});
  CHECK_FALSE(m.policies.export_limit.trip_tolerance_w.has_value());
}

TEST_CASE("derating thresholds and the trip tolerance from the file, and refused out of range",
          "[codec]") {
  auto loaded = load_config_text(minimal(
    "",
    R"(, "policies": {"thermal": {"derate_from_c": 38, "derate_to_c": 48, "cooling_fault_factor": 0},
                          "export_limit": {"trip_tolerance_w": 0}})"));
  INFO(dump(loaded.problems));
  REQUIRE(loaded.problems.empty());
  CHECK(loaded.model.policies.thermal == plant::thermal{38, 48, 0});
  REQUIRE(loaded.model.policies.export_limit.trip_tolerance_w.has_value());
  CHECK(*loaded.model.policies.export_limit.trip_tolerance_w == 0);  // 0 kept, not the default
  auto back = to_proto(loaded.model);
  CHECK(back.policies().thermal().derate_from_c().value() == 38);
  CHECK(back.policies().export_limit().trip_tolerance_w().value() == 0);

  auto bad = load_config_text(minimal(
    "",
    R"(, "policies": {"thermal": {"derate_from_c": 60, "derate_to_c": 50, "cooling_fault_factor": 2},
                          "export_limit": {"trip_tolerance_w": -1}})"));
  INFO(dump(bad.problems));
  auto has = [&](const std::string& path) {
    return std::any_of(bad.problems.begin(), bad.problems.end(),
                       [&](const auto& p) { return p.path == path; });
  };
  CHECK(has("policies.thermal"));
  CHECK(has("policies.thermal.cooling_fault_factor"));
  CHECK(has("policies.export_limit.trip_tolerance_w"));
}

TEST_CASE("an explicit SOC bound of 0 is kept, not replaced by the default", "[codec]") {
  auto loaded = load_config_text(
    minimal("", R"(, "policies": {"soc": {"min_percent": 0, "max_percent": 100}})"));
  INFO(dump(loaded.problems));
  REQUIRE(loaded.problems.empty());
  CHECK(loaded.model.policies.soc.min_percent == 0);
  CHECK(loaded.model.policies.soc.max_percent == 100);
  CHECK(loaded.model.policies.soc.hysteresis_percent == 2);
}

TEST_CASE("message -> model -> message keeps every field of the examples", "[codec]") {
  namespace pb = google::protobuf;
  for (auto name : {"single-cabinet", "five-cabinets", "twenty-cabinets"}) {
    CAPTURE(name);
    auto loaded = load_config_file(example(name));
    REQUIRE(loaded.problems.empty());
    problems found;
    auto back = to_proto(to_model(loaded.message, found));
    CHECK(found.empty());
    // Every field the file sets comes back unchanged; defaults are added.
    std::string diff;
    pb::util::MessageDifferencer differ;
    differ.set_scope(pb::util::MessageDifferencer::PARTIAL);
    differ.ReportDifferencesToString(&diff);
    CHECK(differ.Compare(loaded.message, back));
    INFO(diff);
    CHECK(diff.empty());
    // With the defaults spelled out, the round trip is exact.
    problems again_found;
    CHECK(pb::util::MessageDifferencer::Equals(back, to_proto(to_model(back, again_found))));
    // JSON text round trip too: what `plantctl config get --json` prints is
    // a config file plantd accepts.
    auto again = load_config_text(to_json(back));
    INFO(dump(again.problems));
    CHECK(again.problems.empty());
    CHECK(pb::util::MessageDifferencer::Equals(again.message, back));
  }
}

TEST_CASE("malformed JSON names the line and column", "[codec][bad-input]") {
  auto loaded = load_config_text("{\n  \"site\": {\"name\": \"x\"}\n  \"cabinets\": []\n}");
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0].message, Catch::Contains("malformed JSON at line 3, column 3"));
}

TEST_CASE("an unknown field is named with its path", "[codec][bad-input]") {
  auto loaded = load_config_text(minimal(R"(, "time_zon": "UTC")"));
  INFO(dump(loaded.problems));
  CHECK(has(loaded.problems, "site.time_zon", "unknown field \"time_zon\""));
}

TEST_CASE("a wrong type is named with its path", "[codec][bad-input]") {
  auto text = minimal();
  auto at = text.find("\"rated_power_w\": 50000");
  REQUIRE(at != std::string::npos);
  text.replace(at, 22, "\"rated_power_w\": \"fifty kW\"");
  auto loaded = load_config_text(text);
  INFO(dump(loaded.problems));
  CHECK(has(loaded.problems, "cabinets[0].rated_power_w", "expected a number"));
}

TEST_CASE("an unknown enum name is refused", "[codec][bad-input]") {
  auto loaded = load_config_text(minimal(R"(, "grid_profile": "GRID_PROFILE_MARS")"));
  INFO(dump(loaded.problems));
  CHECK(has(loaded.problems, "site.grid_profile", "GRID_PROFILE_MARS"));
}

TEST_CASE("an unknown enum number is refused", "[codec][bad-input]") {
  auto loaded = load_config_text(minimal(R"(, "grid_profile": 42)"));
  INFO(dump(loaded.problems));
  CHECK(has(loaded.problems, "site.grid_profile", "unknown enum value 42"));
}

TEST_CASE("21 cabinets in a file are refused by count", "[codec][bad-input]") {
  auto loaded = load_config_file(example("twenty-cabinets"));
  REQUIRE(loaded.problems.empty());
  auto* extra = loaded.message.add_cabinets();
  *extra = loaded.message.cabinets(19);
  extra->set_id("C21");
  extra->set_serial("SN-21");
  extra->mutable_modbus()->set_port(15021);
  loaded.message.mutable_ems()->mutable_ems_switch()->add_cabinet_ids("C21");
  auto again = load_config_text(to_json(loaded.message));
  INFO(dump(again.problems));
  CHECK(has(again.problems, "cabinets", "21 cabinets given; a plant has 1 to 20"));
}

TEST_CASE("12 cabinets without an EMS-Switch unit are refused", "[codec][bad-input]") {
  auto loaded = load_config_file(example("twenty-cabinets"));
  REQUIRE(loaded.problems.empty());
  auto& msg = loaded.message;
  while (msg.cabinets_size() > 12)
    msg.mutable_cabinets()->RemoveLast();
  msg.mutable_ems()->clear_ems_switch();
  msg.mutable_ems()->mutable_primary()->add_cabinet_ids("C11");
  msg.mutable_ems()->mutable_primary()->add_cabinet_ids("C12");
  auto again = check_config(msg);
  INFO(dump(again.problems));
  CHECK(has(again.problems, "ems.ems_switch", "12 cabinets need an EMS-Switch unit"));
}

TEST_CASE("a missing file is a problem, not a crash", "[codec][bad-input]") {
  auto loaded = load_config_file("/nonexistent/plant.json");
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0].message, Catch::Contains("cannot read /nonexistent/plant.json"));
}

namespace {

// Sets every field of `msg`, recursively, to a value that is not its default:
// strings "s<field number>", numbers = field number + 0.5 or + 1, enums their
// last value, one element in each repeated field.
void fill_every_field(google::protobuf::Message& msg, int depth = 0) {
  using FD = google::protobuf::FieldDescriptor;
  const auto* desc = msg.GetDescriptor();
  const auto* refl = msg.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    int n = f->number();
    bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
        rep ? refl->AddString(&msg, f, "s" + std::to_string(n))
            : refl->SetString(&msg, f, "s" + std::to_string(n));
        break;
      case FD::CPPTYPE_DOUBLE:
        rep ? refl->AddDouble(&msg, f, n + 0.5) : refl->SetDouble(&msg, f, n + 0.5);
        break;
      case FD::CPPTYPE_UINT32:
        rep ? refl->AddUInt32(&msg, f, n + 1) : refl->SetUInt32(&msg, f, n + 1);
        break;
      case FD::CPPTYPE_INT64:
        rep ? refl->AddInt64(&msg, f, n + 1) : refl->SetInt64(&msg, f, n + 1);
        break;
      case FD::CPPTYPE_INT32:
        rep ? refl->AddInt32(&msg, f, n + 1) : refl->SetInt32(&msg, f, n + 1);
        break;
      case FD::CPPTYPE_BOOL:
        rep ? refl->AddBool(&msg, f, true) : refl->SetBool(&msg, f, true);
        break;
      case FD::CPPTYPE_ENUM: {
        const auto* last = f->enum_type()->value(f->enum_type()->value_count() - 1);
        rep ? refl->AddEnum(&msg, f, last) : refl->SetEnum(&msg, f, last);
        break;
      }
      case FD::CPPTYPE_MESSAGE:
        if (depth < 8)
          fill_every_field(rep ? *refl->AddMessage(&msg, f) : *refl->MutableMessage(&msg, f),
                           depth + 1);
        break;
      default: FAIL("field type not covered by the filler: " << f->full_name());
    }
  }
}

}  // namespace

TEST_CASE("no field of PlantConfig is lost between message and model", "[codec]") {
  namespace pb = google::protobuf;
  v1::PlantConfig full;
  fill_every_field(full);
  // Timestamps must be valid to convert.
  full.mutable_site()->mutable_created_at()->set_seconds(1'700'000'000);
  full.mutable_site()->mutable_created_at()->set_nanos(0);
  // Output only (GetConfig's answer for a password it does not show).
  full.mutable_networks()->mutable_cellular()->clear_password_set();
  problems found;
  auto back = to_proto(to_model(full, found));
  INFO(dump(found));
  CHECK(found.empty());
  std::string diff;
  pb::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  CHECK(differ.Compare(full, back));
  INFO(diff);
  CHECK(diff.empty());
}

TEST_CASE("a config text or message over 1 MB is refused before it is parsed",
          "[codec][bad-input]") {
  std::string huge = "{\"site\": {\"name\": \"" + std::string(2u << 20, 'x') + "\"}}";
  auto loaded = load_config_text(huge);
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0].message, Catch::Contains("at most 1048576 bytes"));
  v1::PlantConfig msg;
  msg.mutable_site()->set_name(std::string(2u << 20, 'x'));
  auto checked = check_config(msg);
  REQUIRE(checked.problems.size() == 1);
  CHECK_THAT(checked.problems[0].message, Catch::Contains("a plant config is at most"));
}

TEST_CASE("JSON positions stay right when asked for out of order (objects after members)",
          "[codec][json]") {
  // A syntax error after a large array is still placed on its line.
  std::string text = "{\n\"cabinets\": [";
  for (int i = 0; i < 1000; ++i)
    text += std::string(i ? "," : "") + "\n{\"id\": \"C" + std::to_string(i) + "\"}";
  text += "\n],\n\"site\": {\"name\": \"x\" \"y\"}\n}";
  auto loaded = load_config_text(text);
  REQUIRE_FALSE(loaded.problems.empty());
  CHECK_THAT(loaded.problems[0].path + loaded.problems[0].message, Catch::Contains("1004"));
}

TEST_CASE("a 60 KB field name or value is refused with a problem, not a stack overflow",
          "[codec][bad-input]") {
  // std::regex over protobuf's error text recursed once per character.
  auto unknown = load_config_text("{\"" + std::string(60'000, 'f') + "\": 1}");
  REQUIRE_FALSE(unknown.problems.empty());
  CHECK(unknown.problems[0].message.size() < 1100);
  auto bad =
    load_config_text("{\"site\": {\"rated_power_w\": \"" + std::string(60'000, '9') + "x\"}}");
  REQUIRE_FALSE(bad.problems.empty());
}
