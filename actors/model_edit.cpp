// The energy book's changes of records (model_edit) and its snapshots
// (model_view); the record kinds of model_messages.hpp.
#include <algorithm>
#include <functional>
#include <map>
#include <string>

#include <fmt/format.h>

#include "actors/energy_actor.hpp"
#include "drivers/store/energy_records.hpp"

namespace plantd::actors {

namespace {

using energy::failure;

struct kind_name {
  std::string operator()(const energy::energy_type&) const { return "energy_type"; }
  std::string operator()(const energy::node&) const { return "node"; }
  std::string operator()(const energy::meter&) const { return "meter"; }
  std::string operator()(const energy::product&) const { return "product"; }
  std::string operator()(const energy::indicator_template&) const { return "template"; }
  std::string operator()(const energy::indicator&) const { return "indicator"; }
  std::string operator()(const energy::enterprise&) const { return "enterprise"; }
};

struct id_name {
  std::string operator()(const energy::enterprise&) const { return ""; }
  template <class T>
  std::string operator()(const T& x) const {
    return std::string(x.id);
  }
};

struct putter {
  energy::model& m;
  bool upsert;
  energy::result operator()(const energy::energy_type& x) const {
    return m.put_energy_type(x, upsert);
  }
  energy::result operator()(const energy::node& x) const { return m.put_node(x, upsert); }
  energy::result operator()(const energy::meter& x) const { return m.put_meter(x, upsert); }
  energy::result operator()(const energy::product& x) const { return m.put_product(x, upsert); }
  energy::result operator()(const energy::indicator_template& x) const {
    return m.put_template(x, upsert);
  }
  energy::result operator()(const energy::indicator& x) const { return m.put_indicator(x, upsert); }
  energy::result operator()(const energy::enterprise& x) const { return m.put_enterprise(x); }
};

// What the audit says a put was (an indicator's formula with the one it
// replaces).
std::string put_note(const energy::model& m, const model_put& p) {
  auto kind = kind_of(p.record), id = id_of(p.record);
  if (kind == "enterprise")
    return "put enterprise";
  if (kind == "indicator") {
    const auto& x = caf::get<energy::indicator>(p.record);
    auto it = m.indicators.find(id);
    std::string old = it != m.indicators.end() ? it->second.formula.str() : std::string();
    return fmt::format("put indicator {} formula \"{}\" (was \"{}\")", id, x.formula.view(), old);
  }
  static const std::map<std::string, std::string, std::less<>> says{
    {"energy_type", "energy type"}, {"node", "unit"},         {"meter", "meter"},
    {"product", "product"},         {"template", "template"},
  };
  return fmt::format("put {} {}", says.at(kind), id);
}

std::function<energy::result(energy::model&)> remover(const std::string& kind,
                                                      const std::string& id) {
  if (kind == "energy_type")
    return [id](energy::model& m) { return m.remove_energy_type(id); };
  if (kind == "node")
    return [id](energy::model& m) { return m.remove_node(id); };
  if (kind == "meter")
    return [id](energy::model& m) { return m.remove_meter(id); };
  if (kind == "product")
    return [id](energy::model& m) { return m.remove_product(id); };
  if (kind == "template")
    return [id](energy::model& m) { return m.remove_template(id); };
  if (kind == "indicator")
    return [id](energy::model& m) { return m.remove_indicator(id); };
  return nullptr;
}

// Recorded data that keeps a product or indicator from being deleted: its
// daily or production entries and its meter hours stay in the store and
// reports over past periods use them. (Renaming is always possible.)
problems recorded_data(const store::store& db, const std::string& kind, const std::string& id) {
  problems out;
  if (kind != "product" && kind != "indicator")
    return out;
  auto first_day = [](const std::string& key, std::size_t prefix_len) {
    return key.substr(prefix_len, std::min<std::size_t>(10, key.size() - prefix_len));
  };
  auto entries = store::energy_records::entries_of(id);
  if (auto e = db.scan_energy(entries, 1); !e.empty())
    out.push_back({"id", fmt::format("{} {} has recorded {} entries (the first on {}); they stay "
                                     "for the reports of their periods",
                                     kind, id, kind == "product" ? "production" : "daily",
                                     first_day(e.front().first, entries.size()))});
  if (kind == "indicator" && !db.scan_energy(store::energy_records::hours_of(id), 1).empty())
    out.push_back({"id", fmt::format("indicator {} has recorded hourly meter consumption; it "
                                     "stays for the reports of its periods",
                                     id)});
  return out;
}

}  // namespace

std::string kind_of(const model_record& r) {
  return caf::visit(kind_name{}, r);
}

std::string id_of(const model_record& r) {
  return caf::visit(id_name{}, r);
}

energy::result put_into(energy::model& m, const model_put& p) {
  return caf::visit(putter{m, !p.create_only}, p.record);
}

std::optional<model_record> find_record(const energy::model& m, const std::string& kind,
                                        const std::string& id) {
  auto in = [&id](const auto& table) -> std::optional<model_record> {
    auto it = table.find(id);
    if (it == table.end())
      return std::nullopt;
    return model_record{it->second};
  };
  if (kind == "energy_type")
    return in(m.energy_types);
  if (kind == "node")
    return in(m.nodes);
  if (kind == "meter")
    return in(m.meters);
  if (kind == "product")
    return in(m.products);
  if (kind == "template")
    return in(m.templates);
  if (kind == "indicator")
    return in(m.indicators);
  if (kind == "enterprise")
    return model_record{m.ent};
  return std::nullopt;
}

model_view energy_book::view() {
  if (!view_)
    view_ = std::make_shared<const energy::model>(model_);
  return model_view{view_, version_};
}

record_answer energy_book::record(const std::string& kind, const std::string& id) const {
  record_answer out;
  out.version = version_;
  auto rec = find_record(model_, kind, id);
  if (!rec)
    return out;
  out.found = true;
  out.record = std::move(*rec);
  if (kind == "indicator")
    if (auto f = model_.formula_of(id))
      out.formula_display = energy::display(*f, model_);
  return out;
}

expected<model_edited, failure> energy_book::edit(const model_edit& e) {
  if (e.base_version != 0 && e.base_version != version_)
    return unexpected{failure{
      errc::aborted, {problem{"", "the model changed while this change was prepared; ask again"}}}};
  auto text_of = [this](std::string kind, std::string id) {
    std::function<std::string(const energy::model&)> f;
    if (codec_.record)
      f = [this, kind = std::move(kind), id = std::move(id)](const energy::model& m) {
        return codec_.record(m, kind, id);
      };
    return f;
  };
  model_edited out;
  energy::result r;
  switch (e.what) {
    case model_edit::op::remove: {
      auto f = remover(e.kind, e.id);
      if (!f)
        return unexpected{
          failure{errc::invalid_argument,
                  {problem{"kind", fmt::format("\"{}\" is not energy_type, node, meter, product, "
                                               "template or indicator",
                                               e.kind)}}}};
      bool exists =
        e.kind == "product" ? model_.products.count(e.id) > 0 : model_.indicators.count(e.id) > 0;
      if (db_ && exists)
        if (auto data = recorded_data(*db_, e.kind, e.id); !data.empty())
          return unexpected{failure{errc::failed_precondition, std::move(data)}};
      r = change(f, e.who, e.note.empty() ? fmt::format("delete {} {}", e.kind, e.id) : e.note,
                 text_of(e.kind, e.id));
      break;
    }
    case model_edit::op::put: {
      if (e.puts.size() != 1)
        return unexpected{
          failure{errc::invalid_argument,
                  {problem{"", fmt::format("a put is of one record, not {}", e.puts.size())}}}};
      const auto& p = e.puts.front();
      r = change([&p](energy::model& m) { return put_into(m, p); }, e.who,
                 e.note.empty() ? put_note(model_, p) : e.note,
                 text_of(kind_of(p.record), id_of(p.record)));
      if (r && kind_of(p.record) == "indicator") {
        auto id = id_of(p.record);
        out.formula = model_.indicators.at(id).formula.str();
        if (auto f = model_.formula_of(id))
          out.formula_display = energy::display(*f, model_);
      }
      out.put = 1;
      break;
    }
    case model_edit::op::put_many: {
      // On a copy: the first refusal leaves the model as it was.
      auto all = [&e](energy::model& m) -> energy::result {
        energy::model next = m;
        for (std::size_t i = 0; i < e.puts.size(); ++i)
          if (auto res = put_into(next, e.puts[i]); !res) {
            auto f = res.error();
            for (auto& pr : f.list)
              pr.path = fmt::format("items[{}]{}{}", i, pr.path.empty() ? "" : ".", pr.path);
            if (f.list.empty())
              f.list.push_back({fmt::format("items[{}]", i), "refused"});
            return unexpected{f};
          }
        m = std::move(next);
        return {};
      };
      std::string note = e.note;
      if (note.empty()) {
        note = fmt::format("put {} records", e.puts.size());
        for (std::size_t i = 0; i < e.puts.size() && i < 20; ++i)
          note += (i ? "; " : ": ") + put_note(model_, e.puts[i]);
        if (e.puts.size() > 20)
          note += "; ...";
      }
      r = change(all, e.who, note);
      out.put = static_cast<uint32_t>(e.puts.size());
      break;
    }
  }
  if (!r)
    return unexpected{r.error()};
  out.version = version_;
  return out;
}

}  // namespace plantd::actors
