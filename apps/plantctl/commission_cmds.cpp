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

int finish(const control_opts& o, const v1::CommissionReport& r, const std::string& out) {
  if (!out.empty())
    std::ofstream{out} << json_of(r) << "\n";
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

} // namespace

int commission(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
               const commission_args& a) {
  auto stub = v1::PlantService::NewStub(ch);
  if (a.last) {
    v1::CommissionReport r;
    auto st = stub->GetCommissionReport(context(o).get(), {}, &r);
    if (!st.ok())
      return call_failed(st);
    if (!o.json)
      for (const auto& c : r.checks())
        print_check(c);
    return finish(o, r, a.out);
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
  return finish(o, *report, a.out);
}

} // namespace plantd::apps
