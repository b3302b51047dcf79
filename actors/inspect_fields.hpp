// Inspector helpers for fields CAF 0.17 does not inspect as they are: a
// vector of enums, and a std::optional.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

namespace plantd::actors {

// A vector of enums, inspected as their codes (reading a vector of enums
// in place leaves GCC warning of storage it cannot see initialized).
template <class E>
struct enum_vector_field {
  std::vector<E>& v;
};

template <class Inspector, class E>
typename Inspector::result_type inspect(Inspector& f, enum_vector_field<E>& x) {
  std::vector<uint8_t> codes;
  codes.reserve(x.v.size());
  for (auto e : x.v)
    codes.push_back(static_cast<uint8_t>(e));
  return f(caf::meta::type_name("enums"), codes, caf::meta::load_callback([&]() -> caf::error {
             x.v.clear();
             for (auto c : codes)
               x.v.push_back(static_cast<E>(c));
             return caf::none;
           }));
}

// An optional value, as whether it is there and the value.
template <class T>
struct optional_field {
  std::optional<T>& o;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_field<T>& x) {
  bool has = x.o.has_value();
  T value = has ? *x.o : T{};
  return f(caf::meta::type_name("optional"), has, value,
           caf::meta::load_callback([&]() -> caf::error {
             x.o = has ? std::optional<T>(value) : std::nullopt;
             return caf::none;
           }));
}

}  // namespace plantd::actors
