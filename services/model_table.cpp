#include "services/model_table.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

namespace plantd::services {

namespace {

namespace pb = google::protobuf;

struct column {
  const char* field;
  const char* zh;
};

// A sheet: its names, the PutRequest field its rows fill, and its columns
// in the order export writes them.
struct sheet_spec {
  const char* en;
  const char* zh;
  const char* kind;             // PutRequest's field: energy_type, node, ...
  const char* model_field;      // EnergyModel's: energy_types, nodes, ...
  std::vector<column> columns;  // the first is the id (but enterprise's)
};

const std::vector<sheet_spec>& specs() {
  static const std::vector<sheet_spec> all{
    {"enterprise",
     "企业",
     "enterprise",
     "enterprise",
     {{"name", "名称"},
      {"region", "地区"},
      {"currency", "货币"},
      {"time_zone", "时区"},
      {"language", "语言"}}},
    {"energy_types",
     "能源种类",
     "energy_type",
     "energy_types",
     {{"id", "编号"},
      {"name", "名称"},
      {"name_en", "英文名称"},
      {"unit", "计量单位"},
      {"rate_source", "计量率依据"}}},
    {"templates",
     "指标模板",
     "template",
     "templates",
     {{"id", "编号"},
      {"name", "名称"},
      {"name_en", "英文名称"},
      {"kind", "类别"},
      {"energy_type", "能源种类"},
      {"unit", "计量单位"},
      {"direction", "方向"}}},
    {"nodes",
     "用能单位",
     "node",
     "nodes",
     {{"id", "编号"},
      {"name", "名称"},
      {"kind", "类别"},
      {"parent", "上级"},
      {"metering_level", "计量级别"},
      {"spec", "规格型号"},
      {"location", "安装位置"},
      {"maker", "生产厂家"},
      {"energy_type", "能源种类"},
      {"rated_power_kw", "额定功率(kW)"},
      {"start_date", "投用日期"}}},
    {"meters",
     "计量器具",
     "meter",
     "meters",
     {{"id", "编号"},
      {"name", "名称"},
      {"node", "所属单位"},
      {"energy_type", "能源种类"},
      {"metering_level", "计量级别"},
      {"model", "型号"},
      {"accuracy_class", "准确度等级"},
      {"location", "安装位置"},
      {"maker", "生产厂家"},
      {"start_date", "投用日期"},
      {"ct_ratio", "CT变比"},
      {"pt_ratio", "PT变比"},
      {"counter_rollover", "计数器满量程"},
      {"live_source", "实时数据源"}}},
    {"products",
     "产品",
     "product",
     "products",
     {{"id", "编号"},
      {"name", "名称"},
      {"node", "所属单位"},
      {"spec", "规格"},
      {"unit", "计量单位"}}},
    {"indicators",
     "指标",
     "indicator",
     "indicators",
     {{"id", "编号"},
      {"name", "名称"},
      {"owner", "所属对象"},
      {"template_id", "指标模板"},
      {"source", "数据来源"},
      {"formula", "公式"}}},
  };
  return all;
}

// Written by export, ignored by import: the formula by path.
constexpr column display_column{"formula_display", "公式(路径)"};

// "C" for the third column, as a spreadsheet names it.
std::string column_name(std::size_t j) {
  std::string out;
  for (std::size_t n = j + 1; n > 0; n = (n - 1) / 26)
    out.insert(out.begin(), static_cast<char>('A' + (n - 1) % 26));
  return out;
}

std::string number_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

// A field's value as a cell.
std::string cell_of(const pb::Message& m, const pb::FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: return r->GetString(m, f);
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      auto v = r->GetInt32(m, f);
      return v == 0 ? std::string{} : std::to_string(v);
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
      auto v = r->GetDouble(m, f);
      return v == 0 ? std::string{} : number_text(v);
    }
    default: return {};
  }
}

// Sets a field from a cell; why not, if it cannot.
std::optional<std::string> set_cell(pb::Message& m, const pb::FieldDescriptor* f,
                                    const std::string& text) {
  const auto* r = m.GetReflection();
  const bool is_date = std::string_view(f->name()).ends_with("_date");
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string v = text;
      // A date cell reads as its serial day number.
      if (is_date && !v.empty() && v.find_first_not_of("0123456789.") == std::string::npos)
        if (auto d = parse_date(v))
          v = fmt::format("{:04}-{:02}-{:02}", d->year(), d->month(), d->day());
      r->SetString(&m, f, std::move(v));
      return std::nullopt;
    }
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = 0;
      if (!text.empty()) {
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(v))
          return fmt::format("{}: \"{}\" is not a number", f->name(), text);
      }
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
        r->SetDouble(&m, f, v);
        return std::nullopt;
      }
      if (v != std::floor(v) || std::abs(v) > 1e9)
        return fmt::format("{}: \"{}\" is not a whole number", f->name(), text);
      r->SetInt32(&m, f, static_cast<int32_t>(v));
      return std::nullopt;
    }
    default: return fmt::format("{}: not a field a sheet can set", f->name());
  }
}

const sheet_spec* spec_named(const std::string& name) {
  auto n = lower(trim(name));
  for (const auto& s : specs())
    if (n == s.en || n == s.zh)
      return &s;
  return nullptr;
}

std::string sheet_names() {
  std::string out;
  for (const auto& s : specs())
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", s.en, s.zh);
  return out;
}

const pb::Descriptor* record_type(const sheet_spec& s) {
  return v1::PutRequest::descriptor()->FindFieldByName(s.kind)->message_type();
}

// The records of one kind stored now, by id (enterprise: one, id "").
std::map<std::string, const pb::Message*> stored(const v1::EnergyModel& m, const sheet_spec& s) {
  std::map<std::string, const pb::Message*> out;
  const auto* f = v1::EnergyModel::descriptor()->FindFieldByName(s.model_field);
  const auto* r = m.GetReflection();
  if (!f->is_repeated()) {
    out[""] = &r->GetMessage(m, f);
    return out;
  }
  for (int i = 0, n = r->FieldSize(m, f); i < n; ++i) {
    const auto& x = r->GetRepeatedMessage(m, f, i);
    out[x.GetReflection()->GetString(x, x.GetDescriptor()->FindFieldByName("id"))] = &x;
  }
  return out;
}

// The records of the same kind a put needs first: a unit's parent, the
// indicators a formula names (#id).
std::vector<std::string> needs(const v1::PutRequest& p) {
  std::vector<std::string> out;
  if (p.has_node() && !p.node().parent().empty())
    out.push_back(p.node().parent());
  if (p.has_indicator()) {
    const auto& f = p.indicator().formula();
    for (std::size_t i = f.find('#'); i != std::string::npos; i = f.find('#', i + 1)) {
      auto e = i + 1;
      while (e < f.size()
             && (std::isalnum(static_cast<unsigned char>(f[e])) || f[e] == '_' || f[e] == '.'))
        ++e;
      out.push_back(f.substr(i + 1, e - i - 1));
    }
  }
  return out;
}

// A record the plan also puts comes before the records that need it (a
// unit before its children, an indicator before the formulas naming it),
// the order kept otherwise: applied in this order, one pass puts them all.
void needed_first(std::vector<model_row_put>& puts) {
  std::map<std::pair<int, std::string>, std::size_t> at;  // (kind, id) -> index
  auto key = [](const v1::PutRequest& p) {
    if (p.has_node())
      return std::pair<int, std::string>{0, p.node().id()};
    if (p.has_indicator())
      return std::pair<int, std::string>{1, p.indicator().id()};
    return std::pair<int, std::string>{-1, ""};
  };
  for (std::size_t i = 0; i < puts.size(); ++i)
    if (auto k = key(puts[i].put); k.first >= 0)
      at[k] = i;
  std::vector<model_row_put> out;
  out.reserve(puts.size());
  std::vector<char> state(puts.size(), 0);  // 0 new, 1 being placed, 2 placed
  // Iterative depth first (a long chain must not overflow the stack); a
  // loop is left as it comes (the model refuses it).
  for (std::size_t start = 0; start < puts.size(); ++start) {
    if (state[start])
      continue;
    std::vector<std::pair<std::size_t, std::size_t>> stack{{start, 0}};  // index, next need
    state[start] = 1;
    while (!stack.empty()) {
      auto& [i, n] = stack.back();
      auto deps = needs(puts[i].put);
      if (n < deps.size()) {
        auto k = key(puts[i].put);
        auto d = at.find({k.first, deps[n++]});
        if (d != at.end() && state[d->second] == 0) {
          state[d->second] = 1;
          stack.emplace_back(d->second, 0);
        }
        continue;
      }
      state[i] = 2;
      out.push_back(std::move(puts[i]));
      stack.pop_back();
    }
  }
  puts = std::move(out);
}

}  // namespace

std::vector<table_sheet> model_sheets(const v1::EnergyModel& m, bool zh) {
  std::vector<table_sheet> out;
  for (const auto& s : specs()) {
    table_sheet sheet;
    sheet.name = zh ? s.zh : s.en;
    const auto* type = record_type(s);
    std::vector<std::string> header;
    std::vector<const pb::FieldDescriptor*> fields;
    for (const auto& c : s.columns) {
      header.push_back(zh ? c.zh : c.field);
      fields.push_back(type->FindFieldByName(c.field));
    }
    bool display = std::string_view(s.kind) == "indicator";
    if (display)
      header.push_back(zh ? display_column.zh : display_column.field);
    // Text columns: every string field (an id "001" stays "001").
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (fields[i]->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING)
        sheet.text_columns.push_back(i);
    if (display)
      sheet.text_columns.push_back(fields.size());
    sheet.rows.push_back(std::move(header));
    for (const auto& [id, rec] : stored(m, s)) {
      std::vector<std::string> row;
      for (const auto* f : fields)
        row.push_back(cell_of(*rec, f));
      if (display)
        row.push_back(static_cast<const v1::Indicator*>(rec)->formula_display());
      sheet.rows.push_back(std::move(row));
    }
    out.push_back(std::move(sheet));
  }
  return out;
}

model_import_plan plan_model_import(const std::vector<named_table>& sheets,
                                    const v1::EnergyModel& current) {
  model_import_plan plan;
  std::map<const sheet_spec*, std::string> seen;
  // Read in the specs' order (a template before the indicators using it),
  // whatever the workbook's.
  std::vector<std::pair<const sheet_spec*, const named_table*>> ordered;
  for (const auto& t : sheets) {
    const auto* s = spec_named(t.name);
    if (!s) {
      plan.refused.push_back(
        {t.name, 0, fmt::format("not a sheet of the model; the sheets are {}", sheet_names())});
      continue;
    }
    if (auto [it, fresh] = seen.emplace(s, t.name); !fresh) {
      plan.refused.push_back(
        {t.name, 0, fmt::format("the sheet \"{}\" holds these records already", it->second)});
      continue;
    }
    ordered.emplace_back(s, &t);
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto refuse = [&](const named_table& t, int line, std::string why) {
    plan.refused.push_back({t.name, line, std::move(why)});
  };
  for (const auto& [spec, table] : ordered) {
    const auto& t = *table;
    if (t.rows.empty())
      continue;
    const auto* type = record_type(*spec);
    const bool has_id = std::string_view(spec->kind) != "enterprise";
    // The header: each column a field, by name or label.
    const auto& head = t.rows.front();
    std::vector<const pb::FieldDescriptor*> fields(head.cells.size(), nullptr);
    const pb::FieldDescriptor* id_field = has_id ? type->FindFieldByName("id") : nullptr;
    int id_col = -1;
    bool header_ok = true;
    std::map<const pb::FieldDescriptor*, std::size_t> taken;
    std::vector<bool> output_only(head.cells.size(), false);
    for (std::size_t j = 0; j < head.cells.size(); ++j) {
      auto name = lower(trim(head.cells[j]));
      if (name.empty())
        continue;
      if (name == display_column.field || name == lower(display_column.zh)) {
        output_only[j] = true;  // written by export, not read
        continue;
      }
      const column* col = nullptr;
      for (const auto& c : spec->columns)
        if (name == c.field || name == lower(c.zh))
          col = &c;
      if (!col) {
        std::string expected;
        for (const auto& c : spec->columns)
          expected += fmt::format("{}{} ({})", expected.empty() ? "" : ", ", c.field, c.zh);
        refuse(t, head.line,
               fmt::format("column \"{}\" is not a field of {}; the columns are {}",
                           trim(head.cells[j]), spec->en, expected));
        header_ok = false;
        continue;
      }
      const auto* f = type->FindFieldByName(col->field);
      if (auto [it, fresh] = taken.emplace(f, j); !fresh) {
        refuse(t, head.line, fmt::format("column \"{}\" is there twice", col->field));
        header_ok = false;
        continue;
      }
      fields[j] = f;
      if (f == id_field)
        id_col = static_cast<int>(j);
    }
    if (has_id && id_col < 0) {
      refuse(t, head.line, "no id column (id, 编号): a row names its record by id");
      header_ok = false;
    }
    if (!header_ok)
      continue;
    auto stored_now = stored(current, *spec);
    std::map<std::string, int> line_of;
    int data_rows = 0;
    for (std::size_t i = 1; i < t.rows.size(); ++i) {
      const auto& row = t.rows[i];
      auto cell = [&](std::size_t j) { return j < row.cells.size() ? trim(row.cells[j]) : ""; };
      bool blank = true;
      std::optional<std::size_t> stray;  // a value in a column without a field
      for (std::size_t j = 0; j < row.cells.size(); ++j) {
        if (cell(j).empty() || (j < output_only.size() && output_only[j]))
          continue;
        if (j < fields.size() && fields[j])
          blank = false;
        else if (!stray)
          stray = j;
      }
      if (stray) {
        refuse(t, row.line,
               fmt::format("a value in column {} which has no header", column_name(*stray)));
        continue;
      }
      if (blank)
        continue;
      std::string id;
      if (has_id) {
        id = cell(static_cast<std::size_t>(id_col));
        if (id.empty()) {
          refuse(t, row.line, "id: empty");
          continue;
        }
        if (auto [it, fresh] = line_of.emplace(id, row.line); !fresh) {
          refuse(t, row.line, fmt::format("id {} is on row {} already", id, it->second));
          continue;
        }
      } else if (++data_rows > 1) {
        refuse(t, row.line, "the enterprise is one row");
        continue;
      }
      auto old = stored_now.find(id);
      bool create = old == stored_now.end();
      std::unique_ptr<pb::Message> rec(
        create ? pb::MessageFactory::generated_factory()->GetPrototype(type)->New()
               : old->second->New());
      if (!create)
        rec->CopyFrom(*old->second);
      std::string why;
      for (std::size_t j = 0; j < fields.size(); ++j) {
        if (!fields[j])
          continue;
        // The enterprise's currency, time zone and language cannot be empty.
        if (!has_id && fields[j]->name() != "name" && fields[j]->name() != "region"
            && cell(j).empty()) {
          why +=
            fmt::format("{}{}: empty; it is required", why.empty() ? "" : "; ", fields[j]->name());
          continue;
        }
        if (auto e = set_cell(*rec, fields[j], cell(j)))
          why += (why.empty() ? "" : "; ") + *e;
      }
      if (!why.empty()) {
        refuse(t, row.line, why);
        continue;
      }
      if (!create && pb::util::MessageDifferencer::Equals(*rec, *old->second)) {
        ++plan.unchanged;
        continue;
      }
      model_row_put p{t.name, row.line, {}, create};
      const auto* kind_field = v1::PutRequest::descriptor()->FindFieldByName(spec->kind);
      p.put.GetReflection()->MutableMessage(&p.put, kind_field)->CopyFrom(*rec);
      plan.puts.push_back(std::move(p));
    }
  }
  needed_first(plan.puts);
  return plan;
}

}  // namespace plantd::services
