#include <catch2/catch.hpp>

#include <cmath>

#include "drivers/pointtables/registry.hpp"
#include "test/support/plant_configs.hpp"

using namespace plantd;
using namespace plantd::pointtables;

namespace {

std::string dump(const problems& found) {
  std::string out;
  for (const auto& p : found)
    out += "  " + p.path + ": " + p.message + "\n";
  return out;
}

problems problems_of(const std::string& text) {
  auto parsed = parse_table(text);
  if (auto* p = std::get_if<problems>(&parsed))
    return *p;
  return {};
}

bool has(const problems& found, const std::string& path, const std::string& text) {
  return std::any_of(found.begin(), found.end(), [&](const problem& p) {
    return p.path == path && p.message.find(text) != std::string::npos;
  });
}

std::string table_with(const std::string& points, const std::string& extra = "") {
  return R"({"name": "t", "source": "test")" + extra + R"(, "points": [)" + points + "]}";
}

plant::config test_config_with_grid_meter_table(const std::string& table) {
  auto c = test::valid_config();
  c.rs485_lines[0].devices[0].point_table = table;
  return c;
}

}  // namespace

TEST_CASE("every shipped point table loads", "[pointtables]") {
  auto reg = registry::builtin();
  for (auto name :
       {"chint-dtsu666", "eastron-sdm630", "saj-r5-inverter", "cm2-cabinet", "plantd-io"}) {
    CAPTURE(name);
    const auto* t = reg.find(name);
    REQUIRE(t != nullptr);
    CHECK_FALSE(t->source.empty());
    CHECK_FALSE(t->points.empty());
  }
}

TEST_CASE("each shipped table is read with the fewest requests", "[pointtables][plan]") {
  // Hand-counted from the maps: blocks further apart than the table's max_gap,
  // or longer than its max_registers, need their own request.
  auto reg = registry::builtin();
  struct row {
    const char* table;
    std::size_t requests;
  };
  auto r = GENERATE(values<row>({
    {"chint-dtsu666", 3},    // 0x0006-0x0007, 0x2000-0x2045, 0x401E-0x4029
    {"eastron-sdm630", 2},   // 0x0000-0x0023, 0x0034-0x004B (60 registers at most)
    {"saj-r5-inverter", 2},  // 0x0100-0x0132, 0x8F01; not the write-only limit nor the serial
    {"cm2-cabinet", 4},      // PCS, BMS, cooling, fire blocks
    {"plantd-io", 2},        // discrete inputs, coils
  }));
  CAPTURE(r.table);
  const auto* t = reg.find(r.table);
  REQUIRE(t);
  auto plan = plan_reads(*t);
  CHECK(plan.size() == r.requests);
  std::size_t covered = 0;
  for (const auto& req : plan) {
    CHECK(req.count <= (req.fc <= 2 ? 2000 : t->max_registers));
    for (auto i : req.points) {
      CHECK(t->points[i].address >= req.address);
      CHECK(t->points[i].end() <= req.address + req.count);
    }
    covered += req.points.size();
  }
  // Text (the serial number) is read once a connection, not polled.
  auto readable = std::count_if(t->points.begin(), t->points.end(), [](const point& p) {
    return p.access != access::wo && p.type != value_type::text;
  });
  CHECK(covered == static_cast<std::size_t>(readable));
}

TEST_CASE("planning respects max_gap and max_registers", "[pointtables][plan]") {
  auto parsed = parse_table(table_with(
    R"({"name": "a", "fc": 3, "address": 0, "type": "u16"},
       {"name": "b", "fc": 3, "address": 10, "type": "u32"},
       {"name": "c", "fc": 3, "address": 30, "type": "u16"},
       {"name": "d", "fc": 4, "address": 0, "type": "u16"})",
    R"(, "max_gap": 8, "max_registers": 20)"));
  REQUIRE(std::holds_alternative<table>(parsed));
  auto plan = plan_reads(std::get<table>(parsed));
  // a..b: gap 9 > 8 -> split; b..c fits the gap (18) but 10..30 = 21 > 20 -> split.
  REQUIRE(plan.size() == 4);
  CHECK(plan[0].address == 0);
  CHECK(plan[0].count == 1);
  CHECK(plan[1].address == 10);
  CHECK(plan[1].count == 2);
  CHECK(plan[2].address == 30);
  CHECK(plan[3].fc == 4);
}

TEST_CASE("a malformed point table is rejected naming the point and the reason",
          "[pointtables][bad-input]") {
  struct row {
    const char* what;
    std::string text;
    const char* path;
    const char* says;
  };
  auto r = GENERATE(values<row>({
    {"unknown field",
     table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "u16", "sclae": 2})"),
     "points[0].sclae", "unknown field \"sclae\""},
    {"bad type", table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "f64"})"),
     "points[0].type", "unknown type \"f64\""},
    {"overlap", table_with(R"({"name": "a", "fc": 3, "address": 10, "type": "u32"},
                              {"name": "b", "fc": 3, "address": 11, "type": "u16"})"),
     "points[1].address", "\"b\" (fc 3, 0x000B..0x000B) overlaps \"a\""},
    {"bool on registers", table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "bool"})"),
     "points[0].type", "function code 1 or 2"},
    {"bits as u16", table_with(R"({"name": "a", "fc": 1, "address": 0, "type": "u16"})"),
     "points[0].type", "must be bool"},
    {"write to input registers",
     table_with(R"({"name": "a", "fc": 4, "address": 0, "type": "u16", "access": "rw"})"),
     "points[0].access", "cannot be written"},
    {"bad function code", table_with(R"({"name": "a", "fc": 7, "address": 0, "type": "u16"})"),
     "points[0].fc", "must be 1, 2, 3 or 4"},
    {"bad address", table_with(R"({"name": "a", "fc": 3, "address": "0x1FFFF", "type": "u16"})"),
     "points[0].address", "0..65535"},
    {"an address no integer holds (found by fuzzing: undefined behaviour)",
     table_with(R"({"name": "a", "fc": 3, "address": 1e66, "type": "u16"})"), "points[0].address",
     "0..65535"},
    {"a two-register point at the last address (found by fuzzing)",
     table_with(R"({"name": "a", "fc": 3, "address": 65535, "type": "u32"})"), "points[0].address",
     "must start at 0..65534"},
    {"zero scale", table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "u16", "scale": 0})"),
     "points[0].scale", "other than 0"},
    {"a scale that turns an f32 into infinity",
     table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "f32", "scale": 1e300})"),
     "points[0].scale", "1e-6 to 1e6"},
    {"duplicate name", table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "u16"},
                                     {"name": "a", "fc": 3, "address": 1, "type": "u16"})"),
     "points[1].name", "duplicate point name \"a\""},
    {"missing source",
     R"({"name": "t", "points": [{"name": "a", "fc": 3, "address": 0, "type": "u16"}]})", "source",
     "is required"},
    {"malformed JSON", R"({"name": "t", "points": [})", "", "malformed JSON at line 1, column 26"},
    {"FC6 on two registers",
     table_with(
       R"({"name": "a", "fc": 3, "address": 0, "type": "u32", "access": "rw", "write_fc": 6})"),
     "points[0].write_fc", "one register"},
    {"a severity without bits",
     table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "u16", "severity": "major"})"),
     "points[0].severity", "only points with bit labels"},
    {"an unknown severity",
     table_with(
       R"({"name": "a", "fc": 3, "address": 0, "type": "u16", "bits": {"0": "x"}, "severity": "fatal"})"),
     "points[0].severity", "\"info\", \"warning\", \"major\" or \"critical\""},
    {"a string without its length",
     table_with(R"({"name": "sn", "fc": 3, "address": 0, "type": "string"})"),
     "points[0].registers", "is required for a string point"},
    {"a length on a number",
     table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "u16", "registers": 2})"),
     "points[0].registers", "only string points"},
    {"a string too long",
     table_with(R"({"name": "sn", "fc": 3, "address": 0, "type": "string", "registers": 65})"),
     "points[0].registers", "1..64"},
    {"a string past the last register",
     table_with(R"({"name": "sn", "fc": 3, "address": 65530, "type": "string", "registers": 10})"),
     "points[0].address", "takes 10 registers: it must start at 0..65526"},
    {"a writable string",
     table_with(
       R"({"name": "sn", "fc": 3, "address": 0, "type": "string", "registers": 4, "access": "rw"})"),
     "points[0].type", "read-only"},
    {"a string overlapping a number",
     table_with(R"({"name": "sn", "fc": 3, "address": 0, "type": "string", "registers": 4},
                                                    {"name": "a", "fc": 3, "address": 3, "type": "u16"})"),
     "points[1].address", "overlaps \"sn\""},
  }));
  CAPTURE(r.what);
  auto found = problems_of(r.text);
  INFO(dump(found));
  CHECK(has(found, r.path, r.says));
}

TEST_CASE("a registry names the file of a table that does not load", "[pointtables][bad-input]") {
  registry reg;
  auto found =
    reg.add("my-meter.json", table_with(R"({"name": "a", "fc": 3, "address": 0, "type": "u8"})"));
  INFO(dump(found));
  CHECK(has(found, "my-meter.json: points[0].type", "unknown type \"u8\""));
  CHECK(reg.find("t") == nullptr);
}

TEST_CASE("values decode with their type, word order and scale", "[pointtables][decode]") {
  point p;
  p.scale = 0.1;
  SECTION("s16 negative") {
    p.type = value_type::s16;
    uint16_t r[] = {0xFFF6};
    CHECK(decode(p, r).value == Approx(-1.0));
  }
  SECTION("u32 big and little word order") {
    p.type = value_type::u32;
    p.scale = 1;
    uint16_t r[] = {0x0001, 0x0002};
    CHECK(decode(p, r).value == 65538);
    p.word_order = word_order::little;
    CHECK(decode(p, r).value == 131073);
  }
  SECTION("s32") {
    p.type = value_type::s32;
    p.scale = 1;
    uint16_t r[] = {0xFFFF, 0xFC18};
    CHECK(decode(p, r).value == -1000);
  }
  SECTION("f32 and its NaN") {
    p.type = value_type::f32;
    uint16_t r[] = {0x4510, 0x5000};  // 2309.0
    auto v = decode(p, r);
    CHECK(v.quality == quality::measured);
    CHECK(v.value == Approx(230.9));
    uint16_t nan[] = {0x7FC0, 0x0000};
    CHECK(decode(p, nan).quality == quality::invalid);
  }
  SECTION("a finite f32 that the scale takes to infinity is invalid, not measured") {
    p.type = value_type::f32;
    p.scale = 1e300;                    // only a table built in code; files are refused above 1e6
    uint16_t big[] = {0x7F7F, 0xFFFF};  // FLT_MAX
    auto v = decode(p, big);
    CHECK(v.quality == quality::invalid);
    CHECK(std::isfinite(v.value));
  }
  SECTION("encode is the inverse of decode") {
    for (auto t :
         {value_type::u16, value_type::s16, value_type::u32, value_type::s32, value_type::f32}) {
      for (auto order : {word_order::big, word_order::little}) {
        p.type = t;
        p.word_order = order;
        double x = (t == value_type::u16 || t == value_type::u32) ? 1234.5 : -1234.5;
        auto regs = encode(p, x);
        CHECK(regs.size() == width(t));
        CHECK(decode(p, regs.data()).value == Approx(x).margin(0.05));
      }
    }
  }
  SECTION("encode clamps to the type's range") {
    p.type = value_type::u16;
    p.scale = 1;
    CHECK(encode(p, 70000)[0] == 65535);
    CHECK(encode(p, -5)[0] == 0);
  }
}

TEST_CASE("a string point reads two ASCII characters a register, and is never polled",
          "[pointtables][decode]") {
  auto parsed = parse_table(table_with(
    R"({"name": "power", "fc": 3, "address": 0, "type": "u16"},
       {"name": "serial_number", "fc": 3, "address": 1, "type": "string", "registers": 5})"));
  REQUIRE(std::holds_alternative<table>(parsed));
  const auto& t = std::get<table>(parsed);
  const auto& sn = t.points[1];
  CHECK(sn.width() == 5);
  CHECK(sn.end() == 6);
  // Polling reads the number alone: text is read on demand.
  auto plan = plan_reads(t);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].count == 1);

  // High byte first, cut at the first NUL, trailing spaces dropped.
  std::vector<uint16_t> regs{0x4142, 0x2D31, 0x3233, 0x0000, 0x5858};  // "AB-123\0\0XX"
  CHECK(decode_text(sn, regs.data()) == "AB-123");
  regs = {0x4142, 0x4344, 0x4546, 0x4748, 0x4920};  // "ABCDEFGHI "
  CHECK(decode_text(sn, regs.data()) == "ABCDEFGHI");
  regs = {0x4142, 0x01FF, 0, 0, 0};  // not text
  CHECK_FALSE(decode_text(sn, regs.data()).has_value());
  // Round trip; an odd length leaves the last low byte NUL; too long is cut.
  for (std::string text : {"", "X", "R5T2306A", "ABCDEFGHIJ"})
    CHECK(decode_text(sn, encode_text(sn, text).data()) == text);
  CHECK(decode_text(sn, encode_text(sn, "ABCDEFGHIJKLMN").data()) == "ABCDEFGHIJ");
  CHECK(encode_text(sn, "X") == std::vector<uint16_t>{0x5800, 0, 0, 0, 0});
}

TEST_CASE("the alarm a set bit raises has the severity its table gives", "[pointtables]") {
  auto reg = registry::builtin();
  const auto* cab = reg.find("cm2-cabinet");
  REQUIRE(cab);
  auto sev = [&](const char* name) { return cab->points[*cab->index_of(name)].severity; };
  CHECK(sev("fire_alarm_word") == alarms::severity::critical);
  CHECK(sev("pcs_fault_word") == alarms::severity::major);
  CHECK(sev("bms_fault_word") == alarms::severity::major);
  CHECK(sev("cooling_fault_word") == alarms::severity::major);
  CHECK(sev("bms_alarm_word") == alarms::severity::warning);
  // Unsaid: a warning.
  auto parsed = parse_table(
    table_with(R"({"name": "w", "fc": 3, "address": 0, "type": "u16", "bits": {"0": "x"}})"));
  REQUIRE(std::holds_alternative<table>(parsed));
  CHECK(std::get<table>(parsed).points[0].severity == alarms::severity::warning);
}

TEST_CASE("enum and bit labels", "[pointtables]") {
  auto reg = registry::builtin();
  const auto* cab = reg.find("cm2-cabinet");
  REQUIRE(cab);
  const auto& state = cab->points[*cab->index_of("pcs_state")];
  CHECK(label(state, 2) == "running");
  CHECK(label(state, 9) == "unknown (9)");
  const auto& fire = cab->points[*cab->index_of("fire_alarm_word")];
  CHECK(label(fire, 0b101) == "smoke detected|combustible gas detected");
}

TEST_CASE("a point table is checked against the role its device serves", "[pointtables][role]") {
  auto reg = registry::builtin();
  SECTION("the shipped tables serve their roles") {
    CHECK(role_problems(*reg.find("chint-dtsu666"), "meter").empty());
    CHECK(role_problems(*reg.find("eastron-sdm630"), "meter").empty());
    CHECK(role_problems(*reg.find("saj-r5-inverter"), "inverter").empty());
    CHECK(role_problems(*reg.find("cm2-cabinet"), "cabinet").empty());
  }
  SECTION("a grid meter's table without active power is refused") {
    auto found = reg.add(
      "no-power.json",
      table_with(R"({"name": "voltage_l1", "fc": 3, "address": 0, "type": "u16", "unit": "V"})"));
    REQUIRE(found.empty());
    auto cfg = test_config_with_grid_meter_table("t");
    auto problems = reg.check(cfg);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].path == "rs485_lines[0].devices[0].point_table");
    CHECK_THAT(problems[0].message, Catch::Contains("active_power"));
  }
  SECTION("per-phase powers are enough (the total is their sum)") {
    auto found =
      reg.add("phases.json",
              table_with(
                R"({"name": "active_power_l1", "fc": 3, "address": 0, "type": "s16", "unit": "W"},
         {"name": "active_power_l2", "fc": 3, "address": 1, "type": "s16", "unit": "W"},
         {"name": "active_power_l3", "fc": 3, "address": 2, "type": "s16", "unit": "W"})"));
    REQUIRE(found.empty());
    CHECK(reg.check(test_config_with_grid_meter_table("t")).empty());
  }
  SECTION("an inverter's table needs a writable power limit") {
    auto t = reg.find("chint-dtsu666");
    auto problems = role_problems(*t, "inverter");
    REQUIRE(problems.size() == 2);
    CHECK_THAT(problems[1].message, Catch::Contains("power_limit"));
  }
}
