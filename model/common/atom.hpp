// An interned, immutable string: one pointer wide, copied by a reference
// count. Equal strings share one copy, so the ids a large model repeats
// (a node's id as its indicators' owner, its children's parent, ...) and
// the labels it repeats ("Electricity", template ids) cost 8 bytes a use
// instead of a 32-byte std::string each (a 100,000-node energy tree).
//
// The empty string is a null pointer. Interning and the last release take
// one process-wide lock; copies and other releases are one atomic op.
// Thread-safe.
#pragma once

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace plantd {

namespace detail {
struct atom_rep {
  std::atomic<uint32_t> refs;
  uint32_t size;
  char data[1];  // size bytes and a NUL
};
} // namespace detail

class atom {
  using rep = detail::atom_rep;

public:
  atom() noexcept = default;
  atom(std::string_view s);
  atom(const std::string& s) : atom(std::string_view(s)) {}
  atom(const char* s) : atom(std::string_view(s)) {}
  atom(const atom& o) noexcept : p_(o.p_) { retain(); }
  atom(atom&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  atom& operator=(const atom& o) noexcept {
    if (p_ != o.p_) {
      o.retain();
      release();
      p_ = o.p_;
    }
    return *this;
  }
  atom& operator=(atom&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  atom& operator=(std::string_view s) { return *this = atom(s); }
  atom& operator=(const std::string& s) { return *this = atom(s); }
  atom& operator=(const char* s) { return *this = atom(s); }
  ~atom() { release(); }

  std::string_view view() const noexcept { return p_ ? std::string_view(p_->data, p_->size) : std::string_view(); }
  operator std::string_view() const noexcept { return view(); }
  std::string str() const { return std::string(view()); }
  operator std::string() const { return str(); }
  const char* c_str() const noexcept { return p_ ? p_->data : ""; }
  const char* data() const noexcept { return c_str(); }
  std::size_t size() const noexcept { return p_ ? p_->size : 0; }
  bool empty() const noexcept { return !p_; }
  void clear() noexcept { release(); p_ = nullptr; }

  // Interned: equal strings are the same pointer.
  friend bool operator==(const atom& a, const atom& b) noexcept { return a.p_ == b.p_; }
  friend std::strong_ordering operator<=>(const atom& a, const atom& b) noexcept {
    return a.p_ == b.p_ ? std::strong_ordering::equal : a.view() <=> b.view();
  }
  friend bool operator==(const atom& a, std::string_view b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const atom& a, std::string_view b) noexcept { return a.view() <=> b; }
  friend bool operator==(const atom& a, const std::string& b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const atom& a, const std::string& b) noexcept {
    return a.view() <=> std::string_view(b);
  }
  friend bool operator==(const atom& a, const char* b) noexcept { return a.view() == b; }
  friend std::string operator+(const std::string& a, const atom& b) { return a + std::string(b.view()); }

  // Strings interned now (for tests and measurements).
  static std::size_t interned() noexcept;

private:
  void retain() const noexcept {
    if (p_) p_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept;
  rep* p_ = nullptr;
};

} // namespace plantd

template <>
struct std::hash<plantd::atom> {
  std::size_t operator()(const plantd::atom& a) const noexcept { return std::hash<std::string_view>{}(a.view()); }
};

template <>
struct fmt::formatter<plantd::atom> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const plantd::atom& a, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(a.view(), ctx);
  }
};
