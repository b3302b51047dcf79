#include "services/alarm_service.hpp"

#include "services/access_gate.hpp"

#include <charconv>
#include <deque>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "actors/type_ids.hpp"
#include "model/access/access.hpp"
#include "services/ask.hpp"
#include "services/hub_stream.hpp"

namespace plantd::services {

using google::protobuf::util::TimeUtil;

namespace {

void to_proto(const alarms::alarm& a, v1::Alarm* out) {
  out->set_id(a.id);
  out->set_code(a.code);
  out->set_device(a.device);
  out->set_severity(static_cast<v1::Severity>(static_cast<int>(a.level)));
  out->set_text(a.text);
  *out->mutable_raised() = TimeUtil::MillisecondsToTimestamp(a.raised_ms);
  if (a.cleared_ms)
    *out->mutable_cleared() = TimeUtil::MillisecondsToTimestamp(*a.cleared_ms);
  if (a.acked_ms)
    *out->mutable_acknowledged() = TimeUtil::MillisecondsToTimestamp(*a.acked_ms);
  out->set_acknowledged_by(a.acked_by);
}

// Every change, in order (the open alarms first when asked).
struct alarm_source {
  std::shared_ptr<actors::alarm_hub> hub;
  std::deque<alarms::alarm> queue;
  uint64_t seen = 0;

  uint64_t subscribe(std::function<void()> f) { return hub->subscribe(std::move(f)); }
  void unsubscribe(uint64_t t) { hub->unsubscribe(t); }

  bool next(v1::Alarm& out) {
    if (queue.empty()) {
      auto [changes, last] = hub->since(seen);
      seen = last;
      queue.insert(queue.end(), changes.begin(), changes.end());
    }
    if (queue.empty())
      return false;
    to_proto(queue.front(), &out);
    queue.pop_front();
    return true;
  }
};

}  // namespace

grpc::ServerWriteReactor<v1::Alarm>*
alarm_service::StreamAlarms(grpc::CallbackServerContext* ctx, const v1::StreamAlarmsRequest* req) {
  if (auto* r = refused_stream<v1::Alarm>(ctx))
    return r;
  std::vector<alarms::alarm> first;
  if (req->include_open()) {
    // A short blocking ask is acceptable here: it happens once per stream.
    caf::scoped_actor self{sys_};
    self
      ->request(alarms_, std::chrono::seconds{2}, caf::get_atom_v,
                alarms::filter{alarms::filter::which::open, "", 0, 10'000})
      .receive([&](std::vector<alarms::alarm>& open) { first = std::move(open); },
               [](caf::error&) {});
  }
  alarm_source src{hub_, {first.begin(), first.end()}, hub_->last_seq()};
  return new hub_stream<v1::Alarm, alarm_source>(std::move(src));
}

grpc::ServerUnaryReactor* alarm_service::ListAlarms(grpc::CallbackServerContext* ctx,
                                                    const v1::ListAlarmsRequest* req,
                                                    v1::ListAlarmsResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  alarms::filter f;
  f.state = req->state() == v1::ListAlarmsRequest::STATE_OPEN     ? alarms::filter::which::open
            : req->state() == v1::ListAlarmsRequest::STATE_CLOSED ? alarms::filter::which::closed
                                                                  : alarms::filter::which::all;
  f.device = req->device();
  f.limit = req->page_size() == 0 ? 100 : req->page_size();
  if (f.limit > 1000) {
    reactor->Finish(to_status(errc::invalid_argument, "page_size: at most 1000"));
    return reactor;
  }
  if (!req->page_token().empty()) {
    // Our tokens are alarm ids in decimal: digits only, no sign, no overflow.
    const auto& t = req->page_token();
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), f.after_id);
    if (ec != std::errc{} || end != t.data() + t.size()) {
      reactor->Finish(to_status(errc::invalid_argument, "page_token: not a token of ours"));
      return reactor;
    }
  }
  auto limit = f.limit;
  ask<std::vector<alarms::alarm>>(
    sys_, alarms_, reactor,
    [resp, limit](const std::vector<alarms::alarm>& list) {
      for (const auto& a : list)
        to_proto(a, resp->add_alarms());
      if (list.size() == limit)
        resp->set_next_page_token(std::to_string(list.back().id));
      return grpc::Status::OK;
    },
    caf::get_atom_v, f);
  return reactor;
}

grpc::ServerUnaryReactor* alarm_service::Acknowledge(grpc::CallbackServerContext* ctx,
                                                     const v1::AcknowledgeRequest* req,
                                                     v1::Alarm* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto caller = caller_of(ctx).who;
  auto who = caller.name;
  // Acknowledging foreign_master hands the cabinet back to plantd's
  // commands: an installer's decision, after finding the other master.
  bool may_release = access::grants(caller.role, access::permission::config_write);
  if (!req->by().empty() && req->by() != who) {
    reactor->Finish(
      to_status(errc::invalid_argument,
                "by: plantd records the authenticated caller (" + who + "); leave it empty"));
    return reactor;
  }
  ask<alarms::alarm>(
    sys_, alarms_, reactor,
    [resp](const alarms::alarm& a) {
      to_proto(a, resp);
      return grpc::Status::OK;
    },
    actors::ack_atom_v, req->id(), who, may_release);
  return reactor;
}

}  // namespace plantd::services
