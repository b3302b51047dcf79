#include "model/common/atom.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace plantd {

namespace detail {
std::atomic<char*> atom_slab[atom_slabs];
}  // namespace detail

namespace {

using rep = detail::atom_rep;
using detail::atom_offset_bits;
using detail::atom_rep_of;

constexpr uint32_t slab_granules = 1u << atom_offset_bits;  // 64 KB slabs
constexpr uint32_t max_small = 256;                         // granules (1 KB)
constexpr uint32_t min_granules = (offsetof(rep, data) + 2 + 3) / 4;

uint32_t granules_of(std::size_t n) noexcept {
  return static_cast<uint32_t>((offsetof(rep, data) + n + 1 + 3) / 4);
}

// The interned strings: their slabs, and an index of handles by string
// (open addressing, linear probing, grown at 3/4 full; removals shift the
// run back, so there are no tombstones).
class pool {
public:
  uint32_t intern(std::string_view s) {
    if (s.size() > UINT32_MAX / 2)
      throw std::length_error("atom: string too long");
    std::lock_guard lock(mtx_);
    if ((size_ + 1) * 4 > slots_.size() * 3)
      grow();
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(s) & mask;; i = (i + 1) & mask) {
      uint32_t h = slots_[i];
      if (!h) {
        h = make(s);
        slots_[i] = h;
        ++size_;
        return h;
      }
      auto* r = atom_rep_of(h);
      if (std::string_view(r->data, r->size) == s) {
        r->refs.fetch_add(1, std::memory_order_relaxed);
        return h;
      }
    }
  }

  // Drops one reference; the last one removes and frees the string, under
  // the lock, so interning never finds one being freed.
  void release(uint32_t h) {
    auto* r = atom_rep_of(h);
    uint32_t n = r->refs.load(std::memory_order_relaxed);
    while (n > 1)
      if (r->refs.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel))
        return;
    std::lock_guard lock(mtx_);
    if (r->refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
      return;
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash({r->data, r->size}) & mask;
    while (slots_[i] != h)
      i = (i + 1) & mask;
    // Backward-shift deletion keeps every probe run unbroken.
    for (std::size_t j = (i + 1) & mask; slots_[j]; j = (j + 1) & mask) {
      auto* o = atom_rep_of(slots_[j]);
      std::size_t home = hash({o->data, o->size}) & mask;
      // o may move to i when its home is not in (i, j] (cyclically).
      bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = 0;
    --size_;
    unmake(h);
  }

  std::size_t size() {
    std::lock_guard lock(mtx_);
    return size_;
  }
  std::size_t footprint() {
    std::lock_guard lock(mtx_);
    return slabs_ * std::size_t{slab_granules} * 4 + big_bytes_ + slots_.size() * sizeof(uint32_t);
  }

private:
  static std::size_t hash(std::string_view s) noexcept { return std::hash<std::string_view>{}(s); }

  // A string's room: a free one of its size, else the current slab's next,
  // else a new slab; long strings get an allocation (and a slab number) of
  // their own.
  uint32_t make(std::string_view s) {
    uint32_t g = granules_of(s.size());
    uint32_t h;
    if (g > max_small) {
      h = new_slab(std::size_t{g} * 4) << atom_offset_bits;
      big_bytes_ += std::size_t{g} * 4;
    } else if (free_[g]) {
      h = free_[g];
      free_[g] = atom_rep_of(h)->size;  // the next free one
    } else {
      if (left_ < g) {
        if (left_ >= min_granules)
          give_back(next_, left_);
        next_ = new_slab(std::size_t{slab_granules} * 4) << atom_offset_bits;
        left_ = slab_granules;
        ++slabs_;
      }
      h = next_;
      next_ += g;
      left_ -= g;
    }
    auto* r = new (atom_rep_of(h)) rep;
    r->refs.store(1, std::memory_order_relaxed);
    r->size = static_cast<uint32_t>(s.size());
    std::memcpy(r->data, s.data(), s.size());
    r->data[s.size()] = '\0';
    return h;
  }

  void unmake(uint32_t h) {
    auto* r = atom_rep_of(h);
    uint32_t g = granules_of(r->size);
    r->~rep();
    if (g > max_small) {
      uint32_t slab = h >> atom_offset_bits;
      std::free(detail::atom_slab[slab].exchange(nullptr));
      free_slabs_.push_back(slab);
      big_bytes_ -= std::size_t{g} * 4;
      return;
    }
    give_back(h, g);
  }

  // Files the room of `g` granules at `h` as free (its first word says so
  // for granule counts that are never a string's: the tail of a slab).
  void give_back(uint32_t h, uint32_t g) {
    auto* r = atom_rep_of(h);
    if (g > max_small)
      g = max_small;  // only a slab's tail: the rest is lost
    r->size = free_[g];
    free_[g] = h;
  }

  uint32_t new_slab(std::size_t bytes) {
    uint32_t slab;
    if (!free_slabs_.empty()) {
      slab = free_slabs_.back();
      free_slabs_.pop_back();
    } else if (next_slab_ < detail::atom_slabs) {
      slab = next_slab_++;
    } else {
      throw std::bad_alloc();
    }
    void* mem = std::malloc(bytes);
    if (!mem) {
      free_slabs_.push_back(slab);
      throw std::bad_alloc();
    }
    detail::atom_slab[slab].store(static_cast<char*>(mem), std::memory_order_release);
    return slab;
  }

  void grow() {
    std::vector<uint32_t> old(slots_.empty() ? 1024 : slots_.size() * 2, 0);
    old.swap(slots_);
    std::size_t mask = slots_.size() - 1;
    for (uint32_t h : old) {
      if (!h)
        continue;
      auto* r = atom_rep_of(h);
      std::size_t i = hash({r->data, r->size}) & mask;
      while (slots_[i])
        i = (i + 1) & mask;
      slots_[i] = h;
    }
  }

  std::mutex mtx_;
  std::vector<uint32_t> slots_;
  std::size_t size_ = 0;
  uint32_t free_[max_small + 1] = {};  // free rooms by granule count
  uint32_t next_ = 0, left_ = 0;       // the current slab's unused room
  uint32_t next_slab_ = 1;             // slab 0 is never used
  std::vector<uint32_t> free_slabs_;   // numbers of freed long strings
  std::size_t slabs_ = 0, big_bytes_ = 0;
};

pool& the_pool() {
  static pool* p = new pool;  // never destroyed: atoms may outlive static destructors
  return *p;
}

}  // namespace

atom::atom(std::string_view s) {
  if (!s.empty())
    h_ = the_pool().intern(s);
}

void atom::release() noexcept {
  if (h_)
    the_pool().release(h_);
}

std::size_t atom::interned() noexcept {
  return the_pool().size();
}
std::size_t atom::footprint() noexcept {
  return the_pool().footprint();
}

}  // namespace plantd
