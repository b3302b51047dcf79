#include "model/energy/engine.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace plantd::energy {
namespace {

const absl::CivilHour epoch_hour(1970, 1, 1, 0);
const absl::CivilDay epoch_day(1970, 1, 1);
const absl::CivilMonth epoch_month(1970, 1);

constexpr uint8_t none = 0xFF;

enum class code : uint8_t { constant, load, sum, coef, add, sub, mul, div, neg };
struct instr {
  code c;
  uint32_t arg = 0;
};

// Sums with counts of each usable quality (measured, manual, estimated);
// the quality of the sum is the worst present.
template <class Count>
struct tally {
  double sum = 0;
  Count n[3] = {0, 0, 0};
  quality worst() const {
    return n[2] ? quality::estimated : n[1] ? quality::manual : quality::measured;
  }
  void add(double v, quality q, int sign) {
    sum += sign * v;
    int i = q == quality::manual ? 1 : q == quality::estimated ? 2 : 0;
    n[i] = static_cast<Count>(n[i] + sign);
  }
};

// A month's or year's sum of a leaf.
struct agg : tally<uint32_t> {
  uint32_t count() const { return n[0] + n[1] + n[2]; }
};

struct day_block {
  double v[24] = {};
  uint8_t q[24];
  uint32_t mask = 0;
  day_block() { std::fill(std::begin(q), std::end(q), none); }
};

// A map from period index to V in one sorted vector: inputs come mostly in
// time order (appended), and a leaf holds a few hundred of them at most.
// Far smaller than a hash map per leaf (a 100,000-leaf tree pays per leaf).
template <class V>
class flat_map {
public:
  using item = std::pair<int64_t, V>;
  using iterator = typename std::vector<item>::iterator;
  using const_iterator = typename std::vector<item>::const_iterator;

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  iterator find(int64_t k) {
    auto it = lower(k);
    return it != items_.end() && it->first == k ? it : items_.end();
  }
  const_iterator find(int64_t k) const {
    auto it = std::lower_bound(items_.begin(), items_.end(), k,
                               [](const item& a, int64_t key) { return a.first < key; });
    return it != items_.end() && it->first == k ? it : items_.end();
  }
  std::size_t count(int64_t k) const { return find(k) != end() ? 1 : 0; }
  V& operator[](int64_t k) {
    if (items_.empty() || items_.back().first < k)
      return items_.emplace_back(k, V{}).second;
    auto it = lower(k);
    if (it == items_.end() || it->first != k)
      it = items_.emplace(it, k, V{});
    return it->second;
  }
  void erase(int64_t k) {
    auto it = find(k);
    if (it != items_.end())
      items_.erase(it);
  }
  // Removes the items before `k`, handing each to `f` first.
  template <class F>
  void take_before(int64_t k, F&& f) {
    auto end = lower(k);
    for (auto it = items_.begin(); it != end; ++it)
      f(it->first, it->second);
    items_.erase(items_.begin(), end);
  }
  bool empty() const { return items_.empty(); }

private:
  iterator lower(int64_t k) {
    return std::lower_bound(items_.begin(), items_.end(), k,
                            [](const item& a, int64_t key) { return a.first < key; });
  }
  std::vector<item> items_;
};

// A day of an hourly leaf whose hours are no longer held: their sum, which
// hours it has and how many of each quality (16 bytes, not a day_block's 224).
struct day_sum : tally<uint8_t> {
  uint32_t mask = 0;
};
static_assert(sizeof(day_sum) <= 16);

struct leaf {
  bool hourly = false;
  flat_map<day_block> hours;  // hourly leaves, by day index (days from hours_from)
  flat_map<day_sum> past;     // hourly leaves: days before hours_from
  flat_map<reading> days;     // daily leaves
  flat_map<agg> months, years;
};

// The cells' ids, one arena of their bytes (a 100,000-cell graph pays
// about 14 bytes a cell, not a std::string of 32 and its index entry), and
// the cells by id: one sorted vector of cell numbers.
class id_table {
public:
  static constexpr uint32_t npos = UINT32_MAX;
  void clear() {
    bytes_.clear();
    begin_.clear();
    sorted_.clear();
  }
  void reserve(std::size_t n) { begin_.reserve(n + 1); }
  // Ids are added in cell order.
  void add(std::string_view prefix, std::string_view id) {
    if (begin_.empty())
      begin_.push_back(0);
    bytes_.append(prefix).append(id);
    begin_.push_back(static_cast<uint32_t>(bytes_.size()));
  }
  void build() {
    bytes_.shrink_to_fit();
    begin_.shrink_to_fit();
    sorted_.resize(begin_.empty() ? 0 : begin_.size() - 1);
    for (uint32_t i = 0; i < sorted_.size(); ++i)
      sorted_[i] = i;
    std::sort(sorted_.begin(), sorted_.end(),
              [&](uint32_t a, uint32_t b) { return id(a) < id(b); });
    sorted_.shrink_to_fit();
  }
  std::string_view id(uint32_t cell) const {
    return std::string_view(bytes_).substr(begin_[cell], begin_[cell + 1] - begin_[cell]);
  }
  uint32_t find(std::string_view id) const {
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), id,
                               [&](uint32_t a, std::string_view k) { return this->id(a) < k; });
    return it != sorted_.end() && this->id(*it) == id ? *it : npos;
  }
  uint32_t at(std::string_view id) const {
    auto i = find(id);
    if (i == npos)
      throw std::out_of_range("no cell " + std::string(id));
    return i;
  }

private:
  std::string bytes_;
  std::vector<uint32_t> begin_;
  std::vector<uint32_t> sorted_;
};

enum class cell_kind : uint8_t { hourly, daily, formula };

// 16 bytes (a 100,000-cell graph pays per cell): a cell's program ends
// where the next cell's begins, its display unit's scale is a number into
// the graph's few distinct scales.
struct cell {
  leaf* lf = nullptr;  // inputs; null until the leaf has any
  uint32_t prog_begin = 0;
  cell_kind kind = cell_kind::formula;
  uint8_t scale = 0;
  bool daily_input = false;  // a daily leaf, or a formula reading one (directly or not)
};
static_assert(sizeof(cell) <= 16);

struct coef_ref {
  enum op op;
  std::string energy_type;
  double unit_scale = 1;  // scale of the energy type's unit
};

// What a frame needs to decide if a leaf's aggregate is complete.
struct requirement {
  uint32_t day_mask = 0;  // day frames: hours that have ended (and exist)
  uint32_t required = 0;  // month/year: sub-periods (hours or days) ended
  uint32_t required_days = 0;
  int64_t current_day = INT64_MIN;  // day index of as_of (if inside the period)
  int current_hour = -1;            // hour of as_of in current_day
};

struct frame {
  period p;
  std::vector<double> v;
  std::vector<quality> q;
  std::vector<double> coef_v;
  std::vector<quality> coef_q;
  std::vector<uint8_t> coef_varies;  // the coefficient is not the same all through the period
  std::vector<uint32_t> timed;       // cells summed over the sub-periods (ascending)
  requirement req_hourly, req_daily;
  int64_t valid_until_ms = INT64_MAX;
  std::list<period>::iterator lru;
};

// Whether a coefficient may take more than one value within a period: a
// price with TOU bands or several versions, a standard-coal coefficient
// with several versions (CO2 factors are by year).
bool may_vary(enum op o, const energy_type& et) {
  switch (o) {
    case op::price:
      return et.prices.size() > 1
             || std::any_of(et.prices.begin(), et.prices.end(),
                            [](const price& p) { return !p.tou.empty(); });
    case op::coal: return et.coal_equivalent.size() > 1;
    case op::coal_equal: return et.coal_equal.size() > 1;
    default: return false;
  }
}

// A formula mixing hourly and daily inputs with a coefficient that changes
// within a day (meter kWh x a TOU price + a daily entry x its price) cannot
// be evaluated as one cell: summed over hours, the daily part has no hours;
// on the day's sums, the hourly part gets the day's mean price. It is
// expanded into its additive terms (products distributed over sums,
// sum_children into the children where they differ), and the terms are
// grouped by how a period's value is made of them:
//   - fixed: no coefficient that varies: the terms on the period's sums
//     (a ratio stays a ratio of sums);
//   - hourly: a varying coefficient, hourly inputs only: the sum of each
//     hour's terms at that hour's coefficient;
//   - daily: a varying coefficient and a daily input: on each day's sums
//     (a daily entry has no hours), summed over the days of longer periods.
// Each group present becomes a hidden cell, and the indicator their sum.
struct term_splitter {
  const model& m;
  std::unordered_map<std::string, bool> daily_memo;

  struct term {
    int sign = 1;
    expr_ptr e;
  };
  static constexpr std::size_t max_terms = 64;

  static expr_ptr node(enum op o, expr_ptr a, expr_ptr b = nullptr) {
    auto x = std::make_shared<expr>();
    x->op = o;
    x->a = std::move(a);
    x->b = std::move(b);
    return x;
  }
  static expr_ptr ref(std::string id) {
    auto x = std::make_shared<expr>();
    x->op = op::ref;
    x->id = std::move(id);
    return x;
  }

  // Whether an indicator reads a daily entry or production, directly or not.
  bool reads_daily(const std::string& id) {
    if (auto it = daily_memo.find(id); it != daily_memo.end())
      return it->second;
    bool daily = false;
    const auto& ind = m.indicators.at(id);
    if (ind.source == source_kind::manual) {
      daily = true;
    } else if (ind.source == source_kind::formula) {
      if (auto f = m.formula_of(id))
        daily = expr_daily(*f, ind);
    }
    daily_memo[id] = daily;
    return daily;
  }
  bool expr_daily(const expr& e, const indicator& target) {
    if (e.op == op::production)
      return true;
    if (e.op == op::ref)
      return reads_daily(e.id);
    if (e.op == op::sum_children) {
      for (const auto& d : dependencies(e, m, target))
        if (reads_daily(d))
          return true;
      return false;
    }
    return (e.a && expr_daily(*e.a, target)) || (e.b && expr_daily(*e.b, target));
  }
  bool expr_varies(const expr& e) const {
    switch (e.op) {
      case op::price:
      case op::coal:
      case op::coal_equal:
      case op::co2: return may_vary(e.op, m.energy_types.at(e.id));
      default: return (e.a && expr_varies(*e.a)) || (e.b && expr_varies(*e.b));
    }
  }

  // The additive terms of e; nullopt when there would be more than max_terms.
  std::optional<std::vector<term>> terms(const expr_ptr& e, const indicator& target) {
    std::vector<term> out;
    switch (e->op) {
      case op::add:
      case op::sub: {
        auto a = terms(e->a, target), b = terms(e->b, target);
        if (!a || !b || a->size() + b->size() > max_terms)
          return std::nullopt;
        out = std::move(*a);
        for (auto& t : *b)
          out.push_back({e->op == op::sub ? -t.sign : t.sign, std::move(t.e)});
        return out;
      }
      case op::neg: {
        auto a = terms(e->a, target);
        if (!a)
          return std::nullopt;
        for (auto& t : *a)
          t.sign = -t.sign;
        return a;
      }
      case op::mul: {
        auto a = terms(e->a, target), b = terms(e->b, target);
        if (!a || !b || a->size() * b->size() > max_terms)
          return std::nullopt;
        if (a->size() == 1 && b->size() == 1)
          return std::vector<term>{{1, e}};
        for (const auto& x : *a)
          for (const auto& y : *b)
            out.push_back({x.sign * y.sign, node(op::mul, x.e, y.e)});
        return out;
      }
      case op::div: {
        auto a = terms(e->a, target);
        if (!a)
          return std::nullopt;
        if (a->size() == 1)
          return std::vector<term>{{1, e}};
        for (auto& t : *a)
          out.push_back({t.sign, node(op::div, t.e, e->b)});
        return out;
      }
      case op::sum_children: {
        // Children of one kind stay one term (a unit of a thousand meters
        // is one sum); mixed, each child is its own.
        auto deps = dependencies(*e, m, target);
        std::size_t daily = 0;
        for (const auto& d : deps)
          daily += reads_daily(d) ? 1 : 0;
        if (daily == 0 || daily == deps.size())
          return std::vector<term>{{1, e}};
        if (deps.size() > max_terms)
          return std::nullopt;
        for (const auto& d : deps) {
          bool output =
            m.templates.at(m.indicators.at(d).template_id).direction == direction::output;
          out.push_back({output ? -1 : 1, ref(d)});
        }
        return out;
      }
      default: return std::vector<term>{{1, e}};
    }
  }

  static expr_ptr sum_of(const std::vector<term>& ts) {
    expr_ptr s;
    for (const auto& t : ts) {
      if (!s)
        s = t.sign < 0 ? node(op::neg, t.e) : t.e;
      else
        s = node(t.sign < 0 ? op::sub : op::add, s, t.e);
    }
    return s;
  }

  // The groups of a formula (fixed, hourly, daily), when it has to be split.
  std::optional<std::array<expr_ptr, 3>> split(const expr_ptr& e, const indicator& target) {
    if (!expr_varies(*e) || !expr_daily(*e, target))
      return std::nullopt;
    auto ts = terms(e, target);
    if (!ts)
      return std::nullopt;
    std::array<std::vector<term>, 3> groups;
    for (auto& t : *ts) {
      int g = !expr_varies(*t.e) ? 0 : expr_daily(*t.e, target) ? 2 : 1;
      groups[static_cast<std::size_t>(g)].push_back(std::move(t));
    }
    int present = 0;
    for (const auto& g : groups)
      present += g.empty() ? 0 : 1;
    if (present < 2)
      return std::nullopt;
    std::array<expr_ptr, 3> out;
    for (std::size_t g = 0; g < 3; ++g)
      if (!groups[g].empty())
        out[g] = sum_of(groups[g]);
    return out;
  }
};

}  // namespace

std::string_view to_string(resolution r) noexcept {
  switch (r) {
    case resolution::hour: return "hour";
    case resolution::day: return "day";
    case resolution::month: return "month";
    case resolution::year: return "year";
  }
  return "?";
}

period period_of(resolution r, absl::CivilSecond t) {
  switch (r) {
    case resolution::hour: return {r, absl::CivilHour(t) - epoch_hour};
    case resolution::day: return {r, absl::CivilDay(t) - epoch_day};
    case resolution::month: return {r, absl::CivilMonth(t) - epoch_month};
    case resolution::year: return {r, t.year() - 1970};
  }
  return {};
}

absl::CivilSecond start_of(const period& p) {
  switch (p.res) {
    case resolution::hour: return absl::CivilSecond(epoch_hour + p.index);
    case resolution::day: return absl::CivilSecond(epoch_day + p.index);
    case resolution::month: return absl::CivilSecond(epoch_month + p.index);
    case resolution::year: return absl::CivilSecond(absl::CivilYear(1970 + p.index));
  }
  return {};
}

absl::CivilSecond end_of(const period& p) {
  return start_of(period{p.res, p.index + 1});
}

std::string label(const period& p) {
  auto s = start_of(p);
  switch (p.res) {
    case resolution::hour:
      return fmt::format("{:04}-{:02}-{:02} {:02}:00", s.year(), s.month(), s.day(), s.hour());
    case resolution::day: return fmt::format("{:04}-{:02}-{:02}", s.year(), s.month(), s.day());
    case resolution::month: return fmt::format("{:04}-{:02}", s.year(), s.month());
    case resolution::year: return fmt::format("{:04}", s.year());
  }
  return {};
}

struct engine::impl {
  absl::TimeZone tz;
  options opts;
  // Inputs by stable id, kept across loads; a leaf exists once it has any.
  std::unordered_map<std::string, leaf> leaves;
  std::vector<cell> cells;
  std::vector<double> scales;  // display-unit scales, by cell.scale
  id_table index;
  std::vector<uint32_t> order;            // cells in dependency order
  std::vector<uint32_t> rank;             // position in order
  std::vector<uint32_t> dep_begin, deps;  // dependents, CSR
  std::vector<instr> prog;
  std::vector<double> constants;
  std::vector<uint32_t> sums;  // cells summed; the high bit marks a subtracted one (output)
  static constexpr uint32_t minus = 1u << 31;
  std::vector<std::pair<uint32_t, uint32_t>> sum_ranges;
  std::vector<coef_ref> coefs;
  // Indicators split into groups of terms: their hidden cells.
  std::unordered_map<uint32_t, std::vector<uint32_t>> parts_of;
  const model* m = nullptr;                               // for versions(); valid while loaded
  std::map<std::string, energy_type, std::less<>> types;  // copies for coefficient lookups
  std::map<period, frame> frames;
  std::list<period> lru;
  std::array<frame, 3> scratch;    // sub-period frames by resolution (hour, day, month)
  frame by_class;                  // the cells of a summed cell, on one class's sums
  int64_t hours_from = INT64_MIN;  // day index: hours before it are held as day sums
  uint64_t evals = 0;
  uint64_t compiled = 0;
  // scratch for propagation
  std::vector<uint8_t> queued;
  std::vector<double> stack_v;
  std::vector<quality> stack_q;
  bool stack_ready = false;
  std::vector<uint32_t> heap_buf, touched_buf;

  bool is_skipped(absl::CivilHour h) const {
    return tz.At(absl::CivilSecond(h)).kind == absl::TimeZone::TimeInfo::SKIPPED;
  }
  int64_t ms_of(absl::CivilSecond c) const { return absl::ToUnixMillis(tz.At(c).pre); }

  // The cell of an indicator id, else of a product id (id_table::npos).
  uint32_t find(std::string_view id, bool products) const {
    auto i = index.find(id);
    if (i == id_table::npos && products)
      i = index.find(fmt::format("product:{}", id));
    return i;
  }
  uint32_t prog_end(uint32_t i) const {
    return i + 1 < cells.size() ? cells[i + 1].prog_begin : static_cast<uint32_t>(prog.size());
  }
  double scale_of(uint32_t i) const { return scales[cells[i].scale]; }
  uint8_t scale_number(double s) {
    for (std::size_t k = 0; k < scales.size(); ++k)
      if (scales[k] == s)
        return static_cast<uint8_t>(k);
    if (scales.size() > UINT8_MAX)
      throw std::length_error("energy engine: too many distinct units");
    scales.push_back(s);
    return static_cast<uint8_t>(scales.size() - 1);
  }
  // A leaf cell's inputs, created with its first input.
  leaf& inputs(uint32_t i) {
    cell& c = cells[i];
    if (!c.lf) {
      leaf& lf = leaves[std::string(index.id(i))];
      lf = leaf{};
      lf.hourly = c.kind == cell_kind::hourly;
      c.lf = &lf;
    }
    return *c.lf;
  }

  // ---- compile ----

  void compile_expr(const expr& e, const indicator& target, const model& mdl) {
    switch (e.op) {
      case op::number:
        constants.push_back(e.number);
        prog.push_back({code::constant, static_cast<uint32_t>(constants.size() - 1)});
        return;
      case op::ref: prog.push_back({code::load, index.at(e.id)}); return;
      case op::production:
        prog.push_back({code::load, index.at(fmt::format("product:{}", e.id))});
        return;
      case op::sum_children: {
        uint32_t begin = static_cast<uint32_t>(sums.size());
        auto add_from = [&](const std::string& owner) {
          for (const auto& iid : mdl.indicators_of(owner)) {
            const auto& ind = mdl.indicators.at(iid);
            if (ind.template_id != e.id)
              continue;
            bool output = mdl.templates.at(ind.template_id).direction == direction::output;
            sums.push_back(index.at(iid) | (output ? minus : 0));
          }
        };
        for (const auto& c : mdl.child_nodes(target.owner))
          add_from(c);
        for (const auto& mt : mdl.meters_of(target.owner))
          add_from(mt);
        sum_ranges.push_back({begin, static_cast<uint32_t>(sums.size())});
        prog.push_back({code::sum, static_cast<uint32_t>(sum_ranges.size() - 1)});
        return;
      }
      case op::coal:
      case op::coal_equal:
      case op::co2:
      case op::price: {
        uint32_t k = 0;
        for (; k < coefs.size(); ++k)
          if (coefs[k].op == e.op && coefs[k].energy_type == e.id)
            break;
        if (k == coefs.size()) {
          auto u = parse_unit(mdl.energy_types.at(e.id).unit);
          coefs.push_back({e.op, e.id, u ? u->scale : 1});
        }
        prog.push_back({code::coef, k});
        return;
      }
      case op::neg:
        compile_expr(*e.a, target, mdl);
        prog.push_back({code::neg});
        return;
      case op::add:
      case op::sub:
      case op::mul:
      case op::div:
        compile_expr(*e.a, target, mdl);
        compile_expr(*e.b, target, mdl);
        prog.push_back({e.op == op::add   ? code::add
                        : e.op == op::sub ? code::sub
                        : e.op == op::mul ? code::mul
                                          : code::div});
        return;
    }
  }

  void load(const model& mdl) {
    m = &mdl;
    types = mdl.energy_types;
    cells.clear();
    cells.reserve(mdl.indicators.size() + mdl.products.size());
    index.clear();
    prog.clear();
    constants.clear();
    sums.clear();
    sum_ranges.clear();
    coefs.clear();
    frames.clear();
    lru.clear();
    scales.clear();
    auto scale_for = [this](const std::string& u) {
      auto p = parse_unit(u);
      return scale_number(p ? p->scale : 1.0);
    };
    index.reserve(mdl.indicators.size() + mdl.products.size());
    for (const auto& [id, ind] : mdl.indicators) {
      cell c;
      index.add("", id);
      c.scale = scale_for(mdl.templates.at(ind.template_id).unit);
      c.kind = ind.source == source_kind::meter    ? cell_kind::hourly
               : ind.source == source_kind::manual ? cell_kind::daily
                                                   : cell_kind::formula;
      cells.push_back(std::move(c));
    }
    for (const auto& [id, p] : mdl.products) {
      cell c;
      index.add("product:", id);
      c.scale = scale_for(p.unit);
      c.kind = cell_kind::daily;
      cells.push_back(std::move(c));
    }
    // Formulas split into groups of terms (term_splitter): the groups are
    // hidden cells ("~f:", "~h:", "~d:" and the indicator's id; ids have no '~').
    struct hidden_cell {
      std::string parent;
      expr_ptr e;
    };
    std::vector<hidden_cell> hidden;
    std::unordered_map<std::string, expr_ptr> rewritten;
    parts_of.clear();
    {
      term_splitter ts{mdl, {}};
      static constexpr std::array<const char*, 3> prefix{"~f:", "~h:", "~d:"};
      for (const auto& [id, ind] : mdl.indicators) {
        if (ind.source != source_kind::formula)
          continue;
        auto f = mdl.formula_of(std::string(id));
        if (!f)
          continue;
        auto groups = ts.split(f, ind);
        if (!groups)
          continue;
        expr_ptr sum;
        for (std::size_t g = 0; g < 3; ++g) {
          if (!(*groups)[g])
            continue;
          std::string hid = std::string(prefix[g]) + std::string(id);
          cell c;
          index.add("", hid);
          c.scale = scale_for(mdl.templates.at(ind.template_id).unit);
          cells.push_back(c);
          hidden.push_back({std::string(id), (*groups)[g]});
          auto r = term_splitter::ref(hid);
          sum = sum ? term_splitter::node(op::add, sum, r) : r;
        }
        rewritten[std::string(id)] = sum;
      }
    }
    uint32_t first_hidden = static_cast<uint32_t>(cells.size() - hidden.size());
    cells.shrink_to_fit();
    index.build();
    for (uint32_t i = 0; i < cells.size(); ++i) {
      auto& c = cells[i];
      if (c.kind == cell_kind::formula)
        continue;
      auto it = leaves.find(std::string(index.id(i)));
      if (it == leaves.end())
        continue;
      if (it->second.hourly != (c.kind == cell_kind::hourly)) {
        leaves.erase(it);  // the indicator changed its source: old inputs no longer apply
        continue;
      }
      c.lf = &it->second;
    }
    // Programs and dependency edges.
    std::vector<std::vector<uint32_t>> in(cells.size());
    for (uint32_t i = 0; i < cells.size(); ++i) {
      cells[i].prog_begin = static_cast<uint32_t>(prog.size());
      if (cells[i].kind != cell_kind::formula)
        continue;
      std::string id(index.id(i));
      if (i >= first_hidden) {
        const auto& h = hidden[i - first_hidden];
        compile_expr(*h.e, mdl.indicators.at(h.parent), mdl);
        parts_of[index.at(h.parent)].push_back(i);
      } else if (auto r = rewritten.find(id); r != rewritten.end()) {
        compile_expr(*r->second, mdl.indicators.at(id), mdl);
      } else if (auto f = mdl.formula_of(id)) {
        compile_expr(*f, mdl.indicators.at(id), mdl);
      }
      for (uint32_t k = cells[i].prog_begin; k < prog.size(); ++k) {
        if (prog[k].c == code::load)
          in[i].push_back(prog[k].arg);
        if (prog[k].c == code::sum)
          for (uint32_t s = sum_ranges[prog[k].arg].first; s < sum_ranges[prog[k].arg].second; ++s)
            in[i].push_back(sums[s] & ~minus);
      }
    }
    // Kahn's order; the model has no cycles (checked when saved).
    std::vector<uint32_t> indeg(cells.size(), 0);
    std::vector<std::vector<uint32_t>> out(cells.size());
    for (uint32_t i = 0; i < cells.size(); ++i)
      for (auto d : in[i]) {
        out[d].push_back(i);
        ++indeg[i];
      }
    order.clear();
    for (uint32_t i = 0; i < cells.size(); ++i)
      if (!indeg[i])
        order.push_back(i);
    for (std::size_t k = 0; k < order.size(); ++k)
      for (auto d : out[order[k]])
        if (--indeg[d] == 0)
          order.push_back(d);
    rank.assign(cells.size(), 0);
    for (uint32_t k = 0; k < order.size(); ++k)
      rank[order[k]] = k;
    for (auto i : order) {
      auto& c = cells[i];
      c.daily_input = c.kind == cell_kind::daily;
      if (c.kind == cell_kind::formula)
        for (auto d : in[i])
          c.daily_input = c.daily_input || cells[d].daily_input;
    }
    for (auto& sc : scratch)
      sc = frame{};
    by_class = frame{};
    linearity.clear();
    dep_begin.assign(cells.size() + 1, 0);
    deps.clear();
    for (uint32_t i = 0; i < cells.size(); ++i) {
      dep_begin[i] = static_cast<uint32_t>(deps.size());
      deps.insert(deps.end(), out[i].begin(), out[i].end());
    }
    dep_begin[cells.size()] = static_cast<uint32_t>(deps.size());
    queued.assign(cells.size(), 0);
    stack_ready = false;
    mdl.forget_parsed();  // the programs have what the trees had
  }

  // ---- leaves ----

  reading leaf_value(const cell& c, const frame& f) const {
    if (!c.lf)
      return {};
    return leaf_value(*c.lf, f.p, c.lf->hourly ? f.req_hourly : f.req_daily);
  }
  reading leaf_value(const leaf& lf, const period& p, const requirement& req) const {
    reading r;
    switch (p.res) {
      case resolution::hour: {
        if (!lf.hourly)
          return r;
        auto h = epoch_hour + p.index;
        auto it = lf.hours.find(absl::CivilDay(h) - epoch_day);
        if (it == lf.hours.end())
          return r;
        int k = h.hour();
        if (it->second.q[k] == none)
          return r;
        return {it->second.v[k], static_cast<quality>(it->second.q[k])};
      }
      case resolution::day: {
        if (!lf.hourly) {
          auto it = lf.days.find(p.index);
          return it == lf.days.end() ? r : it->second;
        }
        auto it = lf.hours.find(p.index);
        if (it == lf.hours.end()) {
          auto s = lf.past.find(p.index);
          if (s == lf.past.end())
            return r;
          if ((s->second.mask & req.day_mask) != req.day_mask || s->second.mask == 0)
            return r;
          return {s->second.sum, s->second.worst()};
        }
        const auto& b = it->second;
        if (b.mask == 0)
          return r;
        bool partial = (b.mask & req.day_mask) != req.day_mask;
        // An ended day lacking an hour is missing; today so far is its
        // hours recorded, estimated when an hour that ended has none.
        if (partial && req.current_day == INT64_MIN)
          return r;
        double sum = 0;
        quality q = partial ? quality::estimated : quality::measured;
        for (int k = 0; k < 24; ++k)
          if (b.q[k] != none) {
            sum += b.v[k];
            q = worse(q, static_cast<quality>(b.q[k]));
          }
        return {sum, q};
      }
      case resolution::month:
      case resolution::year: {
        const auto& aggs = p.res == resolution::month ? lf.months : lf.years;
        auto it = aggs.find(p.index);
        if (it == aggs.end() || it->second.count() == 0)
          return r;
        uint32_t n = it->second.count();
        // The current (not ended) sub-period counts when present but is not required.
        if (req.current_day != INT64_MIN) {
          if (lf.hourly && req.current_hour >= 0) {
            auto b = lf.hours.find(req.current_day);
            if (b != lf.hours.end() && b->second.q[req.current_hour] != none)
              --n;
          } else if (!lf.hourly) {
            if (lf.days.count(req.current_day))
              --n;
          }
        }
        // An ended period lacking a sub-period is missing; the period in
        // progress (month to date) is what was recorded, estimated when a
        // sub-period that ended has nothing.
        if (n < req.required) {
          if (req.current_day == INT64_MIN)
            return r;
          return {it->second.sum, worse(it->second.worst(), quality::estimated)};
        }
        return {it->second.sum, it->second.worst()};
      }
    }
    return r;
  }

  void update_aggs(leaf& lf, absl::CivilDay day, const reading& old, const reading& now) {
    int64_t mi = absl::CivilMonth(day) - epoch_month;
    int64_t yi = day.year() - 1970;
    for (auto* a : {&lf.months[mi], &lf.years[yi]}) {
      if (old.quality != quality::missing)
        a->add(old.value, old.quality, -1);
      if (now.quality != quality::missing)
        a->add(now.value, now.quality, +1);
    }
  }

  // ---- frames ----

  requirement make_requirement(const period& p, absl::Time as_of, bool hourly,
                               int64_t& valid_until) const {
    requirement req;
    auto start = start_of(p), end = end_of(p);
    int64_t now_ms = absl::ToUnixMillis(as_of);
    auto now_civil = absl::ToCivilSecond(as_of, tz);
    bool ended = ms_of(end) <= now_ms;
    if (!ended && now_civil >= start) {
      req.current_day = absl::CivilDay(now_civil) - epoch_day;
      req.current_hour = hourly ? now_civil.hour() : -1;
      // Requirements change when the next sub-period starts.
      auto next = hourly ? absl::CivilSecond(absl::CivilHour(now_civil) + 1)
                         : absl::CivilSecond(absl::CivilDay(now_civil) + 1);
      valid_until = std::min(valid_until, ms_of(next));
    } else if (!ended) {
      valid_until = std::min(valid_until, ms_of(start));
    }
    if (p.res == resolution::hour)
      return req;
    if (hourly) {
      for (absl::CivilHour h(start); absl::CivilSecond(h) < end; ++h) {
        if (is_skipped(h))
          continue;
        if (ms_of(absl::CivilSecond(h + 1)) > now_ms)
          break;
        if (p.res == resolution::day)
          req.day_mask |= 1u << h.hour();
        ++req.required;
      }
    } else {
      for (absl::CivilDay d(start); absl::CivilSecond(d) < end; ++d) {
        if (ms_of(absl::CivilSecond(d + 1)) > now_ms)
          break;
        ++req.required;
      }
    }
    return req;
  }

  void coefficients(frame& f) const {
    f.coef_v.assign(coefs.size(), 0);
    f.coef_q.assign(coefs.size(), quality::missing);
    f.coef_varies.assign(coefs.size(), 0);
    auto start = start_of(f.p), end = end_of(f.p);
    absl::CivilDay day(start);
    for (std::size_t k = 0; k < coefs.size(); ++k) {
      const auto& c = coefs[k];
      const auto& et = types.at(c.energy_type);
      double v = 0;
      bool ok = false;
      switch (c.op) {
        case op::coal:
        case op::coal_equal: {
          const auto& list = c.op == op::coal ? et.coal_equivalent : et.coal_equal;
          auto* x = coefficient_at(list, day);
          if (x)
            v = x->value, ok = true;
          // A new version starting inside a month or year.
          if (f.p.res == resolution::month || f.p.res == resolution::year)
            for (absl::CivilDay d = day + 1; absl::CivilSecond(d) < end; ++d) {
              auto* y = coefficient_at(list, d);
              if (y != x && (!x || !y || y->value != x->value)) {
                f.coef_varies[k] = 1;
                break;
              }
            }
          break;
        }
        case op::co2: {
          auto* x = co2_at(et.co2, static_cast<int>(day.year()), m ? m->ent.region : "");
          if (x)
            v = x->value, ok = true;
          break;
        }
        case op::price: {
          if (f.p.res == resolution::hour) {
            auto* x = price_at(et.prices, day);
            if (x)
              v = price_of_hour(*x, absl::CivilHour(start)), ok = true;
          } else {
            // The time-weighted average of the period's hours: what a cell
            // evaluated on the period's sums gets. A price that changes
            // within the period (TOU bands, a new tariff) marks the cells
            // using it to be summed over the sub-periods instead.
            double sum = 0, first = 0;
            int n = 0;
            ok = true;
            for (absl::CivilHour h(start); absl::CivilSecond(h) < end; ++h) {
              auto* x = price_at(et.prices, absl::CivilDay(h));
              if (!x) {
                ok = false;
                f.coef_varies[k] = n > 0;
                break;
              }
              double ph = price_of_hour(*x, h);
              if (n == 0)
                first = ph;
              else if (ph != first)
                f.coef_varies[k] = 1;
              sum += ph;
              ++n;
            }
            if (ok && n)
              v = sum / n;
          }
          break;
        }
        default: break;
      }
      if (ok) {
        f.coef_v[k] = v / c.unit_scale;  // per base unit of the energy type
        f.coef_q[k] = quality::measured;
      }
    }
  }

  void eval(frame& f, uint32_t i) {
    ++evals;
    const cell& c = cells[i];
    if (c.kind != cell_kind::formula) {
      reading r = leaf_value(c, f);
      f.v[i] = r.quality == quality::missing ? 0 : r.value * scale_of(i);
      f.q[i] = r.quality;
      return;
    }
    std::size_t sp = 0;
    auto& sv = stack_v;
    auto& sq = stack_q;
    for (uint32_t k = c.prog_begin, end = prog_end(i); k < end; ++k) {
      const instr& in = prog[k];
      switch (in.c) {
        case code::constant:
          sv[sp] = constants[in.arg];
          sq[sp++] = quality::measured;
          break;
        case code::load:
          sv[sp] = f.v[in.arg];
          sq[sp++] = f.q[in.arg];
          break;
        case code::coef:
          sv[sp] = f.coef_v[in.arg];
          sq[sp++] = f.coef_q[in.arg];
          break;
        case code::sum: {
          auto [b, e] = sum_ranges[in.arg];
          double s = 0;
          quality q = b == e ? quality::missing : quality::measured;
          for (uint32_t x = b; x < e; ++x) {
            uint32_t k = sums[x] & ~minus;
            s += sums[x] & minus ? -f.v[k] : f.v[k];
            q = worse(q, f.q[k]);
          }
          sv[sp] = s;
          sq[sp++] = q;
          break;
        }
        case code::neg: sv[sp - 1] = -sv[sp - 1]; break;
        default: {
          --sp;
          double a = sv[sp - 1], b = sv[sp];
          quality q = worse(sq[sp - 1], sq[sp]);
          double r = 0;
          switch (in.c) {
            case code::add: r = a + b; break;
            case code::sub: r = a - b; break;
            case code::mul: r = a * b; break;
            default:
              if (b == 0)
                q = worse(q, quality::invalid);
              else
                r = a / b;
              break;
          }
          sv[sp - 1] = r;
          sq[sp - 1] = q;
          break;
        }
      }
    }
    quality q = sp ? sq[0] : quality::missing;
    f.v[i] = q == quality::missing || q == quality::invalid ? 0 : sv[0];
    f.q[i] = q;
  }

  // Sized once per load: the longest program bounds the stack.
  void ensure_stack() {
    if (stack_ready)
      return;
    stack_ready = true;
    std::size_t need = 1;
    for (uint32_t i = 0; i < cells.size(); ++i)
      need = std::max<std::size_t>(need, prog_end(i) - cells[i].prog_begin + 1);
    if (stack_v.size() < need) {
      stack_v.resize(need);
      stack_q.resize(need);
    }
  }

  // Calls fn(input) for each cell that cell i reads.
  template <class F>
  void for_each_input(uint32_t i, F&& fn) const {
    for (uint32_t k = cells[i].prog_begin, end = prog_end(i); k < end; ++k) {
      if (prog[k].c == code::load)
        fn(prog[k].arg);
      if (prog[k].c == code::sum)
        for (uint32_t s = sum_ranges[prog[k].arg].first; s < sum_ranges[prog[k].arg].second; ++s)
          fn(sums[s] & ~minus);
    }
  }

  // The cells of a period that read a coefficient changing within it (a
  // TOU price in a day): their value is the sum of their sub-period
  // values (cost = sum of each hour's consumption x that hour's price),
  // not the formula on the period's sums. Day frames leave out cells with
  // daily inputs, which have no hours to sum.
  void find_timed(frame& f, const std::vector<uint8_t>* only) const {
    f.timed.clear();
    if (f.p.res == resolution::hour)
      return;
    if (std::none_of(f.coef_varies.begin(), f.coef_varies.end(), [](uint8_t x) { return x; }))
      return;
    for (uint32_t i = 0; i < cells.size(); ++i) {
      if (cells[i].kind != cell_kind::formula || (only && !(*only)[i]))
        continue;
      if (f.p.res == resolution::day && cells[i].daily_input)
        continue;
      for (uint32_t k = cells[i].prog_begin, end = prog_end(i); k < end; ++k)
        if (prog[k].c == code::coef && f.coef_varies[prog[k].arg]) {
          f.timed.push_back(i);
          break;
        }
    }
  }

  // The timed cells' sums over the sub-periods of f (hours of a day, days
  // of a month, months of a year). A sub-period that has ended without a
  // value makes the sum missing; one not ended counts when it has a value.
  // Those linear in their hourly inputs are summed by coefficient class
  // (sum_by_class); the others evaluate each sub-period.
  std::vector<reading> sub_period_sums(frame& f, absl::Time as_of) {
    std::vector<reading> out(f.timed.size());
    std::vector<std::size_t> rest;
    class_sums_call call;
    for (std::size_t j = 0; j < f.timed.size(); ++j) {
      std::optional<reading> r;
      if (opts.sum_by_class)
        r = sum_by_class(f.p, f.timed[j], as_of, call);
      if (r)
        out[j] = *r;
      else
        rest.push_back(j);
    }
    if (!rest.empty())
      evaluate_sub_periods(f, rest, as_of, out);
    return out;
  }

  // The timed cells f.timed[j] (j in `which`) summed over the sub-periods
  // of f, each sub-period evaluated on the cells those read only.
  void evaluate_sub_periods(frame& f, const std::vector<std::size_t>& which, absl::Time as_of,
                            std::vector<reading>& out) {
    auto sub = static_cast<resolution>(static_cast<int>(f.p.res) - 1);
    std::vector<uint8_t> cone(cells.size(), 0);
    std::vector<uint32_t> stack;
    for (auto j : which)
      if (!cone[f.timed[j]])
        cone[f.timed[j]] = 1, stack.push_back(f.timed[j]);
    while (!stack.empty()) {
      uint32_t i = stack.back();
      stack.pop_back();
      for_each_input(i, [&](uint32_t j) {
        if (!cone[j])
          cone[j] = 1, stack.push_back(j);
      });
    }
    for (auto j : which)
      out[j] = reading{0, quality::measured};
    std::vector<uint8_t> counted(f.timed.size(), 0), broken(f.timed.size(), 0);
    int64_t now_ms = absl::ToUnixMillis(as_of);
    auto end = end_of(f.p);
    // In a period still in progress a missing sub-period makes the sum so
    // far estimated; in one that ended, missing.
    bool in_progress = ms_of(end) > now_ms;
    frame& sc = scratch[static_cast<std::size_t>(sub)];
    for (period s = period_of(sub, start_of(f.p)); start_of(s) < end; ++s.index) {
      if (sub == resolution::hour && is_skipped(absl::CivilHour(start_of(s))))
        continue;
      if (ms_of(start_of(s)) >= now_ms)
        break;  // not begun
      bool ended = ms_of(end_of(s)) <= now_ms;
      // A kept, current frame of the sub-period has the values; else the
      // cells needed are evaluated in a scratch frame.
      const frame* src = nullptr;
      if (auto kept = frames.find(s);
          kept != frames.end() && now_ms < kept->second.valid_until_ms) {
        src = &kept->second;
      } else {
        sc.p = s;
        evaluate_full(sc, as_of, &cone);
        src = &sc;
      }
      f.valid_until_ms = std::min(f.valid_until_ms, src->valid_until_ms);
      for (auto j : which) {
        quality q = src->q[f.timed[j]];
        if (q == quality::missing) {
          if (ended && in_progress)
            out[j].quality = worse(out[j].quality, quality::estimated);
          else
            broken[j] |= ended;
          continue;
        }
        out[j].value += src->v[f.timed[j]];
        out[j].quality = worse(out[j].quality, q);
        counted[j] = 1;
      }
    }
    for (auto j : which) {
      if (broken[j] || !counted[j])
        out[j] = reading{};
      else if (out[j].quality == quality::invalid)
        out[j].value = 0;
    }
  }

  // ---- summed cells by coefficient class ----
  //
  // A summed cell t whose hour value is linear in its hourly inputs once
  // the coefficients are fixed (kWh x a TOU price, summed up a tree) does
  // not need every hour evaluated: the sum over the hours of one
  // coefficient value (a class: the peak hours of a tariff) of t is t on
  // the sums of its inputs over those hours. So each input is added up by
  // class, and the cells t reads are evaluated once per class. What is
  // summed follows the same rules as evaluate_sub_periods, sub-period by
  // sub-period: a sub-period whose value would be missing adds none of its
  // hours, and its quality is the worst of its inputs' and of what the
  // formula itself gives on the class's coefficients (a missing price, a
  // division by a zero coefficient): the quality of a linear formula does
  // not depend on the values.

  // How a cell depends on the hourly inputs: not at all (constants,
  // coefficients), linearly (sums, a factor that does not depend on them),
  // or otherwise (a daily input, a product or a ratio of two inputs, a
  // constant added).
  enum class dependence : uint8_t { none, linear, other };
  std::vector<dependence> linearity;  // by cell; computed when first needed after a load
  // By cell: whether a cell it reads reads a coefficient (no sum by class).
  std::vector<uint8_t> by_class_refused;
  std::vector<uint32_t> marks;  // by cell: the cone walk's marks, by epoch
  uint32_t mark_epoch = 0;

  void compute_linearity() {
    if (linearity.size() == cells.size())
      return;
    linearity.assign(cells.size(), dependence::other);
    by_class_refused.assign(cells.size(), 0);
    marks.assign(cells.size(), 0);
    mark_epoch = 0;
    std::vector<dependence> st;
    using enum dependence;
    for (auto i : order) {
      const cell& c = cells[i];
      if (c.kind != cell_kind::formula) {
        linearity[i] = c.kind == cell_kind::hourly ? linear : other;
        continue;
      }
      st.clear();
      for (uint32_t k = c.prog_begin, end = prog_end(i); k < end; ++k) {
        const instr& in = prog[k];
        switch (in.c) {
          case code::constant:
          case code::coef: st.push_back(none); break;
          case code::load: st.push_back(linearity[in.arg]); break;
          case code::sum: {
            bool lin = false, flat = false, bad = false;
            for (uint32_t x = sum_ranges[in.arg].first; x < sum_ranges[in.arg].second; ++x) {
              auto d = linearity[sums[x] & ~minus];
              lin |= d == linear;
              flat |= d == none;
              bad |= d == other;
            }
            st.push_back(bad || (lin && flat) ? other : lin ? linear : none);
            break;
          }
          case code::neg: break;
          default: {
            auto b = st.back();
            st.pop_back();
            auto a = st.back();
            dependence r = other;
            if (a != other && b != other) {
              if (in.c == code::add || in.c == code::sub)
                r = a == b ? a : other;  // an input plus a constant is not linear
              else if (in.c == code::mul)
                r = a == linear && b == linear ? other : a == linear || b == linear ? linear : none;
              else
                r = b == linear ? other : a;
            }
            st.back() = r;
            break;
          }
        }
      }
      linearity[i] = st.size() == 1 ? st[0] : other;
    }
  }

  // A sub-period of the period summed: hours, and days or months that are
  // summed themselves (timed) or not (the formula on their sums).
  struct sub_node {
    period p;
    uint32_t first = 0, end = 0;  // timed: its sub-periods, in the nodes
    int cls = -1;                 // not timed: its coefficient class
    bool timed = false, ended = false, added = false, kept = false;
    quality q = quality::measured;
    requirement req;  // not timed, not an hour: what its inputs' sums require
    int64_t day = 0;  // an hour: its day's index and its hour in the day
    int hour = 0;
  };

  const frame& coefficients_of(std::map<period, frame>& cache, const period& p) const {
    auto [it, fresh] = cache.try_emplace(p);
    if (fresh) {
      it->second.p = p;
      coefficients(it->second);
    }
    return it->second;
  }

  // Cell t of a frame of period p summed by coefficient class; nullopt
  // when t is not linear in hourly inputs only, when a cell it reads reads
  // a coefficient itself (summed its own way), or when p has days held as
  // their sums.
  // The sub-periods of a period summed for cells reading the same
  // coefficients, breadth first (a node's sub-periods are consecutive), and
  // the coefficient classes of those not timed.
  struct sub_tree {
    std::vector<sub_node> nodes;
    std::vector<const frame*> classes;  // their coefficients (in the call's cache)
  };
  // What one evaluation of a frame's summed cells shares between them.
  struct class_sums_call {
    std::map<period, frame> coefficients;
    std::map<std::vector<uint32_t>, sub_tree> trees;  // by the coefficients read
  };

  const sub_tree& tree_for(const period& p, const std::vector<uint32_t>& own, absl::Time as_of,
                           class_sums_call& call) {
    auto [found, fresh_tree] = call.trees.try_emplace(own);
    sub_tree& tree = found->second;
    if (!fresh_tree)
      return tree;
    int64_t now_ms = absl::ToUnixMillis(as_of);
    auto& nodes = tree.nodes;
    nodes.resize(1);
    nodes[0].p = p;
    nodes[0].timed = true;
    std::map<std::vector<std::pair<double, quality>>, int> class_index;
    std::vector<std::pair<double, quality>> key;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      if (!nodes[n].timed)
        continue;
      period parent = nodes[n].p;
      auto sub = static_cast<resolution>(static_cast<int>(parent.res) - 1);
      auto end = end_of(parent);
      nodes[n].first = static_cast<uint32_t>(nodes.size());
      for (period s = period_of(sub, start_of(parent)); start_of(s) < end; ++s.index) {
        if (sub == resolution::hour && is_skipped(absl::CivilHour(start_of(s))))
          continue;
        if (ms_of(start_of(s)) >= now_ms)
          break;  // not begun
        sub_node c;
        c.p = s;
        c.ended = ms_of(end_of(s)) <= now_ms;
        if (sub == resolution::hour) {
          auto h = epoch_hour + s.index;
          c.day = absl::CivilDay(h) - epoch_day;
          c.hour = h.hour();
        }
        const frame& cf = coefficients_of(call.coefficients, s);
        if (sub != resolution::hour)
          c.timed =
            std::any_of(own.begin(), own.end(), [&](uint32_t k) { return cf.coef_varies[k]; });
        if (!c.timed) {
          key.clear();
          for (auto k : own)
            key.emplace_back(cf.coef_v[k], cf.coef_q[k]);
          auto [it, fresh] = class_index.try_emplace(key, static_cast<int>(tree.classes.size()));
          if (fresh)
            tree.classes.push_back(&cf);
          c.cls = it->second;
          if (sub != resolution::hour) {
            int64_t unused = INT64_MAX;
            c.req = make_requirement(s, as_of, true, unused);
          }
        }
        nodes.push_back(c);
      }
      nodes[n].end = static_cast<uint32_t>(nodes.size());
    }
    return tree;
  }

  // Cell t of a frame of period p summed by coefficient class; nullopt
  // when t is not linear in hourly inputs only, when a cell it reads reads
  // a coefficient itself (summed its own way), or when p has days held as
  // their sums.
  std::optional<reading> sum_by_class(const period& p, uint32_t t, absl::Time as_of,
                                      class_sums_call& call) {
    compute_linearity();
    if (p.res == resolution::hour || linearity[t] != dependence::linear || cells[t].daily_input
        || absl::CivilDay(start_of(p)) - epoch_day < hours_from || by_class_refused[t])
      return std::nullopt;
    // The cells t reads, in dependency order; its hourly inputs.
    std::vector<uint32_t> cone{t};
    if (++mark_epoch == 0) {  // wrapped: marks of old epochs could match again
      std::fill(marks.begin(), marks.end(), 0);
      mark_epoch = 1;
    }
    marks[t] = mark_epoch;
    for (std::size_t n = 0; n < cone.size(); ++n)
      for_each_input(cone[n], [&](uint32_t j) {
        if (marks[j] != mark_epoch)
          marks[j] = mark_epoch, cone.push_back(j);
      });
    for (std::size_t n = 1; n < cone.size(); ++n)
      for (uint32_t k = cells[cone[n]].prog_begin, end = prog_end(cone[n]); k < end; ++k)
        if (prog[k].c == code::coef) {
          by_class_refused[t] = 1;  // until the next load
          return std::nullopt;
        }
    std::sort(cone.begin(), cone.end(), [&](uint32_t a, uint32_t b) { return rank[a] < rank[b]; });
    std::vector<uint32_t> own;  // the coefficients t reads
    for (uint32_t k = cells[t].prog_begin, end = prog_end(t); k < end; ++k)
      if (prog[k].c == code::coef && std::find(own.begin(), own.end(), prog[k].arg) == own.end())
        own.push_back(prog[k].arg);
    std::sort(own.begin(), own.end());
    const sub_tree& tree = tree_for(p, own, as_of, call);
    std::vector<sub_node> nodes = tree.nodes;  // t's qualities and sums go in its copy
    const auto& classes = tree.classes;
    int64_t now_ms = absl::ToUnixMillis(as_of);

    // The cone on a class's coefficients, its inputs set by `input`.
    frame& cf = by_class;
    if (cf.v.size() != cells.size()) {
      cf.v.assign(cells.size(), 0);
      cf.q.assign(cells.size(), quality::missing);
    }
    ensure_stack();
    auto evaluate_class = [&](int k, auto&& input) {
      cf.coef_v = classes[static_cast<std::size_t>(k)]->coef_v;
      cf.coef_q = classes[static_cast<std::size_t>(k)]->coef_q;
      std::size_t pos = 0;
      for (auto i : cone) {
        if (cells[i].kind == cell_kind::formula) {
          eval(cf, i);
        } else {
          cf.v[i] = input(pos++) * scale_of(i);
          cf.q[i] = quality::measured;
        }
      }
      return reading{cf.v[t], cf.q[t]};
    };
    std::vector<quality> class_q(classes.size());
    for (std::size_t k = 0; k < classes.size(); ++k)
      class_q[k] = evaluate_class(static_cast<int>(k), [](std::size_t) { return 0.0; }).quality;

    // The inputs of each hour and of each sub-period not timed, by visiting
    // every input's days once.
    std::vector<uint32_t> hours, sums_of;  // nodes: hours; not timed and not hours
    for (uint32_t n = 1; n < nodes.size(); ++n)
      if (!nodes[n].timed)
        (nodes[n].p.res == resolution::hour ? hours : sums_of).push_back(n);
    auto visit = [&](const leaf* lf, const std::vector<uint32_t>& hs, auto&& at_hour) {
      int64_t day = INT64_MIN;
      const day_block* b = nullptr;
      for (auto n : hs) {
        if (nodes[n].day != day) {
          day = nodes[n].day;
          b = nullptr;
          if (lf)
            if (auto it = lf->hours.find(day); it != lf->hours.end())
              b = &it->second;
        }
        at_hour(n, b, nodes[n].hour);
      }
    };
    std::vector<quality> worst(nodes.size(), quality::measured);
    for (auto i : cone) {
      if (cells[i].kind == cell_kind::formula)
        continue;
      const leaf* lf = cells[i].lf;
      visit(lf, hours, [&](uint32_t n, const day_block* b, int k) {
        quality q = b && b->q[k] != none ? static_cast<quality>(b->q[k]) : quality::missing;
        worst[n] = worse(worst[n], q);
      });
      for (auto n : sums_of)
        worst[n] = worse(worst[n],
                         lf ? leaf_value(*lf, nodes[n].p, nodes[n].req).quality : quality::missing);
    }
    for (uint32_t n = 1; n < nodes.size(); ++n)
      if (!nodes[n].timed)
        nodes[n].q = worse(class_q[static_cast<std::size_t>(nodes[n].cls)], worst[n]);

    // Up the tree, as evaluate_sub_periods sums: in a period in progress a
    // missing sub-period that ended makes the sum estimated, in one that
    // ended missing.
    for (auto n = nodes.size(); n-- > 0;) {
      sub_node& x = nodes[n];
      if (!x.timed)
        continue;
      bool in_progress = ms_of(end_of(x.p)) > now_ms;
      bool counted = false, broken = false;
      quality q = quality::measured;
      for (uint32_t c = x.first; c < x.end; ++c) {
        sub_node& y = nodes[c];
        if (y.q == quality::missing) {
          if (y.ended && in_progress)
            q = worse(q, quality::estimated);
          else
            broken |= y.ended;
          continue;
        }
        q = worse(q, y.q);
        y.added = true;
        counted = true;
      }
      x.q = broken || !counted ? quality::missing : q;
    }
    if (nodes[0].q == quality::missing)
      return reading{};
    nodes[0].kept = true;
    for (auto& x : nodes)
      if (x.timed && x.kept)
        for (uint32_t c = x.first; c < x.end; ++c)
          nodes[c].kept = nodes[c].added;

    // The inputs' sums by class, over the sub-periods kept.
    std::size_t nk = classes.size();
    std::vector<uint32_t> kept_hours, kept_sums;
    std::vector<uint8_t> class_used(nk, 0);
    for (auto n : hours)
      if (nodes[n].kept)
        kept_hours.push_back(n), class_used[static_cast<std::size_t>(nodes[n].cls)] = 1;
    for (auto n : sums_of)
      if (nodes[n].kept)
        kept_sums.push_back(n), class_used[static_cast<std::size_t>(nodes[n].cls)] = 1;
    std::vector<double> totals;
    for (auto i : cone) {
      if (cells[i].kind == cell_kind::formula)
        continue;
      std::size_t base = totals.size();
      totals.resize(base + nk, 0.0);
      const leaf* lf = cells[i].lf;  // every input has some: the sum is not missing
      visit(lf, kept_hours, [&](uint32_t n, const day_block* b, int k) {
        totals[base + static_cast<std::size_t>(nodes[n].cls)] += b->v[k];
      });
      for (auto n : kept_sums)
        totals[base + static_cast<std::size_t>(nodes[n].cls)] +=
          leaf_value(*lf, nodes[n].p, nodes[n].req).value;
    }
    double sum = 0;
    for (std::size_t k = 0; k < nk; ++k)
      if (class_used[k])
        sum += evaluate_class(static_cast<int>(k), [&](std::size_t pos) {
                 return totals[pos * nk + k];
               }).value;
    reading r{sum, nodes[0].q};
    if (r.quality == quality::invalid)
      r.value = 0;
    return r;
  }

  // Every cell of f, or (`only`: a scratch frame) the cells marked.
  void evaluate_full(frame& f, absl::Time as_of, const std::vector<uint8_t>* only = nullptr) {
    f.valid_until_ms = INT64_MAX;
    f.req_hourly = make_requirement(f.p, as_of, true, f.valid_until_ms);
    f.req_daily = make_requirement(f.p, as_of, false, f.valid_until_ms);
    coefficients(f);
    if (!only || f.v.size() != cells.size()) {
      f.v.assign(cells.size(), 0);
      f.q.assign(cells.size(), quality::missing);
    }
    ensure_stack();
    find_timed(f, only);
    if (f.timed.empty()) {
      for (auto i : order)
        if (!only || (*only)[i])
          eval(f, i);
      return;
    }
    // A day whose hours are held only as its sum has no hours to sum: the
    // formula on the day's sums (the time-weighted average price), estimated.
    bool summed_day = f.p.res == resolution::day && f.p.index < hours_from;
    std::vector<reading> timed_values;
    if (!summed_day)
      timed_values = sub_period_sums(f, as_of);
    for (auto i : order) {
      if (only && !(*only)[i])
        continue;
      auto it = std::lower_bound(f.timed.begin(), f.timed.end(), i);
      if (it == f.timed.end() || *it != i) {
        eval(f, i);
      } else if (summed_day) {
        eval(f, i);
        if (f.q[i] != quality::missing && f.q[i] != quality::invalid)
          f.q[i] = worse(f.q[i], quality::estimated);
      } else {
        const reading& r = timed_values[static_cast<std::size_t>(it - f.timed.begin())];
        f.v[i] = r.quality == quality::missing ? 0 : r.value;
        f.q[i] = r.quality;
      }
    }
  }

  frame& get(const period& p, absl::Time as_of) {
    auto it = frames.find(p);
    if (it != frames.end()) {
      lru.splice(lru.begin(), lru, it->second.lru);
      if (absl::ToUnixMillis(as_of) >= it->second.valid_until_ms)
        evaluate_full(it->second, as_of);
      return it->second;
    }
    // Frames kept: at most max_frames, and within max_frame_bytes (at least
    // two, so a period and its parent can be kept together).
    std::size_t per_frame = cells.size() * (sizeof(double) + sizeof(quality)) + 1;
    std::size_t limit =
      std::max<std::size_t>(2, std::min(opts.max_frames, opts.max_frame_bytes / per_frame));
    // The least recently used frame's buffers are reused for the new one:
    // no churn of large blocks (which would leave the heap fragmented).
    decltype(frames)::node_type recycled;
    while (frames.size() >= limit && !lru.empty()) {
      recycled = frames.extract(lru.back());
      lru.pop_back();
    }
    lru.push_front(p);
    if (recycled) {
      recycled.key() = p;
      frames.insert(std::move(recycled));
    }
    auto& f = frames[p];
    f.p = p;
    f.lru = lru.begin();
    evaluate_full(f, as_of);
    return f;
  }

  // Re-computes the cells that depend on `start` in one kept frame.
  void propagate(frame& f, uint32_t start) {
    ensure_stack();
    auto cmp = [&](uint32_t a, uint32_t b) { return rank[a] > rank[b]; };
    heap_buf.clear();
    std::priority_queue<uint32_t, std::vector<uint32_t>, decltype(cmp)> heap(cmp,
                                                                             std::move(heap_buf));
    auto& touched = touched_buf;
    touched.clear();
    heap.push(start);
    queued[start] = 1;
    touched.push_back(start);
    while (!heap.empty()) {
      uint32_t i = heap.top();
      heap.pop();
      double old_v = f.v[i];
      quality old_q = f.q[i];
      eval(f, i);
      if (old_v == f.v[i] && old_q == f.q[i])
        continue;
      for (uint32_t d = dep_begin[i]; d < dep_begin[i + 1]; ++d) {
        uint32_t j = deps[d];
        if (!queued[j]) {
          queued[j] = 1;
          touched.push_back(j);
          heap.push(j);
        }
      }
    }
    for (auto t : touched)
      queued[t] = 0;
  }

  void changed(uint32_t cell_index, absl::CivilSecond when, bool hourly) {
    for (auto r : {resolution::hour, resolution::day, resolution::month, resolution::year}) {
      if (r == resolution::hour && !hourly)
        continue;
      auto it = frames.find(period_of(r, when));
      if (it == frames.end())
        continue;
      // A frame with summed cells is computed again when next asked.
      if (!it->second.timed.empty())
        it->second.valid_until_ms = INT64_MIN;
      else
        propagate(it->second, cell_index);
    }
  }
};

engine::engine(absl::TimeZone tz, options opts)
  : impl_(std::make_unique<impl>()) {
  impl_->tz = tz;
  impl_->opts = opts;
}
engine::~engine() = default;

void engine::load(const model& m) {
  impl_->load(m);
  ++impl_->compiled;
}

bool engine::reload_coefficients(const model& m) {
  auto& d = *impl_;
  for (uint32_t k = 0; k < d.coefs.size(); ++k) {
    const auto& c = d.coefs[k];
    auto now = m.energy_types.find(c.energy_type);
    auto was = d.types.find(c.energy_type);
    if (now == m.energy_types.end() || was == d.types.end())
      return false;
    auto u = parse_unit(now->second.unit);
    if ((u ? u->scale : 1) != c.unit_scale)
      return false;
    if (may_vary(c.op, was->second) == may_vary(c.op, now->second))
      continue;
    // Whether a formula reading it was split, or would be now: one with a
    // daily input, or a group of one split (a hidden cell, "~").
    for (uint32_t i = 0; i < d.cells.size(); ++i) {
      if (d.cells[i].kind != cell_kind::formula)
        continue;
      for (uint32_t x = d.cells[i].prog_begin, end = d.prog_end(i); x < end; ++x)
        if (d.prog[x].c == code::coef && d.prog[x].arg == k
            && (d.cells[i].daily_input || d.index.id(i).starts_with("~")))
          return false;
    }
  }
  d.m = &m;
  d.types = m.energy_types;
  d.frames.clear();
  d.lru.clear();
  return true;
}

uint64_t engine::compilations() const noexcept {
  return impl_->compiled;
}

std::size_t engine::cells() const noexcept {
  return impl_->cells.size();
}
std::size_t engine::frames_kept() const noexcept {
  return impl_->frames.size();
}
uint64_t engine::evaluations() const noexcept {
  return impl_->evals;
}

std::string_view engine::leaf_kind(const std::string& id) const {
  auto i = impl_->find(id, true);
  if (i == id_table::npos)
    return "";
  if (impl_->index.id(i).starts_with("product:"))
    return "production";
  switch (impl_->cells[i].kind) {
    case cell_kind::hourly: return "meter";
    case cell_kind::daily: return "manual";
    case cell_kind::formula: return "formula";
  }
  return "";
}

bool engine::set_hour(const std::string& id, absl::CivilHour h, reading r,
                      std::optional<reading> was) {
  auto& d = *impl_;
  auto i = d.find(id, false);
  if (i == id_table::npos || d.cells[i].kind != cell_kind::hourly)
    return false;
  if (r.quality != quality::missing && !r.usable())
    return false;
  absl::CivilDay day(h);
  int64_t di = day - epoch_day;
  int k = h.hour();
  if (di < d.hours_from) {
    // A day held as its sum: the hour's old value is the caller's to give.
    uint32_t bit = 1u << k;
    if (d.cells[i].lf) {
      auto s = d.cells[i].lf->past.find(di);
      if (s != d.cells[i].lf->past.end() && (s->second.mask & bit) && !(was && was->usable()))
        return false;
    }
    leaf& lf = d.inputs(i);
    auto& s = lf.past[di];
    reading old;
    if (s.mask & bit) {
      old = *was;
      s.add(old.value, old.quality, -1);
    }
    if (r.quality == quality::missing) {
      s.mask &= ~bit;
    } else {
      s.add(r.value, r.quality, +1);
      s.mask |= bit;
    }
    if (!s.mask)
      lf.past.erase(di);
    d.update_aggs(lf, day, old, r);
    d.changed(i, absl::CivilSecond(h), true);
    return true;
  }
  leaf& lf = d.inputs(i);
  auto& b = lf.hours[di];
  reading old;
  if (b.q[k] != none)
    old = {b.v[k], static_cast<quality>(b.q[k])};
  if (r.quality == quality::missing) {
    b.q[k] = none;
    b.v[k] = 0;
    b.mask &= ~(1u << k);
  } else {
    b.v[k] = r.value;
    b.q[k] = static_cast<uint8_t>(r.quality);
    b.mask |= 1u << k;
  }
  d.update_aggs(lf, day, old, r);
  d.changed(i, absl::CivilSecond(h), true);
  return true;
}

bool engine::add_hour(const std::string& id, absl::CivilHour h, double amount, quality q) {
  auto& d = *impl_;
  auto i = d.find(id, false);
  if (i == id_table::npos || d.cells[i].kind != cell_kind::hourly)
    return false;
  reading now{amount, q};
  if (auto old = hour_input(id, h); old.quality != quality::missing) {
    now.value += old.value;
    now.quality = worse(q, old.quality);
  }
  return set_hour(id, h, now);
}

void engine::keep_hours_from(absl::CivilDay day) {
  auto& d = *impl_;
  int64_t from = day - epoch_day;
  if (from <= d.hours_from)
    return;
  d.hours_from = from;
  for (auto& [id, lf] : d.leaves) {
    if (!lf.hourly)
      continue;
    lf.hours.take_before(from, [&](int64_t di, const day_block& b) {
      if (!b.mask)
        return;
      day_sum s;
      s.mask = b.mask;
      for (int k = 0; k < 24; ++k)
        if (b.q[k] != none)
          s.add(b.v[k], static_cast<quality>(b.q[k]), +1);
      lf.past[di] = s;
    });
  }
  // Kept hour frames of those days would disagree with new ones, and so
  // would frames summing their hours (now at the days' average price).
  auto from_second = absl::CivilSecond(epoch_day + from);
  for (auto it = d.frames.begin(); it != d.frames.end();) {
    bool hours_gone = it->first.res == resolution::hour && it->first.index < from * 24;
    bool sums_gone = !it->second.timed.empty() && start_of(it->first) < from_second;
    if (hours_gone || sums_gone) {
      d.lru.erase(it->second.lru);
      it = d.frames.erase(it);
    } else {
      ++it;
    }
  }
}

engine::inputs engine::inputs_of(const std::vector<std::string>& ids) const {
  const auto& d = *impl_;
  std::vector<uint8_t> seen(d.cells.size(), 0);
  std::vector<uint32_t> stack;
  for (const auto& id : ids) {
    auto i = d.find(id, false);
    if (i != id_table::npos && !seen[i])
      seen[i] = 1, stack.push_back(i);
  }
  inputs out;
  auto varies = [&](const coef_ref& c) { return may_vary(c.op, d.types.at(c.energy_type)); };
  while (!stack.empty()) {
    uint32_t i = stack.back();
    stack.pop_back();
    const auto& c = d.cells[i];
    if (c.kind == cell_kind::hourly)
      out.hourly.emplace_back(d.index.id(i));
    if (c.kind == cell_kind::daily)
      out.daily.emplace_back(d.index.id(i));
    for (uint32_t k = c.prog_begin, end = d.prog_end(i); k < end; ++k)
      if (d.prog[k].c == code::coef && varies(d.coefs[d.prog[k].arg]))
        out.time_varying_coefficients = true;
    d.for_each_input(i, [&](uint32_t j) {
      if (!seen[j])
        seen[j] = 1, stack.push_back(j);
    });
  }
  std::sort(out.hourly.begin(), out.hourly.end());
  std::sort(out.daily.begin(), out.daily.end());
  return out;
}

std::optional<absl::CivilDay> engine::hours_kept_from() const {
  if (impl_->hours_from == INT64_MIN)
    return std::nullopt;
  return epoch_day + impl_->hours_from;
}

reading engine::hour_input(const std::string& id, absl::CivilHour h) const {
  const auto& d = *impl_;
  auto i = d.find(id, false);
  if (i == id_table::npos || d.cells[i].kind != cell_kind::hourly || !d.cells[i].lf)
    return {};
  const leaf& lf = *d.cells[i].lf;
  auto b = lf.hours.find(absl::CivilDay(h) - epoch_day);
  if (b == lf.hours.end() || b->second.q[h.hour()] == none)
    return {};
  return {b->second.v[h.hour()], static_cast<quality>(b->second.q[h.hour()])};
}

bool engine::set_day(const std::string& id, absl::CivilDay day, reading r) {
  auto& d = *impl_;
  auto i = d.find(id, true);
  if (i == id_table::npos || d.cells[i].kind != cell_kind::daily)
    return false;
  if (r.quality != quality::missing && !r.usable())
    return false;
  leaf& lf = d.inputs(i);
  int64_t di = day - epoch_day;
  reading old;
  if (auto o = lf.days.find(di); o != lf.days.end())
    old = o->second;
  if (r.quality == quality::missing)
    lf.days.erase(di);
  else
    lf.days[di] = r;
  d.update_aggs(lf, day, old, r);
  d.changed(i, absl::CivilSecond(day), false);
  return true;
}

reading engine::value(const std::string& id, const period& p, absl::Time as_of) {
  auto& d = *impl_;
  auto i = d.find(id, true);
  if (i == id_table::npos)
    return {};
  frame& f = d.get(p, as_of);
  reading r{f.v[i] / d.scale_of(i), f.q[i]};
  if (r.quality == quality::missing || r.quality == quality::invalid)
    r.value = 0;
  return r;
}

const std::vector<double>& engine::frame_values(const period& p, absl::Time as_of) {
  return impl_->get(p, as_of).v;
}

std::vector<used_version> engine::versions(const std::string& id, const period& p) const {
  std::vector<used_version> out;
  const auto& d = *impl_;
  auto i = d.find(id, false);
  if (i == id_table::npos)
    return out;
  absl::CivilDay day(start_of(p));
  std::vector<uint32_t> progs{i};
  if (auto parts = d.parts_of.find(i); parts != d.parts_of.end())
    progs.insert(progs.end(), parts->second.begin(), parts->second.end());
  std::vector<uint32_t> used;  // coefficients, in the order the formula reads them
  for (uint32_t c : progs)
    for (uint32_t k = d.cells[c].prog_begin, end = d.prog_end(c); k < end; ++k)
      if (d.prog[k].c == code::coef
          && std::find(used.begin(), used.end(), d.prog[k].arg) == used.end())
        used.push_back(d.prog[k].arg);
  // The days of the period: [first, last).
  absl::CivilDay last(end_of(p));
  if (last <= day)
    last = day + 1;
  auto overlaps = [&](absl::CivilDay from, std::optional<absl::CivilDay> to) {
    return from < last && (!to || day < *to);
  };
  for (uint32_t arg : used) {
    const auto& ref = d.coefs[arg];
    const auto& et = d.types.at(ref.energy_type);
    const char* fn = ref.op == op::coal         ? "coal"
                     : ref.op == op::coal_equal ? "coal_equal"
                     : ref.op == op::co2        ? "co2"
                                                : "price";
    auto what = fmt::format("{}({})", fn, ref.energy_type);
    std::size_t before = out.size();
    if (ref.op == op::coal || ref.op == op::coal_equal) {
      for (const auto& x : ref.op == op::coal ? et.coal_equivalent : et.coal_equal)
        if (overlaps(x.valid_from, x.valid_to))
          out.push_back({what, x.version, x.source, x.value});
    } else if (ref.op == op::co2) {
      for (int y = static_cast<int>(day.year()); y <= static_cast<int>((last - 1).year()); ++y)
        if (auto* x = co2_at(et.co2, y, d.m ? d.m->ent.region : "")) {
          auto v = fmt::format("{} ({}{}{})", x->version, x->year, x->region.empty() ? "" : ", ",
                               x->region);
          if (std::none_of(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                           [&](const used_version& u) { return u.version == v; }))
            out.push_back({what, v, x->source, x->value});
        }
    } else {
      for (const auto& x : et.prices)
        if (overlaps(x.valid_from, x.valid_to))
          out.push_back({what, x.version, x.source,
                         !x.tou.empty() && p.res == resolution::hour
                           ? price_of_hour(x, absl::CivilHour(start_of(p)))
                           : x.flat});
    }
    if (out.size() == before)
      out.push_back({what, "none valid", "", 0});
  }
  return out;
}

}  // namespace plantd::energy
