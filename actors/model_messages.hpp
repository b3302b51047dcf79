// Messages of the energy-carbon model: a change of its records (data with
// inspectors, checked by the energy actor against the model it holds), a
// snapshot of the whole model to read off the actor, and the audit trail.
// The inspectors of the model's records are here too: the model itself
// (model/) knows nothing of CAF.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/time.h>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/variant.hpp>

#include "actors/plant_inspect.hpp"
#include "model/energy/model.hpp"

namespace plantd {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, atom& x) {
  std::string s = x.str();
  return f(caf::meta::type_name("atom"), s, caf::meta::load_callback([&]() -> caf::error {
             x = atom{s};
             return caf::none;
           }));
}

}  // namespace plantd

namespace plantd::energy {

// A civil day as days since 1970-01-01, optional or not, for inspectors.
struct day_field {
  absl::CivilDay& day;
};
struct optional_day_field {
  std::optional<absl::CivilDay>& day;
};

inline constexpr absl::CivilDay inspect_epoch{1970, 1, 1};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, day_field& x) {
  int64_t d = x.day - inspect_epoch;
  return f(caf::meta::type_name("day"), d, caf::meta::load_callback([&]() -> caf::error {
             x.day = inspect_epoch + d;
             return caf::none;
           }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, optional_day_field& x) {
  bool has = x.day.has_value();
  int64_t d = has ? *x.day - inspect_epoch : 0;
  return f(caf::meta::type_name("optional_day"), has, d,
           caf::meta::load_callback([&]() -> caf::error {
             x.day = has ? std::optional<absl::CivilDay>(inspect_epoch + d) : std::nullopt;
             return caf::none;
           }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coefficient& x) {
  day_field from{x.valid_from};
  optional_day_field to{x.valid_to};
  return f(caf::meta::type_name("coefficient"), x.version, from, to, x.value, x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, co2_factor& x) {
  return f(caf::meta::type_name("co2_factor"), x.version, x.year, x.region, x.value, x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price& x) {
  day_field from{x.valid_from};
  optional_day_field to{x.valid_to};
  return f(caf::meta::type_name("price"), x.version, from, to, x.flat, x.tou, x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, energy_type& x) {
  return f(caf::meta::type_name("energy_type"), x.id, x.name, x.name_en, x.unit, x.coal_equivalent,
           x.coal_equal, x.co2, x.prices, x.required_rate[0], x.required_rate[1],
           x.required_rate[2], x.rate_source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, equipment_details& x) {
  optional_day_field start{x.start_date};
  return f(caf::meta::type_name("equipment_details"), x.spec, x.location, x.maker, x.rated_power_kw,
           start);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, meter_details& x) {
  optional_day_field start{x.start_date};
  return f(caf::meta::type_name("meter_details"), x.model, x.accuracy_class, x.location, x.maker,
           start, x.ct_ratio, x.pt_ratio, x.counter_rollover);
}

// Master data kept apart from a record (none: the defaults).
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, details_box<T>& x) {
  bool has = !x.empty();
  T value = *x;
  return f(caf::meta::type_name("details"), has, value,
           caf::meta::load_callback([&]() -> caf::error {
             x = details_box<T>{};
             if (has)
               x.edit() = std::move(value);
             return caf::none;
           }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node& x) {
  return f(caf::meta::type_name("node"), x.id, x.name, x.kind, x.metering_level, x.parent,
           x.energy_type, x.equipment);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, meter& x) {
  return f(caf::meta::type_name("meter"), x.id, x.name, x.metering_level, x.energy_type, x.node,
           x.details, x.live_source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product& x) {
  return f(caf::meta::type_name("product"), x.id, x.name, x.spec, x.unit, x.node);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, indicator_template& x) {
  return f(caf::meta::type_name("indicator_template"), x.id, x.name, x.name_en, x.kind,
           x.energy_type, x.unit, x.direction);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, indicator& x) {
  return f(caf::meta::type_name("indicator"), x.id, x.name, x.template_id, x.owner, x.source,
           x.formula);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, use& x) {
  return f(caf::meta::type_name("use"), x.kind, x.id, x.text);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enterprise& x) {
  return f(caf::meta::type_name("enterprise"), x.name, x.region, x.currency, x.time_zone,
           x.language);
}

}  // namespace plantd::energy

namespace plantd::actors {

// One record of the model, of any kind.
using model_record =
  caf::variant<energy::energy_type, energy::node, energy::meter, energy::product,
               energy::indicator_template, energy::indicator, energy::enterprise>;

// The kind of a record as the API names it ("energy_type", "node", "meter",
// "product", "template", "indicator", "enterprise") and its id ("" for the
// enterprise).
std::string kind_of(const model_record& r);
std::string id_of(const model_record& r);

// A record to put: created, or replacing the one of its id unless
// `create_only`.
struct model_put {
  model_record record;
  bool create_only = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_put& x) {
  return f(caf::meta::type_name("model_put"), x.record, x.create_only);
}

// Puts the record into `m` (the model's put of its kind).
energy::result put_into(energy::model& m, const model_put& p);

// A change of the model, made by `who`: the record of `puts` (put, audited
// with the record's text before and after), the records of `puts` in order
// and all or none (put_many; a refusal names items[i]), or the removal of
// record `kind` `id`. Refused as aborted when `base_version`
// is not 0 and the model has changed since that version (the change was
// prepared from an older snapshot: an update's merge, a table's plan).
struct model_edit {
  enum class op : uint8_t { put, put_many, remove };
  op what = op::put;
  std::vector<model_put> puts;
  std::string kind, id;  // remove
  std::string who;
  std::string note;  // what the audit says it was ("" = said from the records)
  uint64_t base_version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_edit& x) {
  return f(caf::meta::type_name("model_edit"), x.what, x.puts, x.kind, x.id, x.who, x.note,
           x.base_version);
}

// A change done: the model's version after it, the records put, of a put
// of one indicator its formula as stored (canonical) and as shown (names),
// and after a replace the indicators of the new model.
struct model_edited {
  uint64_t version = 0;
  uint32_t put = 0;
  std::string formula, formula_display;
  uint32_t indicators = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_edited& x) {
  return f(caf::meta::type_name("model_edited"), x.version, x.put, x.formula, x.formula_display,
           x.indicators);
}

// The record `kind` `id` of `m` (the enterprise: id ""), if there is one.
std::optional<model_record> find_record(const energy::model& m, const std::string& kind,
                                        const std::string& id);

// One record as it stands (the cheap read: no view of the whole model).
struct record_request {
  std::string kind, id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_request& x) {
  return f(caf::meta::type_name("record_request"), x.kind, x.id);
}

// The record if found, an indicator's formula as shown (names), and the
// model's version (an update based on it is refused once it changed).
struct record_answer {
  bool found = false;
  model_record record;
  std::string formula_display;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_answer& x) {
  return f(caf::meta::type_name("record_answer"), x.found, x.record, x.formula_display, x.version);
}

// Where a record is used (what keeps it from being deleted).
struct uses_request {
  std::string kind, id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uses_request& x) {
  return f(caf::meta::type_name("uses_request"), x.kind, x.id);
}

struct uses_answer {
  std::vector<energy::use> uses;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uses_answer& x) {
  return f(caf::meta::type_name("uses_answer"), x.uses);
}

// The model as it stood at `version`: shared and never modified (a change
// makes a new one), read by calls off the energy actor.
struct model_view {
  std::shared_ptr<const energy::model> model;
  uint64_t version = 0;
};

// The whole model replaced (an import), by `who`.
struct model_replace {
  std::shared_ptr<const energy::model> model;
  std::string who;
};

}  // namespace plantd::actors

namespace plantd::energy {

// The model shared as a snapshot: whether there is one, and its records
// (the enterprise, then each kind in id order). Read back, the records make
// a new model, indexed.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, std::shared_ptr<const energy::model>& x) {
  bool has = x != nullptr;
  energy::enterprise ent;
  std::vector<energy::energy_type> types;
  std::vector<energy::node> nodes;
  std::vector<energy::meter> meters;
  std::vector<energy::product> products;
  std::vector<energy::indicator_template> templates;
  std::vector<energy::indicator> indicators;
  if (has) {
    ent = x->ent;
    for (const auto& [id, t] : x->energy_types)
      types.push_back(t);
    for (const auto& r : x->nodes)
      nodes.push_back(r.second);
    for (const auto& r : x->meters)
      meters.push_back(r.second);
    for (const auto& [id, p] : x->products)
      products.push_back(p);
    for (const auto& [id, t] : x->templates)
      templates.push_back(t);
    for (const auto& r : x->indicators)
      indicators.push_back(r.second);
  }
  return f(caf::meta::type_name("model"), has, ent, types, nodes, meters, products, templates,
           indicators, caf::meta::load_callback([&]() -> caf::error {
             if (!has) {
               x = nullptr;
               return caf::none;
             }
             auto m = std::make_shared<energy::model>();
             m->ent = std::move(ent);
             // The id is taken before the record is moved into its table.
             auto fill = [](auto& into, auto& records) {
               for (auto& r : records) {
                 auto id = r.id;
                 into.emplace(id, std::move(r));
               }
             };
             fill(m->energy_types, types);
             fill(m->nodes, nodes);
             fill(m->meters, meters);
             fill(m->products, products);
             fill(m->templates, templates);
             fill(m->indicators, indicators);
             m->reindex();
             x = std::move(m);
             return caf::none;
           }));
}

}  // namespace plantd::energy

namespace plantd::actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_view& x) {
  return f(caf::meta::type_name("model_view"), x.model, x.version);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_replace& x) {
  return f(caf::meta::type_name("model_replace"), x.model, x.who);
}

// What a unit knows of the model: its node, the kind of every leaf it owns
// ("manual", "production", "meter", "formula": indicators of the node and
// of its meters, products of the node) and its meters.
struct unit_slice {
  std::string node;
  absl::TimeZone tz = absl::UTCTimeZone();
  std::map<std::string, std::string> leaves;
  struct meter_info {
    double rollover = 0;
    double multiplier = 1;  // CT x PT
    // Meter indicators and the factor from the meter's unit to theirs.
    std::vector<std::pair<std::string, double>> indicators;
  };
  std::map<std::string, meter_info> meters;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_slice::meter_info& x) {
  return f(caf::meta::type_name("meter_info"), x.rollover, x.multiplier, x.indicators);
}

// The time zone by its name.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_slice& x) {
  std::string tz = x.tz.name();
  return f(caf::meta::type_name("unit_slice"), x.node, tz, x.leaves, x.meters,
           caf::meta::load_callback([&]() -> caf::error {
             if (!absl::LoadTimeZone(tz, &x.tz))
               return caf::make_error(caf::sec::invalid_argument, "unknown time zone " + tz);
             return caf::none;
           }));
}

// A unit's slice, shared: whether there is one, and the slice. Read back,
// it is a new slice of its own.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, std::shared_ptr<const unit_slice>& x) {
  bool has = x != nullptr;
  unit_slice value = has ? *x : unit_slice{};
  return f(caf::meta::type_name("slice_ptr"), has, value,
           caf::meta::load_callback([&]() -> caf::error {
             x = has ? std::make_shared<const unit_slice>(std::move(value)) : nullptr;
             return caf::none;
           }));
}

// Audit records of the model and its entries from `from_ms` to `to_ms`
// (inclusive), the last `limit` of them, oldest first.
struct audit_request {
  int64_t from_ms = INT64_MIN, to_ms = INT64_MAX;
  uint32_t limit = 100;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_request& x) {
  return f(caf::meta::type_name("audit_request"), x.from_ms, x.to_ms, x.limit);
}

// An audit record of the model or its entries (its form in the store:
// drivers/store/energy_records.hpp): when, who, what, and the record's text
// before and after ("" = none).
struct audit_entry {
  int64_t time_ms = 0;
  std::string who, what, before, after;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_entry& x) {
  return f(caf::meta::type_name("audit_entry"), x.time_ms, x.who, x.what, x.before, x.after);
}

struct audit_answer {
  std::vector<audit_entry> records;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_answer& x) {
  return f(caf::meta::type_name("audit_answer"), x.records);
}

}  // namespace plantd::actors
