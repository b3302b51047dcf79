// The indicator formula language.
//
//   formula  := sum
//   sum      := product (('+' | '-') product)*
//   product  := unary (('*' | '/') unary)*
//   unary    := '-' unary | primary
//   primary  := NUMBER | '#' ID | '[' PATH ']' | '(' sum ')'
//             | FUNC '(' ARG ')'
//   FUNC     := sum_children | coal | coal_equal | co2 | price | production
//   ARG      := ID | '"' name '"'
//
// '#ID' is an indicator by stable id; '[Plant/Branch 1/Boiler room:Gas]' is
// an indicator by path (node and meter names from the root, ':' and the
// indicator's name), resolved to its id when the formula is saved.
// sum_children(TEMPLATE) sums that template's indicators on the child units
// and meters of the indicator's owner (output-direction ones subtracted).
// coal(E) / coal_equal(E) are E's standard-coal coefficients (kgce per unit
// of E), co2(E) its CO2 factor (kgCO2 per unit), price(E) its price
// (currency per unit), production(P) the production of product P; all for
// the period being computed.
//
// A formula is checked when saved: syntax (with the position), references,
// units (kWh + m3 is refused) and energy types (water + natural gas is
// refused even though both are m3; coal(natural_gas) applied to electricity
// too). Cycles are found over the whole model (model.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/common/expected.hpp"
#include "model/energy/units.hpp"

namespace plantd::energy {

class model;
struct indicator;

enum class op : uint8_t {
  number,
  ref,  // id: an indicator
  add,
  sub,
  mul,
  div,
  neg,
  sum_children,  // id: a template
  coal,          // id: an energy type
  coal_equal,
  co2,
  price,
  production,  // id: a product
};

struct expr {
  enum op op = op::number;
  double number = 0;
  std::string id;
  std::size_t pos = 0;  // 1-based position in the source text
  std::shared_ptr<const expr> a, b;
};
using expr_ptr = std::shared_ptr<const expr>;

struct formula_error {
  std::size_t pos = 0;  // 1-based; 0 when about the formula as a whole
  std::string message;
  std::string text() const;  // "at 7: unknown indicator #x"
};

// The type of a value: its unit and, when it is a quantity of one energy
// type (or a coefficient of one), that type.
struct qtype {
  unit u;
  std::string energy_type;
  std::string text;  // the unit as written ("kWh", "kWh * CNY/kWh"); "" for a plain number
};

// Syntax only: references stay as written (paths unresolved).
expected<expr_ptr, formula_error> parse_formula(std::string_view text);

// Parse, resolve references against `m`, type-check against the target
// indicator's template. The result is resolved (ids only).
expected<expr_ptr, formula_error> compile_formula(std::string_view text, const model& m,
                                                  const indicator& target);

// The canonical text of a resolved formula (references by id).
std::string canonical(const expr& e);
// The same with references shown by path (for people).
std::string display(const expr& e, const model& m);

// The type of a resolved expression; an error names the mismatch.
expected<qtype, formula_error> type_of(const expr& e, const model& m, const indicator& target);

// The indicators an indicator's formula reads (sum_children expanded).
std::vector<std::string> dependencies(const expr& e, const model& m, const indicator& target);

}  // namespace plantd::energy
