// An interned, immutable string: a 4-byte handle, copied by a reference
// count. Equal strings share one copy, so the ids a large model repeats
// (a node's id as its indicators' owner, its children's parent, ...) and
// the labels it repeats ("Electricity", template ids) cost 4 bytes a use
// instead of a 32-byte std::string each (a 100,000-node energy tree).
//
// The strings live in 64 KB slabs (4-byte granules: a 10-character id
// takes 20 bytes, not malloc's 32); a handle is its slab's number and its
// offset there. A freed string's room is reused by a later one of the same
// size; slabs themselves are kept for reuse. Strings longer than 1 KB get an
// allocation of their own, freed with them.
//
// The empty string is handle 0. Interning and the last release take one
// process-wide lock; copies and other releases are one atomic op.
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
// Slab directory: handle >> atom_offset_bits picks the slab, the low bits
// count 4-byte granules into it. Slab 0 is never used (handle 0 = "").
inline constexpr unsigned atom_offset_bits = 14;
inline constexpr uint32_t atom_slabs = 1u << (32 - atom_offset_bits);
extern std::atomic<char*> atom_slab[atom_slabs];
inline atom_rep* atom_rep_of(uint32_t h) noexcept {
  char* base = atom_slab[h >> atom_offset_bits].load(std::memory_order_acquire);
  return reinterpret_cast<atom_rep*>(base + std::size_t{h & ((1u << atom_offset_bits) - 1)} * 4);
}
}  // namespace detail

class atom {
  using rep = detail::atom_rep;

public:
  atom() noexcept = default;
  atom(std::string_view s);
  atom(const std::string& s)
    : atom(std::string_view(s)) {}
  atom(const char* s)
    : atom(std::string_view(s)) {}
  atom(const atom& o) noexcept
    : h_(o.h_) {
    retain();
  }
  atom(atom&& o) noexcept
    : h_(o.h_) {
    o.h_ = 0;
  }
  atom& operator=(const atom& o) noexcept {
    if (h_ != o.h_) {
      o.retain();
      release();
      h_ = o.h_;
    }
    return *this;
  }
  atom& operator=(atom&& o) noexcept {
    if (this != &o) {
      release();
      h_ = o.h_;
      o.h_ = 0;
    }
    return *this;
  }
  atom& operator=(std::string_view s) { return *this = atom(s); }
  atom& operator=(const std::string& s) { return *this = atom(s); }
  atom& operator=(const char* s) { return *this = atom(s); }
  ~atom() { release(); }

  std::string_view view() const noexcept {
    if (!h_)
      return {};
    auto* r = detail::atom_rep_of(h_);
    return {r->data, r->size};
  }
  operator std::string_view() const noexcept { return view(); }
  std::string str() const { return std::string(view()); }
  operator std::string() const { return str(); }
  const char* c_str() const noexcept { return h_ ? detail::atom_rep_of(h_)->data : ""; }
  const char* data() const noexcept { return c_str(); }
  std::size_t size() const noexcept { return h_ ? detail::atom_rep_of(h_)->size : 0; }
  bool empty() const noexcept { return !h_; }
  void clear() noexcept {
    release();
    h_ = 0;
  }

  // Interned: equal strings are the same handle.
  friend bool operator==(const atom& a, const atom& b) noexcept { return a.h_ == b.h_; }
  friend std::strong_ordering operator<=>(const atom& a, const atom& b) noexcept {
    return a.h_ == b.h_ ? std::strong_ordering::equal : a.view() <=> b.view();
  }
  friend bool operator==(const atom& a, std::string_view b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const atom& a, std::string_view b) noexcept {
    return a.view() <=> b;
  }
  friend bool operator==(const atom& a, const std::string& b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const atom& a, const std::string& b) noexcept {
    return a.view() <=> std::string_view(b);
  }
  friend bool operator==(const atom& a, const char* b) noexcept { return a.view() == b; }
  friend std::string operator+(const std::string& a, const atom& b) {
    return a + std::string(b.view());
  }

  // Strings interned now, and the bytes their slabs, big strings and
  // index take (for tests and measurements).
  static std::size_t interned() noexcept;
  static std::size_t footprint() noexcept;

private:
  void retain() const noexcept {
    if (h_)
      detail::atom_rep_of(h_)->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept;
  uint32_t h_ = 0;
};
static_assert(sizeof(atom) == 4);

}  // namespace plantd

template <>
struct std::hash<plantd::atom> {
  std::size_t operator()(const plantd::atom& a) const noexcept {
    return std::hash<std::string_view>{}(a.view());
  }
};

template <>
struct fmt::formatter<plantd::atom> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const plantd::atom& a, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(a.view(), ctx);
  }
};
