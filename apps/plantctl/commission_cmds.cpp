#include "apps/plantctl/commission_cmds.hpp"

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "apps/plantctl/common.hpp"
#include "plantd/v1/plant_service.grpc.pb.h"

namespace plantd::apps {

namespace {

const char* result_name(v1::CheckResult r) {
  switch (r) {
    case v1::CHECK_RESULT_PASS: return "PASS";
    case v1::CHECK_RESULT_FAIL: return "FAIL";
    case v1::CHECK_RESULT_WARN: return "WARN";
    case v1::CHECK_RESULT_SKIPPED: return "SKIP";
    default: return "?";
  }
}

void print_check(const v1::CommissionCheck& c) {
  std::cout << fmt::format("{:<5} {:<14} {:<12} {}\n", result_name(c.result()), c.name(),
                           c.device().empty() ? "-" : c.device(), c.detail());
}

// The report as plantd renders it (.xlsx by the file's name, else JSON).
int write_out(const control_opts& o, v1::PlantService::Stub& stub, const v1::CommissionReport& r,
              const std::string& out) {
  v1::ExportCommissionReportRequest req;
  req.set_config_version(r.config_version());
  req.set_format(out.ends_with(".xlsx") ? "xlsx" : "json");
  v1::CommissionReportFile file;
  auto st = stub.ExportCommissionReport(context(o).get(), req, &file);
  if (!st.ok())
    return call_failed(st);
  std::ofstream f{out, std::ios::binary};
  f << file.data();
  if (!f.flush()) {
    std::cerr << fmt::format("plantctl: {} cannot be written\n", out);
    return 3;
  }
  if (!o.json)
    std::cout << fmt::format("report written to {}\n", out);
  return 0;
}

int finish(const control_opts& o, v1::PlantService::Stub& stub, const v1::CommissionReport& r,
           const std::string& out) {
  if (!out.empty())
    if (int rc = write_out(o, stub, r, out); rc != 0)
      return rc;
  if (o.json) {
    std::cout << json_of(r) << "\n";
  } else {
    int pass = 0, fail = 0, other = 0;
    for (const auto& c : r.checks())
      (c.result() == v1::CHECK_RESULT_PASS   ? pass
       : c.result() == v1::CHECK_RESULT_FAIL ? fail
                                             : other)++;
    std::cout << fmt::format("\n{}: {} passed, {} failed, {} skipped or to look at "
                             "(config version {}, by {})\n",
                             r.passed() ? "PASSED" : "FAILED", pass, fail, other,
                             r.config_version(), r.by());
  }
  return r.passed() ? 0 : 1;
}

}  // namespace

int commission(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
               const commission_args& a) {
  auto stub = v1::PlantService::NewStub(ch);
  if (a.last) {
    v1::CommissionReport r;
    v1::GetCommissionReportRequest req;
    req.set_config_version(a.version);
    auto st = stub->GetCommissionReport(context(o).get(), req, &r);
    if (!st.ok())
      return call_failed(st);
    if (!o.json)
      for (const auto& c : r.checks())
        print_check(c);
    return finish(o, *stub, r, a.out);
  }
  v1::CommissionRequest req;
  req.set_test_power_w(a.test_kw * 1000);
  req.set_skip_ct_test(a.skip_ct);
  grpc::ClientContext ctx;  // a run takes seconds: no short deadline
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes{5});
  auto reader = stub->Commission(&ctx, req);
  v1::CommissionUpdate u;
  std::optional<v1::CommissionReport> report;
  if (!o.json)
    std::cout << "commissioning (the CT test moves the battery for a few seconds)\n";
  while (reader->Read(&u)) {
    if (u.has_check() && !o.json)
      print_check(u.check());
    else if (u.has_report())
      report = u.report();
  }
  auto st = reader->Finish();
  if (!st.ok())
    return call_failed(st);
  if (!report) {
    std::cerr << "plantctl: the run ended without a report\n";
    return 3;
  }
  return finish(o, *stub, *report, a.out);
}

int set_time(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
             const std::string& at) {
  v1::SetTimeRequest req;
  if (at.empty()) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
    *req.mutable_time() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(now.count());
  } else if (!google::protobuf::util::TimeUtil::FromString(at, req.mutable_time())) {
    std::cerr << fmt::format(
      "plantctl: --at {}: expected RFC 3339, e.g. 2026-11-30T14:05:00+08:00\n", at);
    return 2;
  }
  v1::SetTimeResponse resp;
  auto st = v1::PlantService::NewStub(ch)->SetTime(context(o).get(), req, &resp);
  if (!st.ok())
    return call_failed(st);
  if (o.json)
    std::cout << json_of(resp) << "\n";
  else
    std::cout << fmt::format("clock set to {} (moved {:+} ms)\n",
                             google::protobuf::util::TimeUtil::ToString(req.time()),
                             resp.step_ms());
  return 0;
}

}  // namespace plantd::apps
