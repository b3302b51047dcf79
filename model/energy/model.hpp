// The energy-carbon model of an enterprise (DESIGN.md §8): reference data
// (energy types with standard-coal coefficients, CO2 factors and prices, each
// with its validity), the tree of energy-using units with metering levels,
// meters, products, indicator templates and indicators with their formulas.
//
// Everything is named by a stable id ([A-Za-z0-9_.]+) that never changes;
// names are labels and can be renamed at any time. Formulas are stored in
// canonical form (references by id), so a rename breaks nothing, and
// nothing that is used elsewhere can be deleted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/time/civil_time.h>

#include "model/common/atom.hpp"
#include "model/common/errc.hpp"
#include "model/common/expected.hpp"
#include "model/common/problem.hpp"
#include "model/energy/formula.hpp"
#include "model/plant/config.hpp"

namespace plantd::energy {

// A dated coefficient: valid in [valid_from, valid_to) (valid_to empty = open).
struct coefficient {
  std::string version;  // e.g. "GB/T 2589-2020"
  absl::CivilDay valid_from{1970, 1, 1};
  std::optional<absl::CivilDay> valid_to;
  double value = 0;
  std::string source;
};

// kg CO2 per unit of the energy type, for one year and region ("" = national).
struct co2_factor {
  std::string version;
  int year = 0;
  std::string region;
  double value = 0;
  std::string source;
};

// Price per unit of the energy type; a TOU tariff when `tou` is not empty
// (slots as in the plant config: weekdays, "HH:MM" start/end, price).
struct price {
  std::string version;
  absl::CivilDay valid_from{1970, 1, 1};
  std::optional<absl::CivilDay> valid_to;
  double flat = 0;
  std::vector<plant::price_slot> tou;
  std::string source;
};

struct energy_type {
  std::string id;
  std::string name;                          // in the enterprise's language (seeded: Chinese)
  std::string name_en;                       // English (reports and screens in English)
  std::string unit;                          // unit of a quantity: "kWh", "m3", "t", "GJ"
  std::vector<coefficient> coal_equivalent;  // kgce per unit (equivalent value, 当量值)
  std::vector<coefficient> coal_equal;       // kgce per unit (equal value, 等价值)
  std::vector<co2_factor> co2;               // kgCO2 per unit
  std::vector<price> prices;                 // currency per unit
  // GB 17167 required metering-equipment rates (percent) at levels 1, 2, 3;
  // negative = no requirement.
  double required_rate[3] = {-1, -1, -1};
  std::string rate_source;
};

// Master data most records leave empty, kept out of line: a record pays 8
// bytes unless it carries some (a 100,000-node tree pays per field).
template <class T>
class details_box {
public:
  details_box() = default;
  details_box(const details_box& o)
    : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  details_box& operator=(const details_box& o) {
    if (this != &o)
      p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  details_box(details_box&&) noexcept = default;
  details_box& operator=(details_box&&) noexcept = default;

  // Reading: the empty details when none are set.
  const T& operator*() const { return p_ ? *p_ : none(); }
  const T* operator->() const { return &**this; }
  // Writing: allocates on first use; shrink() frees details left empty.
  T& edit() {
    if (!p_)
      p_ = std::make_unique<T>();
    return *p_;
  }
  void shrink() {
    if (p_ && *p_ == T{})
      p_.reset();
  }
  bool empty() const { return !p_; }

private:
  static const T& none() {
    static const T empty{};
    return empty;
  }
  std::unique_ptr<T> p_;
};

// An equipment record's master data.
struct equipment_details {
  std::string spec, location, maker;
  double rated_power_kw = 0;
  std::optional<absl::CivilDay> start_date;
  bool operator==(const equipment_details&) const = default;
};

// A meter's master data and its counter's settings (most meters keep the
// defaults, so most records carry none of it).
struct meter_details {
  std::string model, accuracy_class, location, maker;
  std::optional<absl::CivilDay> start_date;
  double ct_ratio = 1, pt_ratio = 1;  // the counter is multiplied by both
  double counter_rollover = 0;        // counter wraps to 0 at this value (0 = never)
  bool operator==(const meter_details&) const = default;
};

enum class node_kind : uint8_t { plant, branch, workshop, equipment };
std::string_view to_string(node_kind k) noexcept;
std::optional<node_kind> parse_node_kind(std::string_view s) noexcept;

// Records of the tree, its meters and indicators (a large enterprise has
// 100,000s) keep their strings as atoms (model/common/atom.hpp): an id is
// stored once however many records name it.

// A unit of the energy-management tree. Equipment carries its record.
struct node {
  atom id;
  atom name;
  node_kind kind = node_kind::workshop;
  uint8_t metering_level = 1;  // 1: enterprise, 2: secondary units, 3: main equipment
  atom parent;                 // empty for the root (the plant)
  atom energy_type;            // main energy used ("" = none)
  // Equipment record (any node may carry it; equipment nodes should).
  details_box<equipment_details> equipment;
};

struct meter {
  atom id;
  atom name;
  uint8_t metering_level = 1;
  atom energy_type;
  atom node;                           // the unit or equipment it hangs under
  details_box<meter_details> details;  // master data, CT/PT ratios, rollover
  atom live_source;                    // bound plant meter: "grid.import", ... ("" = none)
};

struct product {
  std::string id;
  std::string name, spec;
  std::string unit;  // "t", "pcs", ...
  std::string node;  // the unit that produces it
};

enum class indicator_kind : uint8_t { collection, efficiency };
enum class direction : uint8_t { consumption, output };
enum class source_kind : uint8_t { meter, manual, formula };
std::string_view to_string(indicator_kind k) noexcept;
std::string_view to_string(direction d) noexcept;
std::string_view to_string(source_kind s) noexcept;
std::optional<indicator_kind> parse_indicator_kind(std::string_view s) noexcept;
std::optional<direction> parse_direction(std::string_view s) noexcept;
std::optional<source_kind> parse_source_kind(std::string_view s) noexcept;

struct indicator_template {
  std::string id;
  std::string name;     // in the enterprise's language (seeded: Chinese)
  std::string name_en;  // English
  indicator_kind kind = indicator_kind::efficiency;
  std::string energy_type;  // "" for quantities of no one energy type (tce, cost)
  std::string unit;
  enum direction direction = direction::consumption;
};

// A record that uses another (a formula reading an indicator, a meter of
// an energy type): its kind and id, and a line for people.
struct use {
  std::string kind, id, text;
};

struct indicator {
  atom id;
  atom name;
  atom template_id;
  atom owner;  // a node id or a meter id
  source_kind source = source_kind::formula;
  atom formula;  // canonical text, for source formula
};

// After a bulk load: the room needed and a thirty-second more, so that the
// next record put after the last goes in place. Without room, one new meter
// on a 50,000-meter table moved every row to a new block (2 ms of the 2.3
// ms a put took). Room not written to is not resident.
template <class T>
void keep_little_room(std::vector<T>& v) {
  std::size_t n = v.size();
  if (v.capacity() <= n + n / 16 + 64 && v.capacity() > n)
    return;
  std::vector<T> out;
  out.reserve(n + n / 32 + 16);
  std::move(v.begin(), v.end(), std::back_inserter(out));
  v.swap(out);
}

// Records by id, in id order, a third of a std::map's size: a sorted
// vector of (id, record) and a short sorted vector of recent insertions,
// merged into it when it grows past about the square root of the size (an
// insertion in any order costs O(sqrt n) moves, not O(n)). Iteration walks
// both in id order. A bulk load appends and sorts once. References and
// iterators are valid until the next insertion or removal.
template <class T>
class table {
public:
  using row = std::pair<atom, T>;
  using value_type = row;

  template <bool Const>
  class iter {
  public:
    using P = std::conditional_t<Const, const row*, row*>;
    using iterator_category = std::forward_iterator_tag;
    using value_type = row;
    using difference_type = std::ptrdiff_t;
    using pointer = P;
    using reference = std::conditional_t<Const, const row&, row&>;
    iter() = default;
    iter(P a, P a_end, P b, P b_end)
      : a_(a),
        a_end_(a_end),
        b_(b),
        b_end_(b_end) {}
    operator iter<true>() const { return {a_, a_end_, b_, b_end_}; }
    reference operator*() const { return *cur(); }
    pointer operator->() const { return cur(); }
    iter& operator++() {
      if (a_ != a_end_ && cur() == a_)
        ++a_;
      else
        ++b_;
      return *this;
    }
    iter operator++(int) {
      auto t = *this;
      ++*this;
      return t;
    }
    friend bool operator==(const iter& x, const iter& y) { return x.cur() == y.cur(); }

  private:
    P cur() const {
      if (a_ == a_end_)
        return b_ == b_end_ ? nullptr : b_;
      if (b_ == b_end_)
        return a_;
      return b_->first.view() < a_->first.view() ? b_ : a_;
    }
    P a_ = nullptr, a_end_ = nullptr, b_ = nullptr, b_end_ = nullptr;
  };
  using iterator = iter<false>;
  using const_iterator = iter<true>;

  iterator begin() { return at_lower(rows_.data(), tail_.data()); }
  iterator end() { return at_lower(rows_.data() + rows_.size(), tail_.data() + tail_.size()); }
  const_iterator begin() const { return const_cast<table*>(this)->begin(); }
  const_iterator end() const { return const_cast<table*>(this)->end(); }
  std::size_t size() const noexcept { return rows_.size() + tail_.size(); }
  bool empty() const noexcept { return rows_.empty() && tail_.empty(); }
  void clear() {
    rows_.clear();
    tail_.clear();
  }

  iterator find(std::string_view id) {
    auto* a = lower(rows_, id);
    auto* b = lower(tail_, id);
    bool in_a = a != rows_.data() + rows_.size() && a->first == id;
    bool in_b = b != tail_.data() + tail_.size() && b->first == id;
    return in_a || in_b ? at_lower(a, b) : end();
  }
  const_iterator find(std::string_view id) const { return const_cast<table*>(this)->find(id); }
  std::size_t count(std::string_view id) const { return find(id) != end() ? 1 : 0; }
  T& at(std::string_view id) {
    auto it = find(id);
    if (it == end())
      throw std::out_of_range("no record " + std::string(id));
    return it->second;
  }
  const T& at(std::string_view id) const { return const_cast<table*>(this)->at(id); }
  // The record of `id`, inserted empty when there is none.
  T& operator[](std::string_view id) {
    auto it = find(id);
    if (it != end())
      return it->second;
    return insert(atom(id), T{})->second;
  }
  std::pair<iterator, bool> emplace(atom id, T v) {  // by value: `id` may live in this table
    auto it = find(id);
    if (it != end())
      return {it, false};
    insert(id, std::move(v));
    return {find(id), true};
  }
  std::size_t erase(std::string_view id) {
    for (auto* v : {&rows_, &tail_}) {
      auto* p = lower(*v, id);
      if (p != v->data() + v->size() && p->first == id) {
        v->erase(v->begin() + (p - v->data()));
        return 1;
      }
    }
    return 0;
  }
  iterator erase(iterator it) {
    atom id = it->first;
    erase(id.view());
    return at_lower(lower(rows_, id), lower(tail_, id));
  }

  // Bulk load: append in any order, then sort(); sort() keeps the first of
  // repeated ids and returns the ids it dropped.
  void append(const atom& id, T v) {
    merge();
    rows_.emplace_back(id, std::move(v));
  }
  std::vector<atom> sort() {
    merge();
    std::stable_sort(rows_.begin(), rows_.end(), by_id);
    std::vector<atom> dropped;
    auto out = rows_.begin();
    for (auto it = rows_.begin(); it != rows_.end(); ++it) {
      if (out != rows_.begin() && std::prev(out)->first == it->first) {
        dropped.push_back(it->first);
        continue;
      }
      if (out != it)
        *out = std::move(*it);
      ++out;
    }
    rows_.erase(out, rows_.end());
    keep_little_room(rows_);
    return dropped;
  }
  void reserve(std::size_t n) { rows_.reserve(n); }

private:
  static bool by_id(const value_type& a, const value_type& b) {
    return a.first.view() < b.first.view();
  }
  static value_type* lower(std::vector<value_type>& v, std::string_view id) {
    auto it = std::lower_bound(v.begin(), v.end(), id, [](const value_type& a, std::string_view k) {
      return a.first.view() < k;
    });
    return v.data() + (it - v.begin());
  }
  iterator at_lower(value_type* a, value_type* b) {
    return {a, rows_.data() + rows_.size(), b, tail_.data() + tail_.size()};
  }
  // Inserts a new id (not present); returns its row.
  value_type* insert(const atom& id, T v) {
    if (tail_.empty() && (rows_.empty() || rows_.back().first.view() < id.view())) {
      rows_.emplace_back(id, std::move(v));
      return &rows_.back();
    }
    std::size_t limit = 64;
    while (limit * limit < rows_.size())
      limit *= 2;
    if (tail_.size() >= limit)
      merge();
    auto* p = lower(tail_, id);
    auto it = tail_.emplace(tail_.begin() + (p - tail_.data()), id, std::move(v));
    return &*it;
  }
  void merge() {
    if (tail_.empty())
      return;
    std::vector<value_type> out;
    out.reserve(rows_.size() + tail_.size());
    std::merge(std::make_move_iterator(rows_.begin()), std::make_move_iterator(rows_.end()),
               std::make_move_iterator(tail_.begin()), std::make_move_iterator(tail_.end()),
               std::back_inserter(out), by_id);
    rows_.swap(out);
    tail_.clear();
  }
  std::vector<value_type> rows_, tail_;
};

struct enterprise {
  std::string name = "Enterprise";
  std::string region;  // for regional CO2 factors; "" = national
  std::string currency = "CNY";
  std::string time_zone = "Asia/Shanghai";
  std::string language = "zh";  // reports by default: zh | en
};

// A failure of a model operation: the code (invalid_argument,
// not_found, already_exists, failed_precondition) and every problem.
struct failure {
  errc code = errc::invalid_argument;
  problems list;
  std::string message() const;
};
using result = expected<void, failure>;

// Links from a key (a parent, a meter's node, an indicator's owner) to the
// ids of the records that name it, kept as one sorted vector of atom pairs
// (16 bytes a link, not a map of string vectors: a 100,000-node tree pays
// per record).
class link_index {
public:
  struct link {
    atom key;  // the record's field (parent, node, owner)
    atom id;   // the record's id
  };
  class range {
  public:
    struct iterator {
      using iterator_category = std::forward_iterator_tag;
      using value_type = atom;
      using difference_type = std::ptrdiff_t;
      using pointer = const atom*;
      using reference = const atom&;
      const link* p = nullptr;
      const atom& operator*() const { return p->id; }
      const atom* operator->() const { return &p->id; }
      iterator& operator++() {
        ++p;
        return *this;
      }
      iterator operator++(int) {
        auto t = *this;
        ++p;
        return t;
      }
      bool operator==(const iterator& o) const { return p == o.p; }
      bool operator!=(const iterator& o) const { return p != o.p; }
    };
    range(const link* b, const link* e)
      : b_(b),
        e_(e) {}
    iterator begin() const { return {b_}; }
    iterator end() const { return {e_}; }
    std::size_t size() const { return static_cast<std::size_t>(e_ - b_); }
    bool empty() const { return b_ == e_; }
    const atom& operator[](std::size_t i) const { return b_[i].id; }

  private:
    const link* b_;
    const link* e_;
  };

  void clear() { links_.clear(); }
  void reserve(std::size_t n) { links_.reserve(n); }
  void add(const atom& key, const atom& id);
  void remove(const atom& key, const atom& id);
  range of(std::string_view key) const;
  // Adds without keeping order; sort() once after a bulk load.
  void append(const atom& key, const atom& id) { links_.push_back({key, id}); }
  void sort();

private:
  std::vector<link> links_;
};

// Parsed formulas by indicator id, with the text each was parsed from.
// Safe for concurrent readers of one model: a model shared as a snapshot
// is read by several calls at once, and a const read may fill the cache.
class parse_cache {
public:
  parse_cache() = default;
  parse_cache(const parse_cache& o)
    : map_(o.copy()) {}
  parse_cache& operator=(const parse_cache& o) {
    if (this != &o) {
      auto m = o.copy();
      std::lock_guard lock{mtx_};
      map_ = std::move(m);
    }
    return *this;
  }
  // A move belongs to the owner's thread: nobody else reads a model being
  // moved from or into.
  parse_cache(parse_cache&& o) noexcept
    : map_(std::move(o.map_)) {}
  parse_cache& operator=(parse_cache&& o) noexcept {
    map_ = std::move(o.map_);
    return *this;
  }

  // The parse of `text` cached for `id`, else parse(text), then cached.
  template <class Parse>
  expr_ptr get(const std::string& id, const std::string& text, Parse parse) {
    std::lock_guard lock{mtx_};
    auto& cached = map_[id];
    if (cached.second && cached.first == text)
      return cached.second;
    cached = {text, parse(text)};
    return cached.second;
  }
  void erase(const std::string& id) {
    std::lock_guard lock{mtx_};
    map_.erase(id);
  }
  void clear() {
    std::lock_guard lock{mtx_};
    map_.clear();
  }

private:
  std::map<std::string, std::pair<std::string, expr_ptr>> copy() const {
    std::lock_guard lock{mtx_};
    return map_;
  }
  mutable std::mutex mtx_;
  std::map<std::string, std::pair<std::string, expr_ptr>> map_;
};

class model {
public:
  model() = default;

  struct enterprise ent;
  std::map<std::string, energy_type, std::less<>> energy_types;
  table<node> nodes;
  table<meter> meters;
  std::map<std::string, product, std::less<>> products;
  std::map<std::string, indicator_template, std::less<>> templates;
  table<indicator> indicators;

  // Create or update (upsert = false: create only, already_exists if taken).
  // Each validates the record against the model; a formula is parsed,
  // resolved, type-checked and checked for cycles, and stored canonical.
  result put_energy_type(energy_type e, bool upsert = true);
  result put_node(node n, bool upsert = true);
  result put_meter(meter m, bool upsert = true);
  result put_product(product p, bool upsert = true);
  result put_template(indicator_template t, bool upsert = true);
  result put_indicator(indicator i, bool upsert = true);
  result put_enterprise(struct enterprise e);

  // Deletes; failed_precondition listing every place that uses it.
  result remove_energy_type(const std::string& id);
  result remove_node(const std::string& id);
  result remove_meter(const std::string& id);
  result remove_product(const std::string& id);
  result remove_template(const std::string& id);
  result remove_indicator(const std::string& id);

  // Every place that uses a record of `kind` (energy_type, node, meter,
  // product, template, indicator): the record that uses it and a line for
  // people; nothing for an unknown kind.
  std::vector<use> uses_of(std::string_view kind, const std::string& id) const;
  // Every place that uses the thing, as human-readable lines.
  std::vector<std::string> uses_of_energy_type(const std::string& id) const;
  std::vector<std::string> uses_of_node(const std::string& id) const;
  std::vector<std::string> uses_of_meter(const std::string& id) const;
  std::vector<std::string> uses_of_product(const std::string& id) const;
  std::vector<std::string> uses_of_template(const std::string& id) const;
  std::vector<std::string> uses_of_indicator(const std::string& id) const;

  // "Plant/Boiler room/Gas meter" for a node or meter id.
  std::string path_of(const std::string& owner_id) const;
  // "Plant/Boiler room:Gas consumption" for an indicator.
  std::string indicator_path(const std::string& indicator_id) const;
  // Children (nodes, then meters) of a node, by id.
  link_index::range child_nodes(const std::string& id) const;
  link_index::range meters_of(const std::string& node_id) const;
  link_index::range indicators_of(const std::string& owner_id) const;
  std::string root() const;  // the plant node ("" when none)

  // The parsed formula of a formula indicator (nullptr otherwise). Parsed
  // formulas are cached until forget_parsed().
  expr_ptr formula_of(const std::string& indicator_id) const;
  void forget_parsed() const { ast_.clear(); }

  // Every problem of the whole model (used after an import): records,
  // references, formulas (types) and cycles.
  problems check() const;
  // Rebuilds the indexes after the maps were filled directly (import).
  void reindex();

  // A record a put or remove changed: its kind ("enterprise", "energy_type",
  // "node", "meter", "product", "template", "indicator"), its id ("" for
  // the enterprise), and whether the change can alter a computed value
  // (structural: a removed record, a new indicator, product or price, a
  // formula, a parent, a unit...; a rename, a meter's maker, a new unit or
  // meter, which have no indicators yet, cannot). An energy type's new
  // prices or coefficients (its unit kept) are not structural but change
  // values: `coefficients` (engine::reload_coefficients).
  struct change {
    std::string kind, id;
    bool structural = true;
    bool coefficients = false;
  };
  // The changes since the last call, in order (a record may be named twice).
  std::vector<change> take_changes() { return std::exchange(changes_, {}); }

private:
  result check_cycle_from(const std::string& indicator_id) const;
  problems check_formula_types() const;
  void index_add(const std::string& kind, const std::string& id);

  void changed(std::string_view kind, std::string_view id, bool structural,
               bool coefficients = false) {
    changes_.push_back({std::string(kind), std::string(id), structural, coefficients});
  }

  std::vector<change> changes_;
  link_index children_, meters_by_node_, by_owner_;
  mutable parse_cache ast_;
  // Set on the model check() fills: unit names are checked against their
  // siblings once for the whole tree, not by every put_node (which made
  // importing a flat tree quadratic: 20,000 units under one parent).
  bool bulk_ = false;
};

bool valid_id(std::string_view id) noexcept;

// The reference data every new model starts with: energy types with their
// GB/T 2589-2020 coefficients and CO2 factors, with sources (README,
// "Energy-carbon reference data"), and the common indicator templates.
model seeded_model();

// Metering coverage of one energy type at one level: units (level 1: the
// plant, 2: level-2 units, 3: equipment) that use the energy type, and how
// many of them are metered: by a meter of their own, or through their
// children when every child using the energy type is metered.
struct coverage {
  std::string energy_type;
  int level = 1;
  int using_units = 0;
  int metered_units = 0;
  double rate_percent = 0;       // metered / using (100 when none use it)
  double required_percent = -1;  // GB 17167; negative = no requirement
  bool meets() const noexcept {
    return required_percent < 0 || rate_percent + 1e-9 >= required_percent;
  }
  std::vector<std::string> unmetered;  // paths of the units without a meter
};
std::vector<coverage> metering_coverage(const model& m);

// Coefficient lookups for a day; nullptr when none is valid.
const coefficient* coefficient_at(const std::vector<coefficient>& v, absl::CivilDay day);
const price* price_at(const std::vector<price>& v, absl::CivilDay day);
// The factor for `year` and `region`: the region's own, else the national
// one; the latest year not after `year` when that year has none.
const co2_factor* co2_at(const std::vector<co2_factor>& v, int year, std::string_view region);
// The price of one hour (civil, local), TOU slot or flat.
double price_of_hour(const price& p, absl::CivilHour hour);

}  // namespace plantd::energy
