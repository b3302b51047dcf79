#include "model/energy/formula.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "model/energy/model.hpp"

namespace plantd::energy {
namespace {

bool id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

struct func_name {
  std::string_view name;
  enum op op;
};
constexpr func_name functions[] = {
  {"sum_children", op::sum_children},
  {"coal", op::coal},
  {"coal_equal", op::coal_equal},
  {"co2", op::co2},
  {"price", op::price},
  {"production", op::production},
};

std::string_view name_of(enum op o) {
  for (const auto& f : functions)
    if (f.op == o)
      return f.name;
  return "?";
}

// Recursive descent over the text; positions are 1-based.
class parser {
public:
  explicit parser(std::string_view t)
    : t_(t) {}

  expected<expr_ptr, formula_error> run() {
    if (t_.size() > max_length)
      return unexpected{
        formula_error{0, fmt::format("formula longer than {} characters", max_length)}};
    skip();
    if (i_ == t_.size())
      return unexpected{formula_error{0, "empty formula"}};
    auto e = sum(0);
    if (!err_.message.empty())
      return unexpected{err_};
    skip();
    if (i_ != t_.size())
      return unexpected{formula_error{i_ + 1, fmt::format("unexpected '{}'", t_[i_])}};
    return e;
  }

private:
  // Bounds that keep every later walk of the tree (resolve, type, compile,
  // print, destroy: all recursive) shallow: the height of a tree is at most
  // its operator count plus its nesting.
  static constexpr int max_depth = 200;
  static constexpr std::size_t max_operators = 1000;
  static constexpr std::size_t max_length = 16 * 1024;

  void skip() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_])))
      ++i_;
  }
  expr_ptr fail(std::size_t pos, std::string msg) {
    if (err_.message.empty())
      err_ = {pos, std::move(msg)};
    return nullptr;
  }
  std::string near() const {
    if (i_ >= t_.size())
      return "end of formula";
    return fmt::format("'{}'", t_[i_]);
  }
  expr_ptr binary(enum op o, std::size_t pos, expr_ptr a, expr_ptr b) {
    if (++operators_ > max_operators)
      return fail(pos, fmt::format("formula has more than {} operators", max_operators));
    auto e = std::make_shared<expr>();
    e->op = o;
    e->pos = pos;
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  expr_ptr sum(int depth) {
    auto lhs = product(depth);
    while (lhs) {
      skip();
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) {
        std::size_t pos = i_ + 1;
        enum op o = t_[i_] == '+' ? op::add : op::sub;
        ++i_;
        auto rhs = product(depth);
        if (!rhs)
          return nullptr;
        lhs = binary(o, pos, std::move(lhs), std::move(rhs));
      } else {
        break;
      }
    }
    return lhs;
  }

  expr_ptr product(int depth) {
    auto lhs = unary(depth);
    while (lhs) {
      skip();
      if (i_ < t_.size() && (t_[i_] == '*' || t_[i_] == '/')) {
        std::size_t pos = i_ + 1;
        enum op o = t_[i_] == '*' ? op::mul : op::div;
        ++i_;
        auto rhs = unary(depth);
        if (!rhs)
          return nullptr;
        lhs = binary(o, pos, std::move(lhs), std::move(rhs));
      } else {
        break;
      }
    }
    return lhs;
  }

  expr_ptr unary(int depth) {
    if (depth > max_depth)
      return fail(i_ + 1, "formula nested too deeply");
    skip();
    if (i_ < t_.size() && t_[i_] == '-') {
      std::size_t pos = i_ + 1;
      ++i_;
      auto a = unary(depth + 1);
      if (!a)
        return nullptr;
      return binary(op::neg, pos, a, nullptr);
    }
    return primary(depth);
  }

  expr_ptr primary(int depth) {
    skip();
    if (i_ == t_.size())
      return fail(i_ + 1, "expected a number, a reference or '(' at end of formula");
    std::size_t pos = i_ + 1;
    char c = t_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      std::size_t start = i_;
      while (i_ < t_.size()
             && (std::isdigit(static_cast<unsigned char>(t_[i_])) || t_[i_] == '.' || t_[i_] == 'e'
                 || t_[i_] == 'E'
                 || ((t_[i_] == '+' || t_[i_] == '-') && i_ > start
                     && (t_[i_ - 1] == 'e' || t_[i_ - 1] == 'E'))))
        ++i_;
      double v = 0;
      auto [p, ec] = std::from_chars(t_.data() + start, t_.data() + i_, v);
      if (ec != std::errc{} || p != t_.data() + i_ || !std::isfinite(v))
        return fail(pos, fmt::format("bad number \"{}\"", t_.substr(start, i_ - start)));
      auto e = std::make_shared<expr>();
      e->op = op::number;
      e->number = v;
      e->pos = pos;
      return e;
    }
    if (c == '#') {
      ++i_;
      std::size_t start = i_;
      while (i_ < t_.size() && id_char(t_[i_]))
        ++i_;
      if (i_ == start)
        return fail(pos, "expected an indicator id after '#'");
      auto e = std::make_shared<expr>();
      e->op = op::ref;
      e->id = std::string(t_.substr(start, i_ - start));
      e->pos = pos;
      return e;
    }
    if (c == '[') {
      std::size_t close = t_.find(']', i_);
      if (close == std::string_view::npos)
        return fail(pos, "'[' without ']'");
      auto e = std::make_shared<expr>();
      e->op = op::ref;
      e->id = std::string(t_.substr(i_, close - i_ + 1));  // "[path]", resolved later
      e->pos = pos;
      i_ = close + 1;
      return e;
    }
    if (c == '(') {
      ++i_;
      auto e = sum(depth + 1);
      if (!e)
        return nullptr;
      skip();
      if (i_ >= t_.size() || t_[i_] != ')')
        return fail(i_ + 1,
                    fmt::format("expected ')' to close the '(' at {}, found {}", pos, near()));
      ++i_;
      return e;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      std::size_t start = i_;
      while (i_ < t_.size() && id_char(t_[i_]))
        ++i_;
      std::string_view word = t_.substr(start, i_ - start);
      const func_name* f = nullptr;
      for (const auto& fn : functions)
        if (fn.name == word)
          f = &fn;
      if (!f)
        return fail(pos, fmt::format("unknown name \"{}\" (indicators are written #id or "
                                     "[path]; functions: sum_children, coal, coal_equal, co2, "
                                     "price, production)",
                                     word));
      skip();
      if (i_ >= t_.size() || t_[i_] != '(')
        return fail(i_ + 1, fmt::format("expected '(' after {}", word));
      ++i_;
      skip();
      auto e = std::make_shared<expr>();
      e->op = f->op;
      e->pos = pos;
      if (i_ < t_.size() && t_[i_] == '"') {
        std::size_t close = t_.find('"', i_ + 1);
        if (close == std::string_view::npos)
          return fail(i_ + 1, "'\"' without its closing '\"'");
        e->id = std::string(t_.substr(i_, close - i_ + 1));  // "\"name\"", resolved later
        i_ = close + 1;
      } else {
        if (i_ < t_.size() && t_[i_] == '#')
          ++i_;
        std::size_t s = i_;
        while (i_ < t_.size() && id_char(t_[i_]))
          ++i_;
        if (i_ == s)
          return fail(i_ + 1, fmt::format("expected an id or a \"name\" in {}()", word));
        e->id = std::string(t_.substr(s, i_ - s));
      }
      skip();
      if (i_ >= t_.size() || t_[i_] != ')')
        return fail(i_ + 1,
                    fmt::format("expected ')' after the argument of {}, found {}", word, near()));
      ++i_;
      return e;
    }
    return fail(pos, fmt::format("expected a number, a reference or '(', found '{}'", c));
  }

  std::string_view t_;
  std::size_t i_ = 0;
  std::size_t operators_ = 0;
  formula_error err_;
};

// Resolution of paths and names to ids.
struct resolver {
  const model& m;

  expected<std::string, std::string> indicator(const std::string& ref) const {
    if (ref.empty() || ref[0] != '[') {
      if (!m.indicators.count(ref))
        return unexpected{fmt::format("unknown indicator #{}", ref)};
      return ref;
    }
    std::string path = ref.substr(1, ref.size() - 2);
    auto colon = path.rfind(':');
    if (colon == std::string::npos)
      return unexpected{fmt::format("path [{}] does not name an indicator (write "
                                    "[Unit/Sub-unit:Indicator name])",
                                    path)};
    std::string owner_path = path.substr(0, colon);
    std::string ind_name = path.substr(colon + 1);
    // Walk node names from the root; the last segment may be a meter.
    std::string cur = m.root();
    std::size_t start = 0;
    bool first = true;
    while (true) {
      auto slash = owner_path.find('/', start);
      std::string seg =
        owner_path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (first) {
        if (cur.empty() || m.nodes.at(cur).name != seg)
          return unexpected{fmt::format("path [{}]: \"{}\" is not the plant", path, seg)};
        first = false;
      } else {
        std::string next;
        for (const auto& c : m.child_nodes(cur))
          if (m.nodes.at(c).name == seg)
            next = c;
        if (next.empty())
          for (const auto& mt : m.meters_of(cur))
            if (m.meters.at(mt).name == seg)
              next = mt;
        if (next.empty())
          return unexpected{fmt::format("path [{}]: no unit or meter \"{}\" under \"{}\"", path,
                                        seg, m.path_of(cur))};
        cur = next;
      }
      if (slash == std::string::npos)
        break;
      start = slash + 1;
    }
    for (const auto& id : m.indicators_of(cur))
      if (m.indicators.at(id).name == ind_name)
        return id.str();
    return unexpected{
      fmt::format("path [{}]: \"{}\" has no indicator \"{}\"", path, m.path_of(cur), ind_name)};
  }

  template <class V>
  static std::string english_name(const V& v) {
    if constexpr (requires { v.name_en; })
      return v.name_en;
    else
      return {};
  }

  template <class Map>
  expected<std::string, std::string> by_id_or_name(const Map& map, const std::string& ref,
                                                   std::string_view what) const {
    if (!ref.empty() && ref[0] == '"') {
      std::string name = ref.substr(1, ref.size() - 2);
      std::string found;
      for (const auto& [id, v] : map)
        if (v.name == name || english_name(v) == name) {
          if (!found.empty())
            return unexpected{fmt::format("{} name \"{}\" is ambiguous ({} and {}); use the id",
                                          what, name, found, id)};
          found = id;
        }
      if (found.empty())
        return unexpected{fmt::format("unknown {} \"{}\"", what, name)};
      return found;
    }
    if (!map.count(ref))
      return unexpected{fmt::format("unknown {} {}", what, ref)};
    return ref;
  }

  expected<expr_ptr, formula_error> resolve(const expr_ptr& e) const {
    auto copy = std::make_shared<expr>(*e);
    auto err = [&](std::string msg) { return unexpected{formula_error{e->pos, std::move(msg)}}; };
    expected<std::string, std::string> id = std::string();
    switch (e->op) {
      case op::ref: id = indicator(e->id); break;
      case op::sum_children: id = by_id_or_name(m.templates, e->id, "indicator template"); break;
      case op::coal:
      case op::coal_equal:
      case op::co2:
      case op::price: id = by_id_or_name(m.energy_types, e->id, "energy type"); break;
      case op::production: id = by_id_or_name(m.products, e->id, "product"); break;
      default: id = e->id; break;
    }
    if (!id)
      return err(id.error());
    copy->id = *id;
    if (e->a) {
      auto a = resolve(e->a);
      if (!a)
        return unexpected{a.error()};
      copy->a = *a;
    }
    if (e->b) {
      auto b = resolve(e->b);
      if (!b)
        return unexpected{b.error()};
      copy->b = *b;
    }
    return expr_ptr(copy);
  }
};

int precedence(enum op o) {
  switch (o) {
    case op::add:
    case op::sub: return 1;
    case op::mul:
    case op::div: return 2;
    case op::neg: return 3;
    default: return 4;
  }
}

template <class RefText>
std::string print(const expr& e, const RefText& ref_text, int parent_prec, bool right) {
  auto wrap = [&](std::string s, int prec) {
    bool paren = prec < parent_prec || (right && prec == parent_prec && prec < 3);
    return paren ? "(" + s + ")" : s;
  };
  switch (e.op) {
    case op::number: return fmt::format("{}", e.number);
    case op::ref: return ref_text(e);
    case op::add:
    case op::sub:
    case op::mul:
    case op::div: {
      int p = precedence(e.op);
      const char* sym = e.op == op::add   ? " + "
                        : e.op == op::sub ? " - "
                        : e.op == op::mul ? " * "
                                          : " / ";
      return wrap(print(*e.a, ref_text, p, false) + sym + print(*e.b, ref_text, p, true), p);
    }
    case op::neg: return wrap("-" + print(*e.a, ref_text, 3, false), 3);
    default: return fmt::format("{}({})", name_of(e.op), e.id);
  }
}

}  // namespace

std::string formula_error::text() const {
  return pos ? fmt::format("at {}: {}", pos, message) : message;
}

expected<expr_ptr, formula_error> parse_formula(std::string_view text) {
  return parser(text).run();
}

std::string canonical(const expr& e) {
  return print(
    e, [](const expr& r) { return "#" + r.id; }, 0, false);
}

std::string display(const expr& e, const model& m) {
  return print(
    e, [&](const expr& r) { return "[" + m.indicator_path(r.id) + "]"; }, 0, false);
}

namespace {

expected<qtype, formula_error> energy_unit(const model& m, const expr& e, std::string_view per) {
  const auto& et = m.energy_types.at(e.id);
  auto u = parse_unit(et.unit);
  if (!u)
    return unexpected{formula_error{e.pos, u.error()}};
  auto num = parse_unit(per);
  if (!num)
    return unexpected{formula_error{e.pos, num.error()}};
  return qtype{*num / *u, e.id, fmt::format("{}/{}", per, et.unit)};
}

// The energy type a template's values are a quantity of: its energy type
// when its unit measures that energy ("" for a template of the energy's
// cost, standard coal or carbon: CNY of electricity adds to CNY of gas).
std::string quantity_type(const model& m, const indicator_template& tpl, const unit& u) {
  auto et = m.energy_types.find(tpl.energy_type);
  if (et == m.energy_types.end())
    return {};
  auto eu = parse_unit(et->second.unit);
  return eu && eu->same_dimension(u) ? tpl.energy_type : std::string();
}

// "kWh of Electricity": the unit as the records write it, not its base
// units (a kWh quantity is not "MJ", water in t not "kg").
std::string type_text(const qtype& t, const model& m) {
  std::string s = !t.text.empty() ? t.text : t.u.dimensionless() ? "a number" : dimension_text(t.u);
  if (!t.energy_type.empty()) {
    auto it = m.energy_types.find(t.energy_type);
    s += fmt::format(" of {}", it == m.energy_types.end() ? t.energy_type : it->second.name);
  }
  return s;
}

}  // namespace

expected<qtype, formula_error> type_of(const expr& e, const model& m, const indicator& target) {
  auto fail = [&](std::string msg) { return unexpected{formula_error{e.pos, std::move(msg)}}; };
  switch (e.op) {
    case op::number: return qtype{};
    case op::ref: {
      const auto& ind = m.indicators.at(e.id);
      const auto& tpl = m.templates.at(ind.template_id);
      auto u = parse_unit(tpl.unit);
      if (!u)
        return fail(u.error());
      return qtype{*u, quantity_type(m, tpl, *u), tpl.unit};
    }
    case op::sum_children: {
      const auto& tpl = m.templates.at(e.id);
      auto u = parse_unit(tpl.unit);
      if (!u)
        return fail(u.error());
      return qtype{*u, quantity_type(m, tpl, *u), tpl.unit};
    }
    case op::coal:
    case op::coal_equal: return energy_unit(m, e, "kgce");
    case op::co2: return energy_unit(m, e, "kgCO2");
    case op::price: return energy_unit(m, e, m.ent.currency);
    case op::production: {
      auto u = parse_unit(m.products.at(e.id).unit);
      if (!u)
        return fail(u.error());
      return qtype{*u, {}, m.products.at(e.id).unit};
    }
    case op::neg: return type_of(*e.a, m, target);
    case op::add:
    case op::sub:
    case op::mul:
    case op::div: {
      auto a = type_of(*e.a, m, target);
      if (!a)
        return a;
      auto b = type_of(*e.b, m, target);
      if (!b)
        return b;
      bool tagged_both = !a->energy_type.empty() && !b->energy_type.empty();
      if (e.op == op::add || e.op == op::sub) {
        if (!a->u.same_dimension(b->u))
          return fail(fmt::format("unit mismatch: {} {} {}", type_text(*a, m),
                                  e.op == op::add ? "+" : "-", type_text(*b, m)));
        if (tagged_both && a->energy_type != b->energy_type)
          return fail(fmt::format("energy type mismatch: {} {} {}", type_text(*a, m),
                                  e.op == op::add ? "+" : "-", type_text(*b, m)));
        return qtype{a->u, a->energy_type == b->energy_type ? a->energy_type : std::string(),
                     a->text.empty() ? b->text : a->text};
      }
      if (tagged_both && a->energy_type != b->energy_type)
        return fail(fmt::format("energy type mismatch: {} {} {}", type_text(*a, m),
                                e.op == op::mul ? "*" : "/", type_text(*b, m)));
      qtype r{e.op == op::mul ? a->u * b->u : a->u / b->u, {}, {}};
      // The unit as written: a plain number leaves the other side's.
      auto group = [](const std::string& t) {
        return t.find_first_of("*/") == std::string::npos ? t : "(" + t + ")";
      };
      if (b->text.empty())
        r.text = a->text;
      else if (a->text.empty())
        r.text = e.op == op::mul ? b->text : "1/" + group(b->text);
      else if (e.op == op::mul)
        r.text = fmt::format("{} * {}", a->text, b->text);
      else
        r.text = fmt::format("{} / {}", a->text, group(b->text));
      // A quantity scaled by a plain number stays a quantity of its type.
      if (b->u.dimensionless() && b->energy_type.empty())
        r.energy_type = a->energy_type;
      if (a->u.dimensionless() && a->energy_type.empty() && e.op == op::mul)
        r.energy_type = b->energy_type;
      return r;
    }
  }
  return fail("unknown operation");
}

expected<expr_ptr, formula_error> compile_formula(std::string_view text, const model& m,
                                                  const indicator& target) {
  auto parsed = parse_formula(text);
  if (!parsed)
    return parsed;
  auto resolved = resolver{m}.resolve(*parsed);
  if (!resolved)
    return resolved;
  auto t = type_of(**resolved, m, target);
  if (!t)
    return unexpected{t.error()};
  const auto& tpl = m.templates.at(target.template_id);
  auto want = parse_unit(tpl.unit);
  if (!want)
    return unexpected{formula_error{0, want.error()}};
  qtype w{*want, quantity_type(m, tpl, *want), tpl.unit};
  if (!t->u.same_dimension(*want))
    return unexpected{
      formula_error{0, fmt::format("the formula gives {} but indicator \"{}\" is in {}",
                                   type_text(*t, m), target.name, type_text(w, m))}};
  if (!w.energy_type.empty() && !t->energy_type.empty() && t->energy_type != w.energy_type)
    return unexpected{
      formula_error{0, fmt::format("the formula gives {} but indicator \"{}\" is {}",
                                   type_text(*t, m), target.name, type_text(w, m))}};
  return resolved;
}

std::vector<std::string> dependencies(const expr& e, const model& m, const indicator& target) {
  std::vector<std::string> out;
  auto walk = [&](auto&& self, const expr& x) -> void {
    if (x.op == op::ref)
      out.push_back(x.id);
    if (x.op == op::sum_children) {
      // Through the owner index: a pass over every indicator per child
      // made checking a 100,000-node tree quadratic.
      auto of_owner = [&](const std::string& owner) {
        for (const auto& id : m.indicators_of(owner))
          if (m.indicators.at(id).template_id == x.id)
            out.push_back(id);
      };
      for (const auto& c : m.child_nodes(target.owner))
        of_owner(c);
      for (const auto& mt : m.meters_of(target.owner))
        of_owner(mt);
    }
    if (x.a)
      self(self, *x.a);
    if (x.b)
      self(self, *x.b);
  };
  walk(walk, e);
  return out;
}

}  // namespace plantd::energy
