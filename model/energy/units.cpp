#include "model/energy/units.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include <fmt/format.h>

namespace plantd::energy {
namespace {

struct known {
  std::string_view name;
  double scale;
  std::string_view base;
};

// Known names and their scale onto a base unit.
constexpr known known_units[] = {
  {"MJ", 1, "MJ"},         {"GJ", 1000, "MJ"},     {"kJ", 0.001, "MJ"},      {"kWh", 3.6, "MJ"},
  {"Wh", 0.0036, "MJ"},    {"MWh", 3600, "MJ"},    {"GWh", 3.6e6, "MJ"},     {"m3", 1, "m3"},
  {"L", 0.001, "m3"},      {"km3", 1000, "m3"},    {"kg", 1, "kg"},          {"t", 1000, "kg"},
  {"g", 0.001, "kg"},      {"kgce", 1, "kgce"},    {"tce", 1000, "kgce"},    {"kgCO2", 1, "kgCO2"},
  {"tCO2", 1000, "kgCO2"}, {"kgCO2e", 1, "kgCO2"}, {"tCO2e", 1000, "kgCO2"}, {"h", 1, "h"},
};

void add_dim(std::map<std::string, int>& dims, const std::string& base, int exp) {
  int& e = dims[base];
  e += exp;
  if (e == 0)
    dims.erase(base);
}

unit from_map(double scale, const std::map<std::string, int>& dims) {
  unit u;
  u.scale = scale;
  u.dims.assign(dims.begin(), dims.end());
  return u;
}

unit combine(const unit& a, const unit& b, int sign) {
  std::map<std::string, int> dims(a.dims.begin(), a.dims.end());
  for (const auto& [base, exp] : b.dims)
    add_dim(dims, base, sign * exp);
  return from_map(sign > 0 ? a.scale * b.scale : a.scale / b.scale, dims);
}

}  // namespace

unit unit::operator*(const unit& o) const {
  return combine(*this, o, 1);
}
unit unit::operator/(const unit& o) const {
  return combine(*this, o, -1);
}

expected<unit, std::string> parse_unit(std::string_view text) {
  std::map<std::string, int> dims;
  double scale = 1;
  std::size_t i = 0;
  int sign = 1;
  bool expect_factor = true;
  bool any = false;
  auto fail = [&](std::string why) {
    return unexpected{fmt::format("unit \"{}\": {}", text, why)};
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ') {
      ++i;
      continue;
    }
    if (!expect_factor) {
      if (c == '*' || c == '/') {
        sign = c == '/' ? -1 : 1;
        expect_factor = true;
        ++i;
        continue;
      }
      return fail(fmt::format("expected '*' or '/' at position {}", i + 1));
    }
    if (c == '1' && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '/')) {
      ++i;  // "1/h"
      expect_factor = false;
      any = true;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(c)))
      return fail(fmt::format("expected a unit name at position {}", i + 1));
    std::size_t start = i;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
      ++i;
    std::string name(text.substr(start, i - start));
    int exp = 1;
    if (i < text.size() && text[i] == '^') {
      ++i;
      std::size_t s = i;
      if (i < text.size() && text[i] == '-')
        ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
        ++i;
      auto [p, ec] = std::from_chars(text.data() + s, text.data() + i, exp);
      if (ec != std::errc{} || p != text.data() + i || exp == 0)
        return fail(fmt::format("bad exponent at position {}", s + 1));
    }
    auto k = std::find_if(std::begin(known_units), std::end(known_units),
                          [&](const known& u) { return u.name == name; });
    double s = 1;
    std::string base = name;
    if (k != std::end(known_units)) {
      s = k->scale;
      base = std::string(k->base);
    }
    for (int n = 0; n < std::abs(exp); ++n)
      scale = (sign * exp > 0) ? scale * s : scale / s;
    add_dim(dims, base, sign * exp);
    expect_factor = false;
    any = true;
  }
  if (!any)
    return fail("empty");
  if (expect_factor)
    return fail("ends with an operator");
  return from_map(scale, dims);
}

std::string dimension_text(const unit& u) {
  if (u.dims.empty())
    return "1";
  std::string num, den;
  for (const auto& [base, exp] : u.dims) {
    std::string& side = exp > 0 ? num : den;
    if (!side.empty())
      side += '*';
    side += base;
    if (std::abs(exp) != 1)
      side += fmt::format("^{}", std::abs(exp));
  }
  if (num.empty())
    num = "1";
  return den.empty() ? num : num + "/" + den;
}

}  // namespace plantd::energy
