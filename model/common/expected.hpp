// expected<T, E>: a value or the error that prevented it (std::expected is
// C++23; g++ 12 does not have it). Used where failure is an ordinary outcome,
// e.g. a Modbus request.
#pragma once

#include <utility>
#include <variant>

namespace plantd {

template <class E>
struct unexpected {
  E error;
};

template <class E>
unexpected(E) -> unexpected<E>;

template <class T, class E>
class expected {
public:
  expected(T value)
    : data_(std::in_place_index<0>, std::move(value)) {}
  expected(unexpected<E> err)
    : data_(std::in_place_index<1>, std::move(err.error)) {}

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& { return std::get<1>(data_); }

private:
  std::variant<T, E> data_;
};

// expected<void, E>
template <class E>
class expected<void, E> {
public:
  expected() = default;
  expected(unexpected<E> err)
    : err_(std::move(err.error)),
      ok_(false) {}

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const E& error() const& { return err_; }

private:
  E err_{};
  bool ok_ = true;
};

}  // namespace plantd
