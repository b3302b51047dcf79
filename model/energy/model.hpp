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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/time/civil_time.h>

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
  std::string name;
  std::string unit;                        // unit of a quantity: "kWh", "m3", "t", "GJ"
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
  details_box(const details_box& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
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

// A meter's master data.
struct meter_details {
  std::string model, accuracy_class, location, maker;
  std::optional<absl::CivilDay> start_date;
  bool operator==(const meter_details&) const = default;
};

enum class node_kind : uint8_t { plant, branch, workshop, equipment };
std::string_view to_string(node_kind k) noexcept;
std::optional<node_kind> parse_node_kind(std::string_view s) noexcept;

// A unit of the energy-management tree. Equipment carries its record.
struct node {
  std::string id;
  std::string name;
  node_kind kind = node_kind::workshop;
  std::string parent;       // empty for the root (the plant)
  int metering_level = 1;   // 1: enterprise, 2: secondary units, 3: main equipment
  std::string energy_type;  // main energy used ("" = none)
  // Equipment record (any node may carry it; equipment nodes should).
  details_box<equipment_details> equipment;
};

struct meter {
  std::string id;
  std::string name;
  int metering_level = 1;
  std::string energy_type;
  std::string node;  // the unit or equipment it hangs under
  details_box<meter_details> details;
  double ct_ratio = 1, pt_ratio = 1;  // the counter is multiplied by both
  double counter_rollover = 0;        // counter wraps to 0 at this value (0 = never)
  std::string live_source;            // bound plant meter: "grid.import", ... ("" = none)
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
  std::string name;
  indicator_kind kind = indicator_kind::efficiency;
  std::string energy_type;  // "" for quantities of no one energy type (tce, cost)
  std::string unit;
  enum direction direction = direction::consumption;
};

struct indicator {
  std::string id;
  std::string name;
  std::string template_id;
  std::string owner;  // a node id or a meter id
  source_kind source = source_kind::formula;
  std::string formula;  // canonical text, for source formula
};

struct enterprise {
  std::string name = "Enterprise";
  std::string region;           // for regional CO2 factors; "" = national
  std::string currency = "CNY";
  std::string time_zone = "Asia/Shanghai";
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
// ids of the records that name it, kept as one sorted vector of pointers
// into the records themselves (16 bytes a link, not a map of string
// vectors: a 100,000-node tree pays per record). A link must be removed
// before its record's key field changes or the record goes.
class link_index {
public:
  struct link {
    const std::string* key;  // the record's field (parent, node, owner)
    const std::string* id;   // the record's id (its map key)
  };
  class range {
  public:
    struct iterator {
      using iterator_category = std::forward_iterator_tag;
      using value_type = std::string;
      using difference_type = std::ptrdiff_t;
      using pointer = const std::string*;
      using reference = const std::string&;
      const link* p = nullptr;
      const std::string& operator*() const { return *p->id; }
      const std::string* operator->() const { return p->id; }
      iterator& operator++() { ++p; return *this; }
      iterator operator++(int) { auto t = *this; ++p; return t; }
      bool operator==(const iterator& o) const { return p == o.p; }
      bool operator!=(const iterator& o) const { return p != o.p; }
    };
    range(const link* b, const link* e) : b_(b), e_(e) {}
    iterator begin() const { return {b_}; }
    iterator end() const { return {e_}; }
    std::size_t size() const { return static_cast<std::size_t>(e_ - b_); }
    bool empty() const { return b_ == e_; }
    const std::string& operator[](std::size_t i) const { return *b_[i].id; }

  private:
    const link* b_;
    const link* e_;
  };

  void clear() { links_.clear(); }
  void reserve(std::size_t n) { links_.reserve(n); }
  void add(const std::string& key, const std::string& id);
  void remove(const std::string& key, const std::string& id);
  range of(std::string_view key) const;
  // Adds without keeping order; sort() once after a bulk load.
  void append(const std::string& key, const std::string& id) { links_.push_back({&key, &id}); }
  void sort();

private:
  std::vector<link> links_;
};

class model {
public:
  model() = default;
  // Copies re-link their indexes to their own records; moves keep them.
  model(const model& o);
  model& operator=(const model& o);
  model(model&&) = default;
  model& operator=(model&&) = default;

  struct enterprise ent;
  std::map<std::string, energy_type> energy_types;
  std::map<std::string, node> nodes;
  std::map<std::string, meter> meters;
  std::map<std::string, product> products;
  std::map<std::string, indicator_template> templates;
  std::map<std::string, indicator> indicators;

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

private:
  result check_cycle_from(const std::string& indicator_id) const;
  problems check_formula_types() const;
  void index_add(const std::string& kind, const std::string& id);

  link_index children_, meters_by_node_, by_owner_;
  mutable std::map<std::string, std::pair<std::string, expr_ptr>> ast_;
};

bool valid_id(std::string_view id) noexcept;

// The reference data every new model starts with: energy types with their
// GB/T 2589-2020 coefficients and CO2 factors, with sources (README,
// "Energy-carbon reference data"), and the common indicator templates.
model seeded_model();

// Metering coverage of one energy type at one level: units (level 1: the
// plant, 2: level-2 units, 3: equipment) that use the energy type, and how
// many of them have a meter of it of their own.
struct coverage {
  std::string energy_type;
  int level = 1;
  int using_units = 0;
  int metered_units = 0;
  double rate_percent = 0;      // metered / using (100 when none use it)
  double required_percent = -1; // GB 17167; negative = no requirement
  bool meets() const noexcept { return required_percent < 0 || rate_percent + 1e-9 >= required_percent; }
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

} // namespace plantd::energy
