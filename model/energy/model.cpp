#include "model/energy/model.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "model/plant/tou.hpp"

#include <absl/time/time.h>

namespace plantd::energy {
namespace {

failure fail(errc code, std::string path, std::string message) {
  return failure{code, {problem{std::move(path), std::move(message)}}};
}

std::string quoted(const std::string& name, const std::string& id) {
  return fmt::format("\"{}\" ({})", name, id);
}

template <class T>
result check_new(const T& map, std::string_view id, bool upsert, std::string_view what) {
  if (!valid_id(id))
    return unexpected{
      fail(errc::invalid_argument, "id",
           fmt::format("{} id \"{}\" must be letters, digits, '_' or '.'", what, id))};
  if (!upsert && map.count(id))
    return unexpected{fail(errc::already_exists, "id", fmt::format("{} {} exists", what, id))};
  return {};
}

bool formula_uses(const expr& e, enum op o, const std::string& id) {
  if (e.op == o && e.id == id)
    return true;
  return (e.a && formula_uses(*e.a, o, id)) || (e.b && formula_uses(*e.b, o, id));
}

}  // namespace

std::string failure::message() const {
  std::string out;
  for (const auto& p : list) {
    if (!out.empty())
      out += "; ";
    out += p.path.empty() ? p.message : p.path + ": " + p.message;
  }
  return out;
}

bool valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

std::string_view to_string(node_kind k) noexcept {
  switch (k) {
    case node_kind::plant: return "plant";
    case node_kind::branch: return "branch";
    case node_kind::workshop: return "workshop";
    case node_kind::equipment: return "equipment";
  }
  return "?";
}
std::optional<node_kind> parse_node_kind(std::string_view s) noexcept {
  for (auto k : {node_kind::plant, node_kind::branch, node_kind::workshop, node_kind::equipment})
    if (to_string(k) == s)
      return k;
  return std::nullopt;
}
std::string_view to_string(indicator_kind k) noexcept {
  return k == indicator_kind::collection ? "collection" : "efficiency";
}
std::string_view to_string(direction d) noexcept {
  return d == direction::consumption ? "consumption" : "output";
}
std::string_view to_string(source_kind s) noexcept {
  switch (s) {
    case source_kind::meter: return "meter";
    case source_kind::manual: return "manual";
    case source_kind::formula: return "formula";
  }
  return "?";
}
std::optional<indicator_kind> parse_indicator_kind(std::string_view s) noexcept {
  if (s == "collection")
    return indicator_kind::collection;
  if (s == "efficiency")
    return indicator_kind::efficiency;
  return std::nullopt;
}
std::optional<direction> parse_direction(std::string_view s) noexcept {
  if (s == "consumption")
    return direction::consumption;
  if (s == "output")
    return direction::output;
  return std::nullopt;
}
std::optional<source_kind> parse_source_kind(std::string_view s) noexcept {
  for (auto k : {source_kind::meter, source_kind::manual, source_kind::formula})
    if (to_string(k) == s)
      return k;
  return std::nullopt;
}

// ---- indexes ----

namespace {
bool link_less(const link_index::link& a, const link_index::link& b) {
  if (a.key == b.key)
    return a.id.view() < b.id.view();
  return a.key.view() < b.key.view();
}
}  // namespace

void link_index::add(const atom& key, const atom& id) {
  link l{key, id};
  links_.insert(std::upper_bound(links_.begin(), links_.end(), l, link_less), std::move(l));
}

void link_index::remove(const atom& key, const atom& id) {
  link l{key, id};
  auto it = std::lower_bound(links_.begin(), links_.end(), l, link_less);
  if (it != links_.end() && it->key == key && it->id == id)
    links_.erase(it);
}

link_index::range link_index::of(std::string_view key) const {
  auto lo = std::lower_bound(links_.begin(), links_.end(), key,
                             [](const link& a, std::string_view k) { return a.key.view() < k; });
  auto hi = std::upper_bound(lo, links_.end(), key,
                             [](std::string_view k, const link& a) { return k < a.key.view(); });
  return {links_.data() + (lo - links_.begin()), links_.data() + (hi - links_.begin())};
}

void link_index::sort() {
  std::sort(links_.begin(), links_.end(), link_less);
  keep_little_room(links_);  // the first link added after a load: 0.4 ms without
}

link_index::range model::child_nodes(const std::string& id) const {
  return children_.of(id);
}
link_index::range model::meters_of(const std::string& id) const {
  return meters_by_node_.of(id);
}
link_index::range model::indicators_of(const std::string& id) const {
  return by_owner_.of(id);
}

std::string model::root() const {
  for (const auto& [id, n] : nodes)
    if (n.parent.empty())
      return id;
  return {};
}

void model::reindex() {
  children_.clear();
  meters_by_node_.clear();
  by_owner_.clear();
  ast_.clear();
  for (const auto& [id, n] : nodes)
    if (!n.parent.empty())
      children_.append(n.parent, id);
  for (const auto& [id, m] : meters)
    meters_by_node_.append(m.node, id);
  for (const auto& [id, i] : indicators)
    by_owner_.append(i.owner, id);
  children_.sort();
  meters_by_node_.sort();
  by_owner_.sort();
}

std::string model::path_of(const std::string& id) const {
  std::vector<std::string> parts;
  std::string cur = id;
  if (auto m = meters.find(id); m != meters.end()) {
    parts.push_back(m->second.name);
    cur = m->second.node;
  }
  for (int guard = 0; guard < 1000; ++guard) {
    auto n = nodes.find(cur);
    if (n == nodes.end())
      break;
    parts.push_back(n->second.name);
    if (n->second.parent.empty())
      break;
    cur = n->second.parent;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!out.empty())
      out += '/';
    out += *it;
  }
  return out.empty() ? id : out;
}

std::string model::indicator_path(const std::string& id) const {
  auto it = indicators.find(id);
  if (it == indicators.end())
    return id;
  return path_of(it->second.owner) + ":" + it->second.name;
}

expr_ptr model::formula_of(const std::string& id) const {
  auto it = indicators.find(id);
  if (it == indicators.end() || it->second.source != source_kind::formula)
    return nullptr;
  return ast_.get(id, it->second.formula, [](const std::string& text) -> expr_ptr {
    auto parsed = parse_formula(text);  // canonical: ids only
    return parsed ? *parsed : nullptr;
  });
}

// ---- cycles ----

result model::check_cycle_from(const std::string& start) const {
  // Iterative DFS; a path back to `start` is the cycle.
  std::set<std::string> done;
  std::vector<std::pair<std::string, std::vector<std::string>>> stack;
  auto deps_of = [&](const std::string& id) {
    auto f = formula_of(id);
    return f ? dependencies(*f, *this, indicators.at(id)) : std::vector<std::string>{};
  };
  stack.emplace_back(start, deps_of(start));
  while (!stack.empty()) {
    auto& [id, deps] = stack.back();
    if (deps.empty()) {
      done.insert(id);
      stack.pop_back();
      continue;
    }
    std::string next = deps.back();
    deps.pop_back();
    if (next == start) {
      std::string path;
      for (const auto& [sid, _] : stack)
        path += "[" + indicator_path(sid) + "] -> ";
      path += "[" + indicator_path(start) + "]";
      return unexpected{fail(errc::invalid_argument, "formula", "cycle: " + path)};
    }
    if (done.count(next) || !indicators.count(next))
      continue;
    bool on_stack =
      std::any_of(stack.begin(), stack.end(), [&](const auto& s) { return s.first == next; });
    if (on_stack)
      continue;  // a cycle not through start cannot exist in a checked model
    stack.emplace_back(next, deps_of(next));
  }
  return {};
}

problems model::check_formula_types() const {
  problems out;
  for (const auto& [id, ind] : indicators) {
    if (ind.source != source_kind::formula)
      continue;
    if (!templates.count(ind.template_id))
      continue;
    auto c = compile_formula(ind.formula, *this, ind);
    if (!c)
      out.push_back({fmt::format("indicators[{}].formula", id),
                     fmt::format("{}: {}", indicator_path(id), c.error().text())});
  }
  return out;
}

// ---- puts ----

result model::put_enterprise(struct enterprise e) {
  if (e.currency.empty())
    return unexpected{fail(errc::invalid_argument, "currency", "currency is required")};
  if (e.language != "zh" && e.language != "en")
    return unexpected{fail(errc::invalid_argument, "language",
                           fmt::format("\"{}\" is not a report language (zh, en)", e.language))};
  auto tz_ok = absl::TimeZone{};
  if (!absl::LoadTimeZone(e.time_zone, &tz_ok))
    return unexpected{fail(errc::invalid_argument, "time_zone",
                           fmt::format("unknown time zone \"{}\"", e.time_zone))};
  auto old = ent;
  ent = std::move(e);
  if (auto p = check_formula_types(); !p.empty()) {
    ent = old;
    return unexpected{failure{errc::failed_precondition, p}};
  }
  changed("enterprise", "", true);
  return {};
}

namespace {

problems check_dated(const std::vector<coefficient>& v, std::string_view field) {
  problems out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto path = fmt::format("{}[{}]", field, i);
    if (!(v[i].value >= 0))
      out.push_back({path + ".value", "must be >= 0"});
    if (v[i].valid_to && *v[i].valid_to <= v[i].valid_from)
      out.push_back({path + ".valid_to", "must be after valid_from"});
    for (std::size_t j = 0; j < i; ++j) {
      auto end_i = v[i].valid_to.value_or(absl::CivilDay(9999, 12, 31));
      auto end_j = v[j].valid_to.value_or(absl::CivilDay(9999, 12, 31));
      if (v[i].valid_from < end_j && v[j].valid_from < end_i)
        out.push_back({path, fmt::format("validity overlaps {}[{}]", field, j)});
    }
  }
  return out;
}

}  // namespace

result model::put_energy_type(energy_type e, bool upsert) {
  if (auto r = check_new(energy_types, e.id, upsert, "energy type"); !r)
    return r;
  problems p;
  if (e.name.empty())
    p.push_back({"name", "name is required"});
  if (auto u = parse_unit(e.unit); !u)
    p.push_back({"unit", u.error()});
  for (auto& x : check_dated(e.coal_equivalent, "coal_equivalent"))
    p.push_back(x);
  for (auto& x : check_dated(e.coal_equal, "coal_equal"))
    p.push_back(x);
  for (std::size_t i = 0; i < e.co2.size(); ++i) {
    if (!(e.co2[i].value >= 0))
      p.push_back({fmt::format("co2[{}].value", i), "must be >= 0"});
    if (e.co2[i].year < 1900 || e.co2[i].year > 2200)
      p.push_back({fmt::format("co2[{}].year", i), "must be a year"});
  }
  for (std::size_t i = 0; i < e.prices.size(); ++i) {
    const auto& pr = e.prices[i];
    auto path = fmt::format("prices[{}]", i);
    if (!(pr.flat >= 0))
      p.push_back({path + ".flat", "must be >= 0"});
    for (std::size_t s = 0; s < pr.tou.size(); ++s) {
      auto a = plant::parse_hhmm(pr.tou[s].start), b = plant::parse_hhmm(pr.tou[s].end);
      if (!a || !b || *a >= *b)
        p.push_back(
          {fmt::format("{}.tou[{}]", path, s), "start and end must be HH:MM, start < end"});
    }
    // One price a day: two valid at once would leave it to the list's order.
    if (pr.valid_to && *pr.valid_to <= pr.valid_from)
      p.push_back({path + ".valid_to", "must be after valid_from"});
    for (std::size_t j = 0; j < i; ++j) {
      const auto& other = e.prices[j];
      auto end_i = pr.valid_to.value_or(absl::CivilDay(9999, 12, 31));
      auto end_j = other.valid_to.value_or(absl::CivilDay(9999, 12, 31));
      if (pr.valid_from < end_j && other.valid_from < end_i)
        p.push_back({path, fmt::format("validity overlaps prices[{}] (\"{}\"): end it (valid_to) "
                                       "where this one starts, or edit it",
                                       j, other.version)});
    }
  }
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  auto old = energy_types.find(e.id) == energy_types.end()
               ? std::optional<energy_type>{}
               : std::optional<energy_type>{energy_types.at(e.id)};
  std::string id = e.id;
  energy_types[id] = std::move(e);
  if (old && old->unit != energy_types[id].unit) {
    if (auto q = check_formula_types(); !q.empty()) {
      energy_types[id] = *old;
      return unexpected{failure{errc::failed_precondition, q}};
    }
  }
  // A new type is read by no formula yet; a type's new prices and
  // coefficients are read again by the graph, its unit is compiled in.
  if (!old)
    changed("energy_type", id, false);
  else
    changed("energy_type", id, old->unit != energy_types[id].unit, true);
  return {};
}

result model::put_node(node n, bool upsert) {
  if (auto r = check_new(nodes, n.id, upsert, "unit"); !r)
    return r;
  problems p;
  if (n.name.empty())
    p.push_back({"name", "name is required"});
  if (n.metering_level < 1 || n.metering_level > 3)
    p.push_back({"metering_level", "must be 1, 2 or 3"});
  if (!n.energy_type.empty() && !energy_types.count(n.energy_type))
    p.push_back({"energy_type", fmt::format("unknown energy type {}", n.energy_type)});
  if (n.parent.empty()) {
    auto r = root();
    if (!r.empty() && r != n.id)
      p.push_back({"parent", fmt::format("the tree has its root {} already; give a parent",
                                         quoted(nodes.at(r).name, r))});
  } else if (!nodes.count(n.parent)) {
    p.push_back({"parent", fmt::format("unknown unit {}", n.parent)});
  } else {
    // The new parent must not be the node itself or below it.
    std::string cur = n.parent;
    for (int guard = 0; guard < 10000 && !cur.empty(); ++guard) {
      if (cur == n.id) {
        p.push_back(
          {"parent", fmt::format("{} is below {}: the tree would have a loop", n.parent, n.id)});
        break;
      }
      cur = nodes.at(cur).parent;
    }
  }
  if (!n.parent.empty() && !bulk_)
    for (const auto& sibling_id : child_nodes(n.parent))
      if (sibling_id != n.id && nodes.at(sibling_id).name == n.name)
        p.push_back({"name", fmt::format("\"{}\" already has a unit named \"{}\" ({})",
                                         path_of(n.parent), n.name, sibling_id)});
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  auto it = nodes.find(n.id);
  std::optional<node> old;
  if (it != nodes.end())
    old = it->second;
  bool moved = old && old->parent != n.parent;
  if (old && moved && !old->parent.empty())
    children_.remove(it->second.parent, it->first);
  std::string id = n.id;
  auto& rec = nodes[id];
  rec = std::move(n);
  const auto& key = nodes.find(id)->first;
  if ((!old || moved) && !rec.parent.empty())
    children_.add(rec.parent, key);
  if (moved) {
    // sum_children over the old and new parents changed: check for cycles.
    std::vector<std::string> inds(indicators_of(id).begin(), indicators_of(id).end());
    for (const auto& ind : inds)
      if (auto r = check_cycle_from(ind); !r) {
        if (!rec.parent.empty())
          children_.remove(rec.parent, key);
        rec = *old;
        if (!rec.parent.empty())
          children_.add(rec.parent, key);
        return r;
      }
  }
  // The tree and a unit's energy type shape the graph; the rest describes.
  // A new unit is a leaf without indicators: it changes no computed value
  // until one is given to it (itself a change of the graph).
  changed("node", id,
          old
            && (old->parent != rec.parent || old->kind != rec.kind
                || old->energy_type != rec.energy_type));
  return {};
}

result model::put_meter(meter m, bool upsert) {
  if (auto r = check_new(meters, m.id, upsert, "meter"); !r)
    return r;
  problems p;
  if (m.name.empty())
    p.push_back({"name", "name is required"});
  if (!energy_types.count(m.energy_type))
    p.push_back({"energy_type", fmt::format("unknown energy type \"{}\"", m.energy_type)});
  if (!nodes.count(m.node))
    p.push_back({"node", fmt::format("unknown unit \"{}\"", m.node)});
  if (m.metering_level < 1 || m.metering_level > 3)
    p.push_back({"metering_level", "must be 1, 2 or 3"});
  if (!(m.details->ct_ratio > 0))
    p.push_back({"ct_ratio", "must be > 0"});
  if (!(m.details->pt_ratio > 0))
    p.push_back({"pt_ratio", "must be > 0"});
  if (!(m.details->counter_rollover >= 0))
    p.push_back({"counter_rollover", "must be >= 0"});
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  auto it = meters.find(m.id);
  std::optional<meter> old;
  if (it != meters.end())
    old = it->second;
  if (old && old->energy_type != m.energy_type && !indicators_of(m.id).empty())
    return unexpected{fail(errc::failed_precondition, "energy_type",
                           "the meter's energy type cannot change while it has indicators: "
                             + fmt::format("{}", fmt::join(uses_of_meter(m.id), "; ")))};
  bool moved = old && old->node != m.node;
  if (old && moved)
    meters_by_node_.remove(it->second.node, it->first);
  std::string id = m.id;
  auto& rec = meters[id];
  rec = std::move(m);
  const auto& key = meters.find(id)->first;
  if (!old || moved)
    meters_by_node_.add(rec.node, key);
  if (moved) {
    std::vector<std::string> inds(indicators_of(id).begin(), indicators_of(id).end());
    for (const auto& ind : inds)
      if (auto r = check_cycle_from(ind); !r) {
        meters_by_node_.remove(rec.node, key);
        rec = *old;
        meters_by_node_.add(rec.node, key);
        return r;
      }
  }
  // The graph reads a meter through its indicators alone: a new meter (it
  // has none yet) or one without indicators changes no computed value.
  changed("meter", id,
          !indicators_of(id).empty()
            && (!old || old->node != rec.node || old->energy_type != rec.energy_type
                || old->live_source != rec.live_source));
  return {};
}

result model::put_product(product pr, bool upsert) {
  if (auto r = check_new(products, pr.id, upsert, "product"); !r)
    return r;
  problems p;
  if (pr.name.empty())
    p.push_back({"name", "name is required"});
  if (auto u = parse_unit(pr.unit); !u)
    p.push_back({"unit", u.error()});
  if (!pr.node.empty() && !nodes.count(pr.node))
    p.push_back({"node", fmt::format("unknown unit \"{}\"", pr.node)});
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  auto old = products.count(pr.id) ? std::optional<product>(products.at(pr.id)) : std::nullopt;
  std::string id = pr.id;
  products[id] = std::move(pr);
  if (old && old->unit != products[id].unit)
    if (auto q = check_formula_types(); !q.empty()) {
      products[id] = *old;
      return unexpected{failure{errc::failed_precondition, q}};
    }
  changed("product", id, true);
  return {};
}

result model::put_template(indicator_template t, bool upsert) {
  if (auto r = check_new(templates, t.id, upsert, "indicator template"); !r)
    return r;
  problems p;
  if (t.name.empty())
    p.push_back({"name", "name is required"});
  auto u = parse_unit(t.unit);
  if (!u)
    p.push_back({"unit", u.error()});
  if (!t.energy_type.empty()) {
    auto et = energy_types.find(t.energy_type);
    if (et == energy_types.end()) {
      p.push_back({"energy_type", fmt::format("unknown energy type \"{}\"", t.energy_type)});
    } else if (u) {
      // A collection template measures the energy itself; one of another
      // kind may also give what the energy costs or weighs: its cost
      // (电力成本), standard coal (电力折标量) or carbon.
      auto eu = parse_unit(et->second.unit);
      bool quantity = eu && eu->same_dimension(*u);
      bool derived = false;
      for (const auto& d : {ent.currency, std::string("kgce"), std::string("kgCO2")})
        if (auto du = parse_unit(d); du && du->same_dimension(*u))
          derived = true;
      if (!quantity && (t.kind == indicator_kind::collection || !derived))
        p.push_back(
          {"unit", t.kind == indicator_kind::collection
                     ? fmt::format("{} is not a quantity of {} (measured in {})", t.unit,
                                   et->second.name, et->second.unit)
                     : fmt::format("{} is not a quantity of {} (measured in {}), nor its cost "
                                   "({}), standard coal (tce) or carbon (tCO2)",
                                   t.unit, et->second.name, et->second.unit, ent.currency)});
    }
  } else if (t.kind == indicator_kind::collection) {
    p.push_back({"energy_type", "a collection indicator measures one energy type"});
  }
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  auto old =
    templates.count(t.id) ? std::optional<indicator_template>(templates.at(t.id)) : std::nullopt;
  if (old && old->kind != t.kind && !uses_of_template(t.id).empty())
    return unexpected{
      fail(errc::failed_precondition, "kind", "the kind of a template in use cannot change")};
  std::string id = t.id;
  templates[id] = std::move(t);
  if (old && (old->unit != templates[id].unit || old->energy_type != templates[id].energy_type))
    if (auto q = check_formula_types(); !q.empty()) {
      templates[id] = *old;
      return unexpected{failure{errc::failed_precondition, q}};
    }
  changed("template", id, true);
  return {};
}

result model::put_indicator(indicator i, bool upsert) {
  if (auto r = check_new(indicators, i.id, upsert, "indicator"); !r)
    return r;
  problems p;
  if (i.name.empty())
    p.push_back({"name", "name is required"});
  auto tpl = templates.find(i.template_id);
  if (tpl == templates.end())
    p.push_back({"template_id", fmt::format("unknown indicator template \"{}\"", i.template_id)});
  bool on_meter = meters.count(i.owner) > 0;
  bool on_node = nodes.count(i.owner) > 0;
  if (!on_meter && !on_node)
    p.push_back({"owner", fmt::format("unknown unit or meter \"{}\"", i.owner)});
  if (tpl != templates.end() && on_meter) {
    const auto& m = meters.at(i.owner);
    if (tpl->second.kind != indicator_kind::collection)
      p.push_back({"template_id", "a meter carries collection indicators"});
    else if (tpl->second.energy_type != m.energy_type)
      p.push_back(
        {"template_id", fmt::format("template {} measures {} but meter \"{}\" measures {}",
                                    tpl->first, tpl->second.energy_type, m.name, m.energy_type)});
  }
  if (tpl != templates.end() && on_node && tpl->second.kind == indicator_kind::collection)
    p.push_back({"template_id", "collection indicators belong on meters"});
  if (i.source == source_kind::meter && !on_meter)
    p.push_back({"source", "only an indicator on a meter reads the meter"});
  if (i.source == source_kind::formula && i.formula.empty())
    p.push_back({"formula", "a formula indicator needs a formula"});
  if (i.source != source_kind::formula && !i.formula.empty())
    p.push_back({"formula", fmt::format("a {} indicator has no formula", to_string(i.source))});
  for (const auto& sib : indicators_of(i.owner))
    if (sib != i.id && indicators.at(sib).name == i.name)
      p.push_back({"name", fmt::format("\"{}\" already has an indicator named \"{}\"",
                                       path_of(i.owner), i.name)});
  if (!p.empty())
    return unexpected{failure{errc::invalid_argument, p}};
  if (i.source == source_kind::formula) {
    auto c = compile_formula(i.formula, *this, i);
    if (!c)
      return unexpected{fail(errc::invalid_argument, "formula", c.error().text())};
    i.formula = canonical(**c);
  }
  auto it = indicators.find(i.id);
  std::optional<indicator> old;
  if (it != indicators.end())
    old = it->second;
  bool moved = old && old->owner != i.owner;
  if (moved)
    by_owner_.remove(it->second.owner, it->first);
  std::string id = i.id;
  auto& rec = indicators[id];
  rec = std::move(i);
  const auto& key = indicators.find(id)->first;
  if (!old || moved)
    by_owner_.add(rec.owner, key);
  if (auto r = check_cycle_from(id); !r) {
    if (old) {
      if (moved)
        by_owner_.remove(rec.owner, key);
      rec = *old;
      if (moved)
        by_owner_.add(rec.owner, key);
    } else {
      by_owner_.remove(rec.owner, key);
      indicators.erase(id);
    }
    ast_.erase(id);
    return r;
  }
  changed("indicator", id,
          !old || old->template_id != rec.template_id || old->owner != rec.owner
            || old->source != rec.source || old->formula != rec.formula);
  return {};
}

// ---- uses and removes ----

std::vector<use> model::uses_of(std::string_view kind, const std::string& id) const {
  std::vector<use> out;
  auto formula = [&](const std::string& iid) {
    out.push_back({"indicator", iid, fmt::format("formula of [{}]", indicator_path(iid))});
  };
  if (kind == "energy_type") {
    for (const auto& [tid, t] : templates)
      if (t.energy_type == id)
        out.push_back({"template", tid, fmt::format("indicator template {}", quoted(t.name, tid))});
    for (const auto& [mid, m] : meters)
      if (m.energy_type == id)
        out.push_back({"meter", mid, fmt::format("meter {}", path_of(mid))});
    for (const auto& [nid, n] : nodes)
      if (n.energy_type == id)
        out.push_back({"node", nid, fmt::format("equipment {}", path_of(nid))});
    for (const auto& [iid, ind] : indicators)
      if (auto f = formula_of(iid))
        for (auto o : {op::coal, op::coal_equal, op::co2, op::price})
          if (formula_uses(*f, o, id)) {
            formula(iid);
            break;
          }
  } else if (kind == "node") {
    for (const auto& c : child_nodes(id))
      out.push_back({"node", c, fmt::format("unit {}", path_of(c))});
    for (const auto& m : meters_of(id))
      out.push_back({"meter", m, fmt::format("meter {}", path_of(m))});
    for (const auto& i : indicators_of(id))
      out.push_back({"indicator", i, fmt::format("indicator [{}]", indicator_path(i))});
    for (const auto& [pid, p] : products)
      if (p.node == id)
        out.push_back({"product", pid, fmt::format("product {}", quoted(p.name, pid))});
  } else if (kind == "meter") {
    for (const auto& i : indicators_of(id))
      out.push_back({"indicator", i, fmt::format("indicator [{}]", indicator_path(i))});
  } else if (kind == "product") {
    for (const auto& [iid, ind] : indicators)
      if (auto f = formula_of(iid); f && formula_uses(*f, op::production, id))
        formula(iid);
  } else if (kind == "template") {
    for (const auto& [iid, ind] : indicators) {
      if (ind.template_id == id)
        out.push_back({"indicator", iid, fmt::format("indicator [{}]", indicator_path(iid))});
      else if (auto f = formula_of(iid); f && formula_uses(*f, op::sum_children, id))
        formula(iid);
    }
  } else if (kind == "indicator") {
    for (const auto& [iid, ind] : indicators) {
      if (iid == id)
        continue;
      auto f = formula_of(iid);
      if (!f)
        continue;
      auto deps = dependencies(*f, *this, ind);
      if (std::find(deps.begin(), deps.end(), id) != deps.end())
        formula(iid);
    }
  }
  return out;
}

namespace {
std::vector<std::string> texts(std::vector<use> v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (auto& u : v)
    out.push_back(std::move(u.text));
  return out;
}
}  // namespace

std::vector<std::string> model::uses_of_energy_type(const std::string& id) const {
  return texts(uses_of("energy_type", id));
}
std::vector<std::string> model::uses_of_node(const std::string& id) const {
  return texts(uses_of("node", id));
}
std::vector<std::string> model::uses_of_meter(const std::string& id) const {
  return texts(uses_of("meter", id));
}
std::vector<std::string> model::uses_of_product(const std::string& id) const {
  return texts(uses_of("product", id));
}
std::vector<std::string> model::uses_of_template(const std::string& id) const {
  return texts(uses_of("template", id));
}
std::vector<std::string> model::uses_of_indicator(const std::string& id) const {
  return texts(uses_of("indicator", id));
}

namespace {
template <class Map>
result remove_unused(Map& map, const std::string& id, std::string_view what,
                     std::vector<std::string> uses) {
  if (!map.count(id))
    return unexpected{fail(errc::not_found, "id", fmt::format("no {} {}", what, id))};
  if (!uses.empty()) {
    failure f{errc::failed_precondition, {}};
    for (auto& u : uses)
      f.list.push_back({"", fmt::format("{} {} is used by {}", what, id, u)});
    return unexpected{f};
  }
  map.erase(id);
  return {};
}
}  // namespace

result model::remove_energy_type(const std::string& id) {
  auto r = remove_unused(energy_types, id, "energy type", uses_of_energy_type(id));
  if (r)
    changed("energy_type", id, true);
  return r;
}
result model::remove_node(const std::string& id) {
  auto uses = uses_of_node(id);
  // Unlinked before the record goes (the links point into it).
  if (auto it = nodes.find(id); it != nodes.end() && uses.empty() && !it->second.parent.empty())
    children_.remove(it->second.parent, it->first);
  auto r = remove_unused(nodes, id, "unit", std::move(uses));
  if (r)
    changed("node", id, true);
  return r;
}
result model::remove_meter(const std::string& id) {
  auto uses = uses_of_meter(id);
  if (auto it = meters.find(id); it != meters.end() && uses.empty())
    meters_by_node_.remove(it->second.node, it->first);
  auto r = remove_unused(meters, id, "meter", std::move(uses));
  if (r)
    changed("meter", id, true);
  return r;
}
result model::remove_product(const std::string& id) {
  auto r = remove_unused(products, id, "product", uses_of_product(id));
  if (r)
    changed("product", id, true);
  return r;
}
result model::remove_template(const std::string& id) {
  auto r = remove_unused(templates, id, "indicator template", uses_of_template(id));
  if (r)
    changed("template", id, true);
  return r;
}
result model::remove_indicator(const std::string& id) {
  auto uses = uses_of_indicator(id);
  if (auto it = indicators.find(id); it != indicators.end() && uses.empty())
    by_owner_.remove(it->second.owner, it->first);
  auto r = remove_unused(indicators, id, "indicator", std::move(uses));
  if (r) {
    ast_.erase(id);
    changed("indicator", id, true);
  }
  return r;
}

// ---- whole-model check (import) ----

problems model::check() const {
  problems out;
  // Re-put every record into an empty model in dependency order; every
  // failure is reported with the record's path.
  model fresh;
  fresh.ent = ent;
  fresh.bulk_ = true;
  auto add = [&](std::string_view coll, const std::string& id, const result& r) {
    if (r)
      return;
    for (const auto& p : r.error().list)
      out.push_back(
        {fmt::format("{}[{}]{}{}", coll, id, p.path.empty() ? "" : ".", p.path), p.message});
  };
  for (const auto& [id, e] : energy_types)
    add("energy_types", id, fresh.put_energy_type(e));
  // Nodes parents first.
  std::vector<std::string> order;
  std::set<std::string> placed;
  std::string r = root();
  if (!nodes.empty() && r.empty())
    out.push_back({"nodes", "no root unit (one unit without a parent)"});
  if (!r.empty()) {
    order.push_back(r);
    placed.insert(r);
    for (std::size_t k = 0; k < order.size(); ++k)
      for (const auto& c : child_nodes(order[k]))
        if (placed.insert(c).second)
          order.push_back(c);
  }
  for (const auto& [id, n] : nodes)
    if (!placed.count(id))
      order.push_back(id);  // orphans: reported by put_node
  for (const auto& id : order)
    add("nodes", id, fresh.put_node(nodes.at(id)));
  {
    // Sibling names, once for the tree (put_node skips it in bulk).
    std::map<std::pair<std::string_view, std::string_view>, std::string_view> named;
    for (const auto& id : order) {
      const auto& n = nodes.at(id);
      if (n.parent.empty() || !fresh.nodes.count(id))
        continue;
      auto [it, added] =
        named.emplace(std::pair{std::string_view{n.parent}, std::string_view{n.name}}, id);
      if (!added)
        out.push_back({fmt::format("nodes[{}].name", id),
                       fmt::format("\"{}\" already has a unit named \"{}\" ({})", path_of(n.parent),
                                   n.name, it->second)});
    }
  }
  fresh.bulk_ = false;
  for (const auto& [id, m] : meters)
    add("meters", id, fresh.put_meter(m));
  for (const auto& [id, p] : products)
    add("products", id, fresh.put_product(p));
  for (const auto& [id, t] : templates)
    add("templates", id, fresh.put_template(t));
  // Indicators: non-formula first, then formulas in an order where their
  // references exist (repeat until no progress).
  // Formula indicators go in without their formulas first, so that every
  // reference resolves, then get them (cycles are found then). In id order,
  // so the fresh table only appends.
  std::vector<std::string> pending;
  for (const auto& [id, i] : indicators) {
    if (i.source != source_kind::formula) {
      add("indicators", id, fresh.put_indicator(i));
      continue;
    }
    pending.push_back(id);
    auto copy = i;
    copy.source = source_kind::manual;
    copy.formula.clear();
    add("indicators", id, fresh.put_indicator(copy));
  }
  for (const auto& id : pending)
    add("indicators", id, fresh.put_indicator(indicators.at(id)));
  return out;
}

// ---- lookups ----

const coefficient* coefficient_at(const std::vector<coefficient>& v, absl::CivilDay day) {
  for (const auto& c : v)
    if (c.valid_from <= day && (!c.valid_to || day < *c.valid_to))
      return &c;
  return nullptr;
}

const price* price_at(const std::vector<price>& v, absl::CivilDay day) {
  for (const auto& p : v)
    if (p.valid_from <= day && (!p.valid_to || day < *p.valid_to))
      return &p;
  return nullptr;
}

const co2_factor* co2_at(const std::vector<co2_factor>& v, int year, std::string_view region) {
  const co2_factor* best = nullptr;
  auto better = [&](const co2_factor& f) {
    if (f.year > year)
      return false;
    if (!best)
      return true;
    bool f_own = f.region == region, b_own = best->region == region;
    if (f_own != b_own)
      return f_own;
    return f.year > best->year;
  };
  for (const auto& f : v)
    if ((f.region == region || f.region.empty()) && better(f))
      best = &f;
  return best;
}

double price_of_hour(const price& p, absl::CivilHour hour) {
  if (p.tou.empty())
    return p.flat;
  int minute = static_cast<int>(hour.hour()) * 60;
  auto wd = absl::GetWeekday(absl::CivilDay(hour));
  // absl: Monday..Sunday; plant::weekday: monday = 1 .. sunday = 7.
  int idx = 1;
  switch (wd) {
    case absl::Weekday::monday: idx = 1; break;
    case absl::Weekday::tuesday: idx = 2; break;
    case absl::Weekday::wednesday: idx = 3; break;
    case absl::Weekday::thursday: idx = 4; break;
    case absl::Weekday::friday: idx = 5; break;
    case absl::Weekday::saturday: idx = 6; break;
    case absl::Weekday::sunday: idx = 7; break;
  }
  for (const auto& s : p.tou) {
    bool day_ok = s.days.empty()
                  || std::any_of(s.days.begin(), s.days.end(),
                                 [&](plant::weekday d) { return static_cast<int>(d) == idx; });
    auto a = plant::parse_hhmm(s.start), b = plant::parse_hhmm(s.end);
    if (day_ok && a && b && *a <= minute && minute < *b)
      return s.price_per_kwh;
  }
  return p.flat;
}

// ---- coverage ----

std::vector<coverage> metering_coverage(const model& m) {
  std::vector<coverage> out;
  for (const auto& [eid, et] : m.energy_types) {
    // Units using the energy type: by record, indicators or meters below.
    std::map<std::string, bool> uses;  // node -> has own meter of eid
    for (const auto& [nid, n] : m.nodes) {
      bool own = false, use = n.energy_type == eid;
      for (const auto& mt : m.meters_of(nid))
        if (m.meters.at(mt).energy_type == eid)
          own = use = true;
      for (const auto& ind : m.indicators_of(nid))
        if (m.templates.at(m.indicators.at(ind).template_id).energy_type == eid)
          use = true;
      if (use)
        uses[nid] = own;
    }
    // A unit whose descendants use it uses it too.
    std::map<std::string, bool> all = uses;
    for (const auto& [nid, own] : uses) {
      std::string cur = m.nodes.at(nid).parent;
      for (int g = 0; g < 1000 && !cur.empty(); ++g) {
        all.emplace(cur, false);
        cur = m.nodes.at(cur).parent;
      }
    }
    // A unit without a meter of its own is metered through its children
    // when every child using the energy is metered (a workshop whose only
    // equipment has the meter): decided deepest first.
    std::vector<std::pair<int, std::string>> by_depth;
    by_depth.reserve(all.size());
    for (const auto& [nid, own] : all) {
      int depth = 0;
      for (std::string cur = m.nodes.at(nid).parent; !cur.empty() && depth < 1000; ++depth)
        cur = m.nodes.at(cur).parent;
      by_depth.emplace_back(depth, nid);
    }
    std::sort(by_depth.begin(), by_depth.end(), std::greater<>());
    std::map<std::string, std::pair<int, int>> kids;  // node -> (using children, metered ones)
    for (const auto& [depth, nid] : by_depth) {
      bool& metered = all.at(nid);
      if (auto k = kids.find(nid);
          !metered && k != kids.end() && k->second.first == k->second.second)
        metered = true;
      const auto& parent = m.nodes.at(nid).parent;
      if (parent.empty())
        continue;
      auto& k = kids[parent];
      ++k.first;
      k.second += metered ? 1 : 0;
    }
    for (int level = 1; level <= 3; ++level) {
      coverage c;
      c.energy_type = eid;
      c.level = level;
      c.required_percent = et.required_rate[level - 1];
      for (const auto& [nid, own] : all) {
        const auto& n = m.nodes.at(nid);
        int lvl = n.parent.empty() ? 1 : n.metering_level;
        if (lvl != level)
          continue;
        ++c.using_units;
        if (own)
          ++c.metered_units;
        else
          c.unmetered.push_back(m.path_of(nid));
      }
      if (c.using_units == 0 && c.required_percent < 0)
        continue;
      c.rate_percent = c.using_units ? 100.0 * c.metered_units / c.using_units : 100.0;
      if (c.using_units)
        out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace plantd::energy
