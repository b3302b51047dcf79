// A server stream fed by a hub (state hub, alarm hub): whenever the hub has
// something new and the previous write has completed, the next message is
// written. The publisher never waits for a reader.
//
// Source provides: uint64_t subscribe(std::function<void()>), void
// unsubscribe(uint64_t), and bool next(Msg& out) (false: nothing new).
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include <grpcpp/support/server_callback.h>

namespace plantd::services {

template <class Msg, class Source>
class hub_stream final : public grpc::ServerWriteReactor<Msg> {
public:
  explicit hub_stream(Source src) : src_(std::move(src)) {
    link_ = std::make_shared<link>();
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
    src_.unsubscribe(token_);
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
  Msg msg_;
};

} // namespace plantd::services
