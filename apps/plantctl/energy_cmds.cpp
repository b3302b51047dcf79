#include "apps/plantctl/energy_cmds.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "apps/plantctl/common.hpp"
#include "plantd/v1/energy.grpc.pb.h"

namespace plantd::apps {
namespace {

int fail(const grpc::Status& s) {
  std::fprintf(stderr, "plantctl: %s\n", s.error_message().c_str());
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 2 : 1;
}

// A file sent as a stream of chunks, whole.
grpc::Status drain(grpc::ClientReader<v1::ReportChunk>& reader, std::string& data) {
  v1::ReportChunk c;
  while (reader.Read(&c))
    data += c.data();
  return reader.Finish();
}

const char* quality_name(int q) {
  static const char* names[] = {"",        "measured", "estimated", "manual",
                                "missing", "stale",    "invalid"};
  return q >= 0 && q <= 6 ? names[q] : "?";
}

void print_tree(const v1::EnergyModel& m, const std::string& id, int depth,
                const std::multimap<std::string, const v1::Node*>& kids,
                const std::multimap<std::string, const v1::Meter*>& meters,
                const std::multimap<std::string, const v1::Indicator*>& inds) {
  const v1::Node* n = nullptr;
  for (const auto& x : m.nodes())
    if (x.id() == id)
      n = &x;
  if (!n)
    return;
  std::string pad(depth * 2, ' ');
  std::printf("%s%s  [%s, level %d, %s]\n", pad.c_str(), n->name().c_str(), n->kind().c_str(),
              n->metering_level(), n->id().c_str());
  auto show_inds = [&](const std::string& owner, const std::string& p) {
    auto [a, b] = inds.equal_range(owner);
    for (auto it = a; it != b; ++it)
      std::printf("%s  = %s (%s)%s%s\n", p.c_str(), it->second->name().c_str(),
                  it->second->id().c_str(), it->second->formula_display().empty() ? "" : ": ",
                  it->second->formula_display().empty() ? it->second->source().c_str()
                                                        : it->second->formula_display().c_str());
  };
  show_inds(id, pad);
  auto [ma, mb] = meters.equal_range(id);
  for (auto it = ma; it != mb; ++it) {
    std::printf(
      "%s  meter %s  [%s, level %d, %s%s]\n", pad.c_str(), it->second->name().c_str(),
      it->second->energy_type().c_str(), it->second->metering_level(), it->second->id().c_str(),
      it->second->live_source().empty() ? "" : (", live " + it->second->live_source()).c_str());
    show_inds(it->second->id(), pad + "  ");
  }
  auto [ka, kb] = kids.equal_range(id);
  for (auto it = ka; it != kb; ++it)
    print_tree(m, it->second->id(), depth + 1, kids, meters, inds);
}

}  // namespace

int energy(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, const energy_args& a) {
  auto stub = v1::EnergyCarbonService::NewStub(ch);
  auto is_xlsx = [](const std::string& f) { return f.size() > 5 && f.ends_with(".xlsx"); };
  if (a.action == "export" && is_xlsx(a.file)) {
    v1::ExportModelTableRequest req;
    req.set_language(a.language);
    auto ctx = context(o);
    std::string data;
    if (auto s = drain(*stub->ExportModelTable(ctx.get(), req), data); !s.ok())
      return fail(s);
    std::ofstream(a.file, std::ios::binary) << data;
    return 0;
  }
  if (a.action == "import" && is_xlsx(a.file)) {
    std::ifstream f(a.file, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "plantctl: cannot read %s\n", a.file.c_str());
      return 1;
    }
    std::stringstream bytes;
    bytes << f.rdbuf();
    v1::ImportModelTableRequest req;
    req.set_data(bytes.str());
    req.set_dry_run(a.dry_run);
    v1::ImportModelTableResponse r;
    auto ctx = context(o);
    auto s = stub->ImportModelTable(ctx.get(), req, &r);
    if (!s.ok())
      return fail(s);
    if (o.json) {
      std::fputs(json_of(r).c_str(), stdout);
      return r.refused_size() ? 1 : 0;
    }
    std::printf("%s: %u created, %u updated, %u unchanged\n",
                r.applied()                          ? "imported"
                : a.dry_run && r.refused_size() == 0 ? "would import (dry run)"
                                                     : "nothing changed",
                r.created(), r.updated(), r.unchanged());
    for (const auto& x : r.refused())
      std::printf("  %s row %d: %s\n", x.sheet().c_str(), x.line(), x.reason().c_str());
    return r.refused_size() ? 1 : 0;
  }
  if (a.action == "tree" || a.action == "export") {
    v1::EnergyModel m;
    auto ctx = context(o);
    auto s = stub->GetModel(ctx.get(), v1::GetModelRequest{}, &m);
    if (!s.ok())
      return fail(s);
    if (a.action == "export") {
      auto text = json_of(m);
      if (a.file.empty() || a.file == "-")
        std::fputs(text.c_str(), stdout);
      else
        std::ofstream(a.file) << text;
      return 0;
    }
    if (o.json) {
      std::fputs(json_of(m).c_str(), stdout);
      return 0;
    }
    std::multimap<std::string, const v1::Node*> kids;
    std::multimap<std::string, const v1::Meter*> meters;
    std::multimap<std::string, const v1::Indicator*> inds;
    std::string root;
    for (const auto& n : m.nodes()) {
      if (n.parent().empty())
        root = n.id();
      else
        kids.emplace(n.parent(), &n);
    }
    for (const auto& x : m.meters())
      meters.emplace(x.node(), &x);
    for (const auto& x : m.indicators())
      inds.emplace(x.owner(), &x);
    std::printf("%s (%s, %s)\n", m.enterprise().name().c_str(), m.enterprise().time_zone().c_str(),
                m.enterprise().currency().c_str());
    if (root.empty())
      std::printf("  (no units yet)\n");
    else
      print_tree(m, root, 1, kids, meters, inds);
    return 0;
  }
  if (a.action == "import") {
    std::ifstream f(a.file);
    if (!f) {
      std::fprintf(stderr, "plantctl: cannot read %s\n", a.file.c_str());
      return 1;
    }
    std::stringstream text;
    text << f.rdbuf();
    v1::EnergyModel m;
    auto st = google::protobuf::util::JsonStringToMessage(text.str(), &m);
    if (!st.ok()) {
      std::fprintf(stderr, "plantctl: %s: %s\n", a.file.c_str(), st.ToString().c_str());
      return 1;
    }
    v1::ImportModelResponse r;
    auto ctx = context(o);
    auto s = stub->ImportModel(ctx.get(), m, &r);
    if (!s.ok())
      return fail(s);
    std::printf("imported: %d indicators\n", r.indicators());
    return 0;
  }
  if (a.action == "enter") {
    v1::EnterDailyRequest req;
    req.set_id(a.id);
    req.set_date(a.date);
    req.set_value(a.value);
    v1::EnterDailyResponse r;
    auto ctx = context(o);
    auto s = stub->EnterDaily(ctx.get(), req, &r);
    if (!s.ok())
      return fail(s);
    std::printf("%s %s = %g%s\n", a.id.c_str(), a.date.c_str(), a.value,
                r.correction() ? " (correction; the earlier entry stays in the history)" : "");
    return 0;
  }
  if (a.action == "entries") {
    std::ifstream f(a.file, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "plantctl: cannot read %s\n", a.file.c_str());
      return 1;
    }
    std::stringstream bytes;
    bytes << f.rdbuf();
    v1::ImportEntriesRequest req;
    req.set_data(bytes.str());
    bool xlsx = a.file.size() > 5 && a.file.substr(a.file.size() - 5) == ".xlsx";
    req.set_format(xlsx ? "xlsx" : "csv");
    req.set_note(a.note);
    v1::ImportEntriesResponse r;
    auto ctx = context(o);
    auto s = stub->ImportEntries(ctx.get(), req, &r);
    if (!s.ok())
      return fail(s);
    if (o.json) {
      std::fputs(json_of(r).c_str(), stdout);
      return r.refused_size() ? 1 : 0;
    }
    std::printf("entered %u (%u corrections), refused %d\n", r.entered(), r.corrections(),
                r.refused_size());
    for (const auto& x : r.refused())
      std::printf("  line %d: %s\n", x.line(), x.reason().c_str());
    return r.refused_size() ? 1 : 0;
  }
  if (a.action == "audit") {
    v1::ListAuditRequest req;
    req.set_limit(a.last);
    v1::ListAuditResponse r;
    auto ctx = context(o);
    auto s = stub->ListAudit(ctx.get(), req, &r);
    if (!s.ok())
      return fail(s);
    if (o.json) {
      std::fputs(json_of(r).c_str(), stdout);
      return 0;
    }
    for (const auto& x : r.records()) {
      auto t =
        absl::FromUnixMillis(google::protobuf::util::TimeUtil::TimestampToMilliseconds(x.time()));
      std::printf("%s  %-12s %s\n",
                  absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::LocalTimeZone()).c_str(),
                  x.who().c_str(), x.what().c_str());
      if (!x.before().empty())
        std::printf("    before %s\n", x.before().c_str());
      if (!x.after().empty())
        std::printf("    after  %s\n", x.after().c_str());
    }
    return 0;
  }
  if (a.action == "report") {
    v1::QueryRequest q;
    q.set_node(a.node);
    q.set_resolution(a.resolution);
    q.set_from(a.from);
    q.set_to(a.to);
    if (!a.format.empty()) {
      v1::ExportReportRequest req;
      *req.mutable_query() = q;
      req.set_format(a.format);
      auto ctx = context(o);
      std::string data;
      if (auto s = drain(*stub->ExportReport(ctx.get(), req), data); !s.ok())
        return fail(s);
      if (a.file.empty() || a.file == "-")
        std::fwrite(data.data(), 1, data.size(), stdout);
      else
        std::ofstream(a.file, std::ios::binary) << data;
      return 0;
    }
    v1::QueryResponse r;
    auto ctx = context(o);
    auto s = stub->Query(ctx.get(), q, &r);
    if (!s.ok())
      return fail(s);
    if (o.json) {
      std::fputs(json_of(r).c_str(), stdout);
      return 0;
    }
    for (const auto& series : r.series()) {
      std::printf("%s (%s)\n", series.path().c_str(), series.unit().c_str());
      for (int i = 0; i < series.periods_size(); ++i) {
        bool has =
          series.quality(i) != v1::QUALITY_MISSING && series.quality(i) != v1::QUALITY_INVALID;
        std::printf("  %-16s %14s  %s\n", series.periods(i).c_str(),
                    has ? fmt::format("{:.4f}", series.values(i)).c_str() : "-",
                    quality_name(series.quality(i)));
      }
    }
    return 0;
  }
  std::fprintf(stderr, "plantctl: energy: unknown action %s\n", a.action.c_str());
  return 1;
}

}  // namespace plantd::apps
