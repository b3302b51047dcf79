#include "apps/plantctl/device_read.hpp"

#include <cmath>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "drivers/devices/device.hpp"
#include "drivers/pointtables/registry.hpp"

namespace plantd::apps {

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      continue;
    out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::floor(v) == v && std::abs(v) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.6g}", v);
}

}  // namespace

int device_read(const device_read_args& a) {
  auto tables = pointtables::registry::builtin();
  if (!a.tables_dir.empty()) {
    auto found = tables.add_directory(a.tables_dir);
    for (const auto& p : found)
      std::cerr << "plantctl: " << p.path << ": " << p.message << '\n';
    if (!found.empty())
      return 2;
  }
  const auto* table = tables.find(a.pointtable);
  if (!table) {
    std::string known;
    for (const auto& n : tables.names())
      known += (known.empty() ? "" : ", ") + n;
    std::cerr << fmt::format("plantctl: unknown point table \"{}\" (known: {})\n", a.pointtable,
                             known);
    return 2;
  }
  if (a.unit < 0 || a.unit > 255) {
    std::cerr << "plantctl: --unit must be 0..255\n";
    return 2;
  }
  static const system_clock wall;
  modbus::link_options opts;
  opts.timeout = std::chrono::milliseconds{static_cast<int64_t>(a.timeout_s * 1000)};
  std::unique_ptr<modbus::link> link;
  if (!a.tcp.empty()) {
    auto colon = a.tcp.rfind(':');
    int port = colon == std::string::npos ? 502 : std::atoi(a.tcp.c_str() + colon + 1);
    if (port <= 0 || port > 65535) {
      std::cerr << fmt::format("plantctl: --tcp {}: expected HOST:PORT\n", a.tcp);
      return 2;
    }
    link = std::make_unique<modbus::link>(
      modbus::tcp_params{a.tcp.substr(0, colon), static_cast<uint16_t>(port)}, opts, wall);
  } else {
    link = std::make_unique<modbus::link>(modbus::rtu_params{a.rtu, a.baud,
                                                             a.parity.empty() ? 'N' : a.parity[0],
                                                             a.data_bits, a.stop_bits},
                                          opts, wall);
  }
  auto where = link->name();
  modbus::bus bus{std::move(*link), std::chrono::milliseconds{a.rtu.empty() ? 0 : 5}};
  devices::device dev{*table, bus, static_cast<uint8_t>(a.unit)};
  auto snap = dev.read_all();
  // String points (serial number, model) are read on their own.
  std::map<std::size_t, modbus::result<std::string>> texts;
  if (!(snap.failed_requests == snap.requests && snap.failure))
    for (std::size_t i = 0; i < table->points.size(); ++i)
      if (table->points[i].type == pointtables::value_type::text)
        texts.emplace(i, dev.read_text(table->points[i].name));

  if (snap.failed_requests == snap.requests && snap.failure) {
    std::cerr << fmt::format("plantctl: {} unit {} at {} did not answer: {}\n", table->name, a.unit,
                             where, modbus::describe(*snap.failure));
    return 3;
  }
  if (a.json) {
    std::cout << fmt::format("{{\"pointtable\": \"{}\", \"unit\": {}, \"address\": \"{}\", "
                             "\"requests\": {}, \"failed_requests\": {}, \"points\": [\n",
                             table->name, a.unit, json_escape(where), snap.requests,
                             snap.failed_requests);
    bool first = true;
    for (std::size_t i = 0; i < table->points.size(); ++i) {
      const auto& p = table->points[i];
      if (p.access == pointtables::access::wo)
        continue;
      const auto& v = snap.values[i];
      std::cout << (first ? "  " : ",\n  ");
      first = false;
      if (auto t = texts.find(i); t != texts.end()) {
        if (t->second)
          std::cout << fmt::format("{{\"name\": \"{}\", \"quality\": \"measured\", "
                                   "\"text\": \"{}\"}}",
                                   p.name, json_escape(*t->second));
        else
          std::cout << fmt::format("{{\"name\": \"{}\", \"quality\": \"missing\", "
                                   "\"error\": \"{}\"}}",
                                   p.name, json_escape(modbus::describe(t->second.error())));
        continue;
      }
      std::cout << fmt::format("{{\"name\": \"{}\", \"unit\": \"{}\", \"quality\": \"{}\"", p.name,
                               json_escape(p.unit), to_string(v.quality));
      if (v.quality == quality::measured) {
        std::cout << ", \"value\": " << format_value(v.value);
        auto text = pointtables::label(p, v.value);
        if (!text.empty())
          std::cout << fmt::format(", \"label\": \"{}\"", json_escape(text));
      }
      std::cout << "}";
    }
    std::cout << "\n]}\n";
  } else {
    std::cout << fmt::format("{} unit {} at {}: {} points in {} requests\n", table->name, a.unit,
                             where, table->points.size(), snap.requests);
    for (std::size_t i = 0; i < table->points.size(); ++i) {
      const auto& p = table->points[i];
      if (p.access == pointtables::access::wo)
        continue;
      const auto& v = snap.values[i];
      std::string shown;
      if (auto t = texts.find(i); t != texts.end()) {
        shown = t->second ? fmt::format("\"{}\"", *t->second)
                          : "-- " + modbus::describe(t->second.error());
      } else if (v.quality == quality::measured) {
        shown = format_value(v.value) + (p.unit.empty() ? "" : " " + p.unit);
        auto text = pointtables::label(p, v.value);
        if (!text.empty())
          shown += " (" + text + ")";
      } else {
        shown = std::string{"-- "} + to_string(v.quality);
      }
      std::cout << fmt::format("  {:<28} {}\n", p.name, shown);
    }
  }
  if (snap.failed_requests > 0) {
    std::cerr << fmt::format("plantctl: {} of {} requests failed: {}\n", snap.failed_requests,
                             snap.requests, modbus::describe(*snap.failure));
    return 1;
  }
  return 0;
}

}  // namespace plantd::apps
