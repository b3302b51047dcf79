// A server stream fed by a hub (state hub, alarm hub): whenever the hub has
// something new and the previous write has completed, the next message is
// written. The publisher never waits for a reader.
//
// Source provides: uint64_t subscribe(std::function<void()>), void
// unsubscribe(uint64_t), and bool next(Msg& out) (false: nothing new).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include <grpcpp/support/server_callback.h>

namespace plantd::services {

// Live streams of every kind together: each holds a subscription and a
// message buffer, so clients that open streams without end (400 connections
// x 100 unread streams once held 805 MB) are refused beyond this many.
inline constexpr int max_open_streams = 256;
inline std::atomic<int> open_streams{0};

template <class Msg, class Source>
class hub_stream final : public grpc::ServerWriteReactor<Msg> {
public:
  explicit hub_stream(Source src)
    : src_(std::move(src)) {
    link_ = std::make_shared<link>();
    if (open_streams.fetch_add(1) >= max_open_streams) {
      std::lock_guard guard{link_->mtx};
      finish(grpc::Status{grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open streams (at most "
                                                                  + std::to_string(max_open_streams)
                                                                  + "): close one and retry"});
      return;
    }
    subscribed_ = true;
    link_->stream = this;
    auto l = link_;
    token_ = src_.subscribe([l] {
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
    if (subscribed_)
      src_.unsubscribe(token_);
    open_streams.fetch_sub(1);  // taken in the constructor, refused or not
    {
      std::lock_guard guard{link_->mtx};
      link_->stream = nullptr;
    }
    delete this;
  }

private:
  // Outlives the stream: the hub may call a listener copy after unsubscribe.
  struct link {
    std::mutex mtx;
    hub_stream* stream = nullptr;
  };

  // Called with link_->mtx held.
  void pump() {
    if (writing_ || finished_)
      return;
    msg_.Clear();
    if (!src_.next(msg_))
      return;
    writing_ = true;
    this->StartWrite(&msg_);
  }

  void finish(grpc::Status st) {
    if (finished_)
      return;
    finished_ = true;
    this->Finish(std::move(st));
  }

  Source src_;
  std::shared_ptr<link> link_;
  uint64_t token_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  bool subscribed_ = false;
  Msg msg_;
};

}  // namespace plantd::services
