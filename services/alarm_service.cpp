#include "services/alarm_service.hpp"

#include <deque>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "actors/type_ids.hpp"
#include "services/ask.hpp"

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

// Writes the hub's changes one at a time, in order, as the client reads.
class alarm_stream final : public grpc::ServerWriteReactor<v1::Alarm> {
public:
  alarm_stream(std::shared_ptr<actors::alarm_hub> hub, std::vector<alarms::alarm> first)
    : hub_(std::move(hub)), queue_(first.begin(), first.end()) {
    link_ = std::make_shared<link>();
    link_->stream = this;
    seen_ = hub_->last_seq();
    auto l = link_;
    token_ = hub_->subscribe([l] {
      std::lock_guard guard{l->mtx};
      if (l->stream)
        l->stream->pump();
    });
    std::lock_guard guard{link_->mtx};
    pump();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard guard{link_->mtx};
    writing_ = false;
    if (!ok) {
      finish(grpc::Status::OK);
      return;
    }
    pump();
  }

  void OnCancel() override {
    std::lock_guard guard{link_->mtx};
    finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    hub_->unsubscribe(token_);
    {
      std::lock_guard guard{link_->mtx};
      link_->stream = nullptr;
    }
    delete this;
  }

private:
  struct link {
    std::mutex mtx;
    alarm_stream* stream = nullptr;
  };

  // Called with link_->mtx held.
  void pump() {
    if (writing_ || finished_)
      return;
    if (queue_.empty()) {
      auto [changes, last] = hub_->since(seen_);
      seen_ = last;
      queue_.insert(queue_.end(), changes.begin(), changes.end());
    }
    if (queue_.empty())
      return;
    msg_.Clear();
    to_proto(queue_.front(), &msg_);
    queue_.pop_front();
    writing_ = true;
    StartWrite(&msg_);
  }

  void finish(grpc::Status st) {
    if (finished_)
      return;
    finished_ = true;
    Finish(std::move(st));
  }

  std::shared_ptr<actors::alarm_hub> hub_;
  std::shared_ptr<link> link_;
  std::deque<alarms::alarm> queue_;
  uint64_t token_ = 0;
  uint64_t seen_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  v1::Alarm msg_;
};

} // namespace

grpc::ServerWriteReactor<v1::Alarm>* alarm_service::StreamAlarms(
  grpc::CallbackServerContext* ctx, const v1::StreamAlarmsRequest* req) {
  std::vector<alarms::alarm> first;
  if (req->include_open()) {
    // A short blocking ask is acceptable here: it happens once per stream.
    caf::scoped_actor self{sys_};
    self->request(alarms_, std::chrono::seconds{2}, caf::get_atom_v,
                  alarms::filter{alarms::filter::which::open, "", 0, 10'000})
      .receive([&](std::vector<alarms::alarm>& open) { first = std::move(open); },
               [](caf::error&) {});
  }
  return new alarm_stream(hub_, std::move(first));
}

grpc::ServerUnaryReactor* alarm_service::ListAlarms(grpc::CallbackServerContext* ctx,
                                                    const v1::ListAlarmsRequest* req,
                                                    v1::ListAlarmsResponse* resp) {
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
    char* end = nullptr;
    f.after_id = std::strtoull(req->page_token().c_str(), &end, 10);
    if (*end != '\0') {
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
  auto* reactor = ctx->DefaultReactor();
  ask<alarms::alarm>(
    sys_, alarms_, reactor,
    [resp](const alarms::alarm& a) {
      to_proto(a, resp);
      return grpc::Status::OK;
    },
    actors::ack_atom_v, req->id(), req->by().empty() ? std::string{"unknown"} : req->by());
  return reactor;
}

} // namespace plantd::services
