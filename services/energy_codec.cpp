#include "services/energy_codec.hpp"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "model/plant/validate.hpp"

namespace plantd::services {
namespace {

std::optional<absl::CivilDay> date(const std::string& s, const std::string& path, problems& out) {
  if (s.empty())
    return std::nullopt;
  absl::CivilDay d;
  if (s.size() != 10 || !absl::ParseCivilTime(s, &d)) {
    out.push_back({path, fmt::format("\"{}\" is not a date (YYYY-MM-DD)", s)});
    return std::nullopt;
  }
  return d;
}

std::string date_text(const std::optional<absl::CivilDay>& d) {
  if (!d)
    return {};
  return fmt::format("{:04}-{:02}-{:02}", d->year(), d->month(), d->day());
}

const char* weekday_names[] = {"",         "monday", "tuesday",  "wednesday",
                               "thursday", "friday", "saturday", "sunday"};

}  // namespace

energy::energy_type from_proto(const v1::EnergyType& in, const std::string& path, problems& out) {
  energy::energy_type e;
  e.id = in.id();
  e.name = in.name();
  e.name_en = in.name_en();
  e.unit = in.unit();
  auto coefs = [&](const auto& list, std::vector<energy::coefficient>& to, const char* field) {
    for (int i = 0; i < list.size(); ++i) {
      const auto& c = list[i];
      energy::coefficient x;
      x.version = c.version();
      auto p = fmt::format("{}{}[{}]", path, field, i);
      if (auto d = date(c.valid_from(), p + ".valid_from", out))
        x.valid_from = *d;
      x.valid_to = date(c.valid_to(), p + ".valid_to", out);
      x.value = c.value();
      x.source = c.source();
      to.push_back(x);
    }
  };
  coefs(in.coal_equivalent(), e.coal_equivalent, "coal_equivalent");
  coefs(in.coal_equal(), e.coal_equal, "coal_equal");
  for (const auto& f : in.co2())
    e.co2.push_back({f.version(), f.year(), f.region(), f.value(), f.source()});
  for (int i = 0; i < in.prices_size(); ++i) {
    const auto& p = in.prices(i);
    energy::price x;
    auto pp = fmt::format("{}prices[{}]", path, i);
    x.version = p.version();
    if (auto d = date(p.valid_from(), pp + ".valid_from", out))
      x.valid_from = *d;
    x.valid_to = date(p.valid_to(), pp + ".valid_to", out);
    x.flat = p.flat();
    x.source = p.source();
    for (const auto& s : p.tou()) {
      plant::price_slot slot;
      slot.start = s.start();
      slot.end = s.end();
      slot.price_per_kwh = s.price();
      for (const auto& d : s.days()) {
        int k = 1;
        for (; k <= 7; ++k)
          if (d == weekday_names[k])
            break;
        if (k > 7)
          out.push_back({pp + ".tou.days", fmt::format("\"{}\" is not a weekday", d)});
        else
          slot.days.push_back(static_cast<plant::weekday>(k));
      }
      x.tou.push_back(slot);
    }
    e.prices.push_back(x);
  }
  for (int k = 0; k < 3; ++k)
    e.required_rate[k] = k < in.required_rate_size() ? in.required_rate(k) : -1;
  e.rate_source = in.rate_source();
  return e;
}

// A metering level as stored (0 = absent: the default); out of 1..3 stays
// invalid (0) for the model's check instead of wrapping into range.
uint8_t level(int32_t given, uint8_t absent) {
  if (given == 0)
    return absent;
  return given >= 1 && given <= 3 ? static_cast<uint8_t>(given) : 0;
}

energy::node from_proto(const v1::Node& in, const std::string& path, problems& out) {
  energy::node n;
  n.id = in.id();
  n.name = in.name();
  if (auto k = energy::parse_node_kind(in.kind().empty() ? "workshop" : in.kind()))
    n.kind = *k;
  else
    out.push_back({path + "kind",
                   fmt::format("\"{}\" is not plant, branch, workshop or equipment", in.kind())});
  n.parent = in.parent();
  n.metering_level = level(in.metering_level(), in.parent().empty() ? 1 : 2);
  n.energy_type = in.energy_type();
  auto& e = n.equipment.edit();
  e.spec = in.spec();
  e.location = in.location();
  e.maker = in.maker();
  e.rated_power_kw = in.rated_power_kw();
  e.start_date = date(in.start_date(), path + "start_date", out);
  n.equipment.shrink();
  return n;
}

energy::meter from_proto(const v1::Meter& in, const std::string& path, problems& out) {
  energy::meter m;
  m.id = in.id();
  m.name = in.name();
  m.metering_level = level(in.metering_level(), 1);
  m.energy_type = in.energy_type();
  m.node = in.node();
  auto& d = m.details.edit();
  d.model = in.model();
  d.accuracy_class = in.accuracy_class();
  d.location = in.location();
  d.maker = in.maker();
  d.start_date = date(in.start_date(), path + "start_date", out);
  d.ct_ratio = in.ct_ratio() ? in.ct_ratio() : 1;
  d.pt_ratio = in.pt_ratio() ? in.pt_ratio() : 1;
  d.counter_rollover = in.counter_rollover();
  m.details.shrink();
  m.live_source = in.live_source();
  if (!m.live_source.empty() && m.live_source != "grid.import" && m.live_source != "grid.export") {
    // A sub-meter of the plant config: meter.<device id>[.export].
    std::string src_text = m.live_source.str();
    std::string_view src = src_text;
    bool sub = src.starts_with("meter.") && src.size() > 6;
    if (sub) {
      auto dev = src.substr(6);
      if (dev.ends_with(".export"))
        dev.remove_suffix(7);
      sub = !dev.empty() && std::all_of(dev.begin(), dev.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
    }
    if (!sub)
      out.push_back(
        {path + "live_source",
         fmt::format("\"{}\" is not a live meter (grid.import, grid.export, meter.<sub-meter id>, "
                     "meter.<sub-meter id>.export)",
                     m.live_source)});
  }
  return m;
}

energy::product from_proto(const v1::Product& in) {
  return {in.id(), in.name(), in.spec(), in.unit(), in.node()};
}

energy::indicator_template from_proto(const v1::IndicatorTemplate& in, const std::string& path,
                                      problems& out) {
  energy::indicator_template t;
  t.id = in.id();
  t.name = in.name();
  t.name_en = in.name_en();
  if (auto k = energy::parse_indicator_kind(in.kind().empty() ? "efficiency" : in.kind()))
    t.kind = *k;
  else
    out.push_back(
      {path + "kind", fmt::format("\"{}\" is not collection or efficiency", in.kind())});
  t.energy_type = in.energy_type();
  t.unit = in.unit();
  if (auto d = energy::parse_direction(in.direction().empty() ? "consumption" : in.direction()))
    t.direction = *d;
  else
    out.push_back(
      {path + "direction", fmt::format("\"{}\" is not consumption or output", in.direction())});
  return t;
}

energy::indicator from_proto(const v1::Indicator& in, const std::string& path, problems& out) {
  energy::indicator i;
  i.id = in.id();
  i.name = in.name();
  i.template_id = in.template_id();
  i.owner = in.owner();
  std::string src =
    in.source().empty() ? (in.formula().empty() ? "manual" : "formula") : in.source();
  if (auto s = energy::parse_source_kind(src))
    i.source = *s;
  else
    out.push_back(
      {path + "source", fmt::format("\"{}\" is not meter, manual or formula", in.source())});
  i.formula = in.formula();
  return i;
}

energy::enterprise from_proto(const v1::Enterprise& in) {
  energy::enterprise e;
  if (!in.name().empty())
    e.name = in.name();
  e.region = in.region();
  if (!in.currency().empty())
    e.currency = in.currency();
  if (!in.time_zone().empty())
    e.time_zone = in.time_zone();
  if (!in.language().empty())
    e.language = in.language();
  return e;
}

energy::model from_proto(const v1::EnergyModel& in, problems& out) {
  energy::model m;
  if (in.has_enterprise())
    m.ent = from_proto(in.enterprise());
  for (int i = 0; i < in.energy_types_size(); ++i)
    m.energy_types[in.energy_types(i).id()] =
      from_proto(in.energy_types(i), fmt::format("energy_types[{}].", i), out);
  // The large tables are appended and sorted once; a repeated id is an error.
  auto sorted = [&](auto& table, std::string_view what) {
    for (const auto& id : table.sort())
      out.push_back(
        {fmt::format("{}", what), fmt::format("{} id \"{}\" is given more than once", what, id)});
  };
  m.nodes.reserve(static_cast<std::size_t>(in.nodes_size()));
  for (int i = 0; i < in.nodes_size(); ++i)
    m.nodes.append(in.nodes(i).id(), from_proto(in.nodes(i), fmt::format("nodes[{}].", i), out));
  sorted(m.nodes, "nodes");
  m.meters.reserve(static_cast<std::size_t>(in.meters_size()));
  for (int i = 0; i < in.meters_size(); ++i)
    m.meters.append(in.meters(i).id(),
                    from_proto(in.meters(i), fmt::format("meters[{}].", i), out));
  sorted(m.meters, "meters");
  for (const auto& p : in.products())
    m.products[p.id()] = from_proto(p);
  for (int i = 0; i < in.templates_size(); ++i)
    m.templates[in.templates(i).id()] =
      from_proto(in.templates(i), fmt::format("templates[{}].", i), out);
  m.indicators.reserve(static_cast<std::size_t>(in.indicators_size()));
  for (int i = 0; i < in.indicators_size(); ++i)
    m.indicators.append(in.indicators(i).id(),
                        from_proto(in.indicators(i), fmt::format("indicators[{}].", i), out));
  sorted(m.indicators, "indicators");
  m.reindex();
  return m;
}

void to_proto(const energy::indicator& i, const energy::model& m, v1::Indicator* out) {
  out->set_id(i.id);
  out->set_name(i.name);
  out->set_template_id(i.template_id);
  out->set_owner(i.owner);
  out->set_source(std::string(energy::to_string(i.source)));
  out->set_formula(i.formula);
  if (auto f = m.formula_of(i.id))
    out->set_formula_display(energy::display(*f, m));
}

void to_proto(const energy::model& m, v1::EnergyModel* out) {
  auto* e = out->mutable_enterprise();
  e->set_name(m.ent.name);
  e->set_region(m.ent.region);
  e->set_currency(m.ent.currency);
  e->set_time_zone(m.ent.time_zone);
  e->set_language(m.ent.language);
  for (const auto& [id, t] : m.energy_types) {
    auto* x = out->add_energy_types();
    x->set_id(id);
    x->set_name(t.name);
    x->set_name_en(t.name_en);
    x->set_unit(t.unit);
    auto coefs = [&](const std::vector<energy::coefficient>& v, auto* list) {
      for (const auto& c : v) {
        auto* y = list->Add();
        y->set_version(c.version);
        y->set_valid_from(date_text(c.valid_from));
        y->set_valid_to(date_text(c.valid_to));
        y->set_value(c.value);
        y->set_source(c.source);
      }
    };
    coefs(t.coal_equivalent, x->mutable_coal_equivalent());
    coefs(t.coal_equal, x->mutable_coal_equal());
    for (const auto& f : t.co2) {
      auto* y = x->add_co2();
      y->set_version(f.version);
      y->set_year(f.year);
      y->set_region(f.region);
      y->set_value(f.value);
      y->set_source(f.source);
    }
    for (const auto& p : t.prices) {
      auto* y = x->add_prices();
      y->set_version(p.version);
      y->set_valid_from(date_text(p.valid_from));
      y->set_valid_to(date_text(p.valid_to));
      y->set_flat(p.flat);
      y->set_source(p.source);
      for (const auto& s : p.tou) {
        auto* z = y->add_tou();
        z->set_start(s.start);
        z->set_end(s.end);
        z->set_price(s.price_per_kwh);
        for (auto d : s.days)
          z->add_days(weekday_names[static_cast<int>(d) % 8]);
      }
    }
    for (double r : t.required_rate)
      x->add_required_rate(r);
    x->set_rate_source(t.rate_source);
  }
  for (const auto& [id, n] : m.nodes) {
    auto* x = out->add_nodes();
    x->set_id(id);
    x->set_name(n.name);
    x->set_kind(std::string(energy::to_string(n.kind)));
    x->set_parent(n.parent);
    x->set_metering_level(n.metering_level);
    x->set_spec(n.equipment->spec);
    x->set_location(n.equipment->location);
    x->set_maker(n.equipment->maker);
    x->set_energy_type(n.energy_type);
    x->set_rated_power_kw(n.equipment->rated_power_kw);
    x->set_start_date(date_text(n.equipment->start_date));
  }
  for (const auto& [id, mt] : m.meters) {
    auto* x = out->add_meters();
    x->set_id(id);
    x->set_name(mt.name);
    x->set_model(mt.details->model);
    x->set_accuracy_class(mt.details->accuracy_class);
    x->set_metering_level(mt.metering_level);
    x->set_location(mt.details->location);
    x->set_maker(mt.details->maker);
    x->set_energy_type(mt.energy_type);
    x->set_node(mt.node);
    x->set_start_date(date_text(mt.details->start_date));
    x->set_ct_ratio(mt.details->ct_ratio);
    x->set_pt_ratio(mt.details->pt_ratio);
    x->set_counter_rollover(mt.details->counter_rollover);
    x->set_live_source(mt.live_source);
  }
  for (const auto& [id, p] : m.products) {
    auto* x = out->add_products();
    x->set_id(id);
    x->set_name(p.name);
    x->set_spec(p.spec);
    x->set_unit(p.unit);
    x->set_node(p.node);
  }
  for (const auto& [id, t] : m.templates) {
    auto* x = out->add_templates();
    x->set_id(id);
    x->set_name(t.name);
    x->set_name_en(t.name_en);
    x->set_kind(std::string(energy::to_string(t.kind)));
    x->set_energy_type(t.energy_type);
    x->set_unit(t.unit);
    x->set_direction(std::string(energy::to_string(t.direction)));
  }
  for (const auto& [id, i] : m.indicators)
    to_proto(i, m, out->add_indicators());
}

// One record of the model as its message ("enterprise": the one there is);
// false when there is none.
void record_proto(const actors::model_record& r, const std::string& formula_display,
                  v1::Record* out) {
  // A model of that one record, encoded as the whole model is.
  energy::model one;
  struct into_model {
    energy::model& m;
    void operator()(const energy::energy_type& x) const { m.energy_types.emplace(x.id, x); }
    void operator()(const energy::node& x) const { m.nodes.emplace(x.id, x); }
    void operator()(const energy::meter& x) const { m.meters.emplace(x.id, x); }
    void operator()(const energy::product& x) const { m.products.emplace(x.id, x); }
    void operator()(const energy::indicator_template& x) const { m.templates.emplace(x.id, x); }
    void operator()(const energy::indicator& x) const { m.indicators.emplace(x.id, x); }
    void operator()(const energy::enterprise& x) const { m.ent = x; }
  };
  caf::visit(into_model{one}, r);
  auto kind = actors::kind_of(r);
  if (kind == "indicator") {
    auto* x = out->mutable_indicator();
    to_proto(one.indicators.begin()->second, one, x);
    x->set_formula_display(formula_display);
    return;
  }
  v1::EnergyModel p;
  to_proto(one, &p);
  if (kind == "energy_type")
    *out->mutable_energy_type() = p.energy_types(0);
  else if (kind == "node")
    *out->mutable_node() = p.nodes(0);
  else if (kind == "meter")
    *out->mutable_meter() = p.meters(0);
  else if (kind == "product")
    *out->mutable_product() = p.products(0);
  else if (kind == "template")
    *out->mutable_template_() = p.templates(0);
  else
    *out->mutable_enterprise() = p.enterprise();
}

bool record_proto(const energy::model& m, const std::string& kind, const std::string& id,
                  v1::Record* out) {
  auto r = actors::find_record(m, kind, id);
  if (!r)
    return false;
  std::string display;
  if (kind == "indicator")
    if (auto f = m.formula_of(id))
      display = energy::display(*f, m);
  record_proto(*r, display, out);
  return true;
}

// The message of a record's item, and its kind and id.
const google::protobuf::Message* item_of(const v1::Record& r, std::string* kind, std::string* id) {
  switch (r.item_case()) {
    case v1::Record::kEnergyType:
      *kind = "energy_type", *id = r.energy_type().id();
      return &r.energy_type();
    case v1::Record::kNode: *kind = "node", *id = r.node().id(); return &r.node();
    case v1::Record::kMeter: *kind = "meter", *id = r.meter().id(); return &r.meter();
    case v1::Record::kProduct: *kind = "product", *id = r.product().id(); return &r.product();
    case v1::Record::kTemplate: *kind = "template", *id = r.template_().id(); return &r.template_();
    case v1::Record::kIndicator:
      *kind = "indicator", *id = r.indicator().id();
      return &r.indicator();
    case v1::Record::kEnterprise: *kind = "enterprise", id->clear(); return &r.enterprise();
    default: return nullptr;
  }
}

// The JSON form of one record of the model ("" when there is none), for
// the audit trail's before and after.
std::string record_json(const energy::model& m, const std::string& kind, const std::string& id) {
  v1::Record r;
  if (!record_proto(m, kind, id, &r))
    return "";
  std::string k, i;
  const auto* rec = item_of(r, &k, &i);
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  if (!rec || !google::protobuf::util::MessageToJsonString(*rec, &out, opts).ok())
    return "";
  return out;
}

actors::energy_codec energy_store_codec() {
  actors::energy_codec c;
  c.encode = [](const energy::model& m) {
    v1::EnergyModel p;
    to_proto(m, &p);
    return p.SerializeAsString();
  };
  c.decode = [](std::string_view bytes) -> expected<energy::model, std::string> {
    v1::EnergyModel p;
    if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return unexpected{std::string("not an EnergyModel")};
    problems pr;
    auto m = from_proto(p, pr);
    if (!pr.empty())
      return unexpected{pr.front().path + ": " + pr.front().message};
    return m;
  };
  c.record = record_json;
  return c;
}

}  // namespace plantd::services
