#include "model/common/atom.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace plantd {
namespace {

// The interned strings: open addressing (linear probing) over the reps,
// grown at 3/4 full; removals shift the run back (no tombstones).
class pool {
public:
  using Rep = detail::atom_rep;

  Rep* intern(std::string_view s, Rep* (*make)(std::string_view)) {
    std::lock_guard lock(mtx_);
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(s) & mask;; i = (i + 1) & mask) {
      auto* r = static_cast<Rep*>(slots_[i]);
      if (!r) {
        r = make(s);
        slots_[i] = r;
        ++size_;
        return r;
      }
      if (std::string_view(r->data, r->size) == s) {
        r->refs.fetch_add(1, std::memory_order_relaxed);
        return r;
      }
    }
  }

  // Drops one reference; the last one removes and frees the rep, under the
  // lock, so interning never finds a rep being freed.
  void release(Rep* r) {
    uint32_t n = r->refs.load(std::memory_order_relaxed);
    while (n > 1)
      if (r->refs.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) return;
    std::lock_guard lock(mtx_);
    if (r->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash({r->data, r->size}) & mask;
    while (slots_[i] != r) i = (i + 1) & mask;
    // Backward-shift deletion keeps every probe run unbroken.
    for (std::size_t j = (i + 1) & mask; slots_[j]; j = (j + 1) & mask) {
      auto* o = static_cast<Rep*>(slots_[j]);
      std::size_t home = hash({o->data, o->size}) & mask;
      // o may move to i when its home is not in (i, j] (cyclically).
      bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = nullptr;
    --size_;
    r->~Rep();
    std::free(r);
  }

  std::size_t size() {
    std::lock_guard lock(mtx_);
    return size_;
  }

private:
  static std::size_t hash(std::string_view s) noexcept { return std::hash<std::string_view>{}(s); }

  void grow() {
    std::vector<void*> old(slots_.empty() ? 1024 : slots_.size() * 2, nullptr);
    old.swap(slots_);
    std::size_t mask = slots_.size() - 1;
    for (void* p : old) {
      if (!p) continue;
      auto* r = static_cast<Rep*>(p);
      std::size_t i = hash({r->data, r->size}) & mask;
      while (slots_[i]) i = (i + 1) & mask;
      slots_[i] = p;
    }
  }

  std::mutex mtx_;
  std::vector<void*> slots_;
  std::size_t size_ = 0;
};

pool& the_pool() {
  static pool* p = new pool;  // never destroyed: atoms may outlive static destructors
  return *p;
}

} // namespace

atom::atom(std::string_view s) {
  if (s.empty()) return;
  p_ = the_pool().intern(s, [](std::string_view v) -> rep* {
    void* mem = std::malloc(offsetof(rep, data) + v.size() + 1);
    if (!mem) throw std::bad_alloc();
    auto* r = new (mem) rep;
    r->refs.store(1, std::memory_order_relaxed);
    r->size = static_cast<uint32_t>(v.size());
    std::memcpy(r->data, v.data(), v.size());
    r->data[v.size()] = '\0';
    return r;
  });
}

void atom::release() noexcept {
  if (p_) the_pool().release(p_);
}

std::size_t atom::interned() noexcept { return the_pool().size(); }

} // namespace plantd
