#include "model/energy/query.hpp"

#include <map>
#include <optional>
#include <tuple>

#include <absl/time/civil_time.h>
#include <fmt/format.h>

namespace plantd::energy {

namespace {

failure invalid(std::string path, std::string msg) {
  return failure{errc::invalid_argument, {problem{std::move(path), std::move(msg)}}};
}

std::optional<absl::CivilDay> day_of(std::string_view s) {
  absl::CivilDay d;
  if (s.size() != 10 || !absl::ParseCivilTime(std::string(s), &d))
    return std::nullopt;
  return d;
}

}  // namespace

result parse_span(std::string_view resolution_text, std::string_view from_text,
                  std::string_view to_text_in, query_spec& spec) {
  std::string res_text = resolution_text.empty() ? "day" : std::string(resolution_text);
  std::optional<resolution> res;
  for (auto r : {resolution::hour, resolution::day, resolution::month, resolution::year})
    if (to_string(r) == res_text)
      res = r;
  if (!res)
    return unexpected{
      invalid("resolution", fmt::format("\"{}\" is not hour, day, month or year", res_text))};
  std::string_view to_text = to_text_in.empty() ? from_text : to_text_in;
  absl::CivilSecond from, to;
  bool ok = false;
  switch (*res) {
    case resolution::hour:
    case resolution::day: {
      auto a = day_of(from_text), b = day_of(to_text);
      ok = a && b;
      if (ok)
        from = absl::CivilSecond(*a), to = absl::CivilSecond(*b);
      if (ok && *res == resolution::hour)
        to = absl::CivilSecond(absl::CivilHour(*b) + 23);
      break;
    }
    case resolution::month: {
      absl::CivilMonth a, b;
      ok = absl::ParseCivilTime(std::string(from_text), &a)
           && absl::ParseCivilTime(std::string(to_text), &b) && from_text.size() == 7;
      if (ok)
        from = absl::CivilSecond(a), to = absl::CivilSecond(b);
      break;
    }
    case resolution::year: {
      absl::CivilYear a, b;
      ok = absl::ParseCivilTime(std::string(from_text), &a)
           && absl::ParseCivilTime(std::string(to_text), &b) && from_text.size() == 4;
      if (ok)
        from = absl::CivilSecond(a), to = absl::CivilSecond(b);
      break;
    }
  }
  if (!ok)
    return unexpected{invalid(
      "from",
      fmt::format("from/to \"{}\"/\"{}\" do not fit resolution {} (YYYY-MM-DD, YYYY-MM or YYYY)",
                  from_text, to_text, res_text))};
  auto a = period_of(*res, from), b = period_of(*res, to);
  if (b.index < a.index)
    return unexpected{invalid("to", "to is before from")};
  if (b.index - a.index >= 20000)
    return unexpected{invalid("to", "at most 20,000 periods per query")};
  spec.res = *res;
  spec.first = a.index;
  spec.last = b.index;
  return {};
}

std::vector<period> periods_of(const query_spec& q) {
  std::vector<period> out;
  for (auto i = q.first; i <= q.last; ++i)
    out.push_back({q.res, i});
  return out;
}

expected<query_plan, failure> plan_query(const model& m, const query_spec& q) {
  std::vector<std::string> ids = q.indicators;
  if (!q.node.empty()) {
    if (!m.nodes.count(q.node) && !m.meters.count(q.node))
      return unexpected{failure{errc::not_found, {problem{"node", "no unit or meter " + q.node}}}};
    for (const auto& i : m.indicators_of(q.node))
      ids.push_back(i);
    for (const auto& mt : m.meters_of(q.node))
      for (const auto& i : m.indicators_of(mt))
        ids.push_back(i);
  }
  if (ids.empty())
    return unexpected{invalid("node", "name a node or indicators")};
  std::vector<std::string> unknown;
  for (const auto& id : ids)
    if (!m.indicators.count(id))
      unknown.push_back(id);
  if (!unknown.empty() && (q.strict || unknown.size() == ids.size()))
    return unexpected{
      failure{errc::not_found, {problem{"indicators", "no indicator " + unknown.front()}}}};
  query_plan p;
  p.order = ids;
  std::erase_if(ids, [&](const std::string& id) { return !m.indicators.count(id); });
  p.known = std::move(ids);
  return p;
}

std::vector<query_series> evaluate(const model& m, engine& eng, const query_plan& plan,
                                   const query_spec& q, absl::Time now) {
  auto periods = periods_of(q);
  std::vector<query_series> out;
  out.reserve(plan.order.size());
  for (const auto& id : plan.order) {
    auto& s = out.emplace_back();
    s.id = id;
    if (!m.indicators.count(id)) {
      s.error = "no indicator " + id;
      continue;
    }
    const auto& ind = m.indicators.at(id);
    const auto& tpl = m.templates.at(ind.template_id);
    s.name = ind.name;
    s.path = m.indicator_path(id);
    s.unit = tpl.unit;
    s.energy_type = tpl.energy_type;
    s.periods.reserve(periods.size());
    s.values.reserve(periods.size());
    s.qualities.reserve(periods.size());
    // Versions by (what, version, value), in the order first used.
    std::map<std::tuple<std::string, std::string, double>, std::size_t> seen;
    for (const auto& p : periods) {
      auto v = eng.value(id, p, now);
      auto lbl = label(p);
      s.values.push_back(v.value);
      s.qualities.push_back(static_cast<uint8_t>(v.quality));
      for (auto& u : eng.versions(id, p)) {
        auto [it, fresh] = seen.try_emplace({u.what, u.version, u.value}, s.versions.size());
        if (fresh)
          s.versions.push_back({u.what, u.version, u.source, u.value, lbl, lbl});
        s.versions[it->second].last_period = lbl;
      }
      s.periods.push_back(std::move(lbl));
    }
  }
  return out;
}

}  // namespace plantd::energy
