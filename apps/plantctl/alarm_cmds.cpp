#include "apps/plantctl/alarm_cmds.hpp"
#include "apps/plantctl/common.hpp"

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "plantd/v1/alarm.grpc.pb.h"

namespace plantd::apps {

using google::protobuf::util::TimeUtil;

namespace {

const char* severity_name(v1::Severity s) {
  switch (s) {
    case v1::SEVERITY_INFO: return "info";
    case v1::SEVERITY_WARNING: return "warning";
    case v1::SEVERITY_MAJOR: return "MAJOR";
    case v1::SEVERITY_CRITICAL: return "CRITICAL";
    default: return "?";
  }
}

int fail(const grpc::Status& st) {
  std::cerr << fmt::format("plantctl: {}\n", st.error_message());
  return st.error_code() == grpc::StatusCode::NOT_FOUND
             || st.error_code() == grpc::StatusCode::INVALID_ARGUMENT
           ? 1
           : 3;
}

}  // namespace

int list_alarms(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                const std::string& state, const std::string& device) {
  auto stub = v1::AlarmService::NewStub(ch);
  v1::ListAlarmsRequest req;
  req.set_state(state == "open"     ? v1::ListAlarmsRequest::STATE_OPEN
                : state == "closed" ? v1::ListAlarmsRequest::STATE_CLOSED
                                    : v1::ListAlarmsRequest::STATE_ALL);
  req.set_device(device);
  req.set_page_size(1000);
  int shown = 0;
  for (;;) {
    v1::ListAlarmsResponse resp;
    auto st = stub->ListAlarms(context(o).get(), req, &resp);
    if (!st.ok())
      return fail(st);
    for (const auto& a : resp.alarms()) {
      ++shown;
      if (o.json) {
        std::cout << json_of(a) << "\n";
        continue;
      }
      std::cout << fmt::format(
        "#{:<5} {:<8} {:<14} {:<22} {} {}{}{}\n", a.id(), severity_name(a.severity()), a.device(),
        a.code(), TimeUtil::ToString(a.raised()),
        a.has_cleared() ? "cleared " + TimeUtil::ToString(a.cleared()) : "OPEN",
        a.has_acknowledged() ? " acked by " + a.acknowledged_by() : "",
        a.text().empty() ? "" : "\n       " + a.text());
    }
    if (resp.next_page_token().empty())
      break;
    req.set_page_token(resp.next_page_token());
  }
  if (!o.json && shown == 0)
    std::cout << "no alarms\n";
  return 0;
}

// plantd records who acknowledged: the caller it authenticated.
int ack_alarm(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, uint64_t id) {
  auto stub = v1::AlarmService::NewStub(ch);
  v1::AcknowledgeRequest req;
  req.set_id(id);
  v1::Alarm a;
  auto st = stub->Acknowledge(context(o).get(), req, &a);
  if (!st.ok())
    return fail(st);
  std::cout << fmt::format("alarm #{} ({} on {}) acknowledged by {}\n", a.id(), a.code(),
                           a.device(), a.acknowledged_by());
  return 0;
}

}  // namespace plantd::apps
