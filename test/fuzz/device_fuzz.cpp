// Fuzzes the place where a device's raw registers become values. plantd has
// no Modbus frame parser of its own (libmodbus checks frames, lengths and
// CRCs in drivers/modbus/link.cpp), so what a hostile or broken device
// controls is the register contents. The input picks:
//   byte 0  the point table: one of the shipped ones, or (last choice) a
//           table generated from the input (canonical point names with any
//           type, function code, word order, scale, enum and bit labels),
//           loaded through parse_table as an integrator's file would be;
//   byte 1  the device class: meter, inverter, cabinet, or a bare device;
//   then    per read request of the table's plan, one byte (a few values
//           leave the registers out: the request fails with an exception),
//           then the registers (2 bytes each) or bits the device answers;
//   then    values for the writes (power setpoint, power limit, heartbeat).
// The device reads through test/support/fake_bus.hpp. Also: decode, encode
// and label of one arbitrary point on arbitrary registers.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "drivers/devices/cabinet.hpp"
#include "drivers/devices/inverter.hpp"
#include "drivers/devices/meter.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/fake_bus.hpp"

using namespace plantd;
using namespace plantd::pointtables;

namespace {

class input {
public:
  input(const uint8_t* d, std::size_t n)
    : d_(d),
      n_(n) {}
  uint8_t byte() { return at_ < n_ ? d_[at_++] : 0; }
  uint16_t word() { return static_cast<uint16_t>(byte() << 8 | byte()); }
  double number() {
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits = bits << 8 | byte();
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }

private:
  const uint8_t* d_;
  std::size_t n_;
  std::size_t at_ = 0;
};

constexpr const char* names[] = {
  // meter
  "active_power", "active_power_l1", "active_power_l2", "active_power_l3", "voltage_l1",
  "current_l1", "frequency", "power_factor", "import_energy", "export_energy",
  // inverter
  "state", "fault_word_1", "fault_word_2", "pv1_power", "pv2_power", "pv1_voltage", "ac_power",
  "total_energy", "power_limit",
  // cabinet
  "pcs_state", "pcs_fault_word", "power_setpoint", "soc", "soh", "cycles", "bms_alarm_word",
  "bms_fault_word", "cooling_fault_word", "fire_state", "fire_alarm_word", "contactor",
  "pump_running", "run_command", "heartbeat", "charged_energy"};
constexpr const char* types[] = {"u16", "s16", "u32", "s32", "f32"};
constexpr const char* scales[] = {"1", "0.1", "0.001", "10", "-1", "1000000", "0.000001", "-0.01"};

// A point table from the input, as JSON text: points laid out one after the
// other (so they rarely overlap), each with a name, fc, type, order, scale,
// access, and enum or bit labels.
std::string generated_table(input& in) {
  std::string pts;
  int count = 1 + in.byte() % 12;
  uint32_t address = in.word();
  for (int i = 0; i < count; ++i) {
    uint8_t a = in.byte(), b = in.byte(), c = in.byte();
    bool bit = (b & 0xC0) == 0xC0;
    int fc = bit ? 1 + (b & 1) : 3 + (b & 1);
    const char* type = bit ? "bool" : types[(b >> 1) % 5];
    address += c % 4;
    std::string access = (c & 0x10) && (fc == 1 || fc == 3) ? ((c & 0x20) ? "wo" : "rw") : "ro";
    std::string labels;
    if (c & 0x40)
      labels = fmt::format(R"(, "bits": {{"0": "b0", "{}": "bx"}})", (c >> 2) % 16);
    else if (c & 0x80)
      labels = fmt::format(R"(, "enum": {{"0": "off", "{}": "on"}})", static_cast<int8_t>(a));
    pts += fmt::format(R"({}{{"name": "{}", "fc": {}, "address": {}, "type": "{}", )"
                       R"("word_order": "{}", "scale": {}, "access": "{}"{}}})",
                       i ? ", " : "", names[a % std::size(names)], fc, address, type,
                       (b & 0x20) ? "little" : "big", scales[(a >> 3) % std::size(scales)], access,
                       labels);
    address += std::string_view{type} == "u16" || std::string_view{type} == "s16"
                   || std::string_view{type} == "bool"
                 ? 1
                 : 2;
  }
  return fmt::format(R"({{"name": "gen", "source": "fuzz", "max_gap": {}, "max_registers": {},)"
                     R"( "points": [{}]}})",
                     in.byte() % 126, 1 + in.byte() % 125, pts);
}

void answer_reads(const table& t, input& in, test::fake_bus& bus, uint8_t unit) {
  for (const auto& req : plan_reads(t)) {
    if (in.byte() >= 0xF0)
      continue;  // nothing there: an "illegal data address" exception
    std::vector<uint16_t> words(req.count);
    for (auto& w : words)
      w = (req.fc <= 2) ? in.byte() & 1 : in.word();
    bus.set(unit, req.fc, req.address, words);
  }
}

void read_device(const table& t, uint8_t kind, input& in) {
  test::fake_bus bus;
  const uint8_t unit = 1;
  answer_reads(t, in, bus, unit);
  switch (kind % 4) {
    case 0: {
      devices::meter m{t, bus, unit};
      (void)m.read();
      break;
    }
    case 1: {
      devices::inverter inv{t, bus, unit};
      (void)inv.read();
      (void)inv.set_power_limit(in.number());
      break;
    }
    case 2: {
      devices::cabinet cab{t, bus, unit};
      (void)cab.read();
      (void)cab.set_power(in.number());
      (void)cab.set_running(in.byte() & 1);
      (void)cab.beat(in.word());
      break;
    }
    default: {
      devices::device dev{t, bus, unit};
      auto s = dev.read_all();
      (void)dev.flags(s);
      for (std::size_t i = 0; i < t.points.size(); ++i) {
        if (s.values[i].usable())
          (void)label(t.points[i], s.values[i].value);
        (void)dev.write(t.points[i].name, in.number());
      }
      break;
    }
  }
}

void one_point(input& in) {
  point p;
  uint8_t b = in.byte();
  p.type = static_cast<value_type>(b % 6);
  p.word_order = (b & 0x10) ? word_order::little : word_order::big;
  p.scale = in.number();
  if (!(p.scale != 0))  // parse_table refuses 0 (and NaN)
    p.scale = 1;
  p.enum_labels[in.byte()] = "x";
  p.bit_labels[in.byte() % 32] = "y";
  uint16_t regs[2] = {in.word(), in.word()};
  auto r = decode(p, regs);
  (void)label(p, r.value);
  (void)encode(p, r.value);
  (void)encode(p, in.number());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const registry shipped = registry::builtin();
  static const std::vector<std::string> shipped_names = shipped.names();
  input in{data, size};
  std::size_t pick = in.byte() % (shipped_names.size() + 1);
  uint8_t kind = in.byte();
  if (pick < shipped_names.size()) {
    read_device(*shipped.find(shipped_names[pick]), kind, in);
  } else {
    auto parsed = parse_table(generated_table(in));
    if (auto* t = std::get_if<table>(&parsed))
      read_device(*t, kind, in);
  }
  one_point(in);
  return 0;
}
