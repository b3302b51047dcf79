#include "services/state_stream.hpp"

#include <mutex>

namespace plantd::services {

namespace {

class state_stream final : public grpc::ServerWriteReactor<v1::PlantState> {
public:
  explicit state_stream(std::shared_ptr<actors::state_hub> hub) : hub_(std::move(hub)) {
    link_ = std::make_shared<link>();
    link_->stream = this;
    auto l = link_;
    token_ = hub_->subscribe([l] {
      std::lock_guard guard{l->mtx};
      if (l->stream)
        l->stream->maybe_write();
    });
    std::lock_guard guard{link_->mtx};
    maybe_write();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard guard{link_->mtx};
    writing_ = false;
    if (!ok) {
      finish(grpc::Status::OK);
      return;
    }
    maybe_write();
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
    state_stream* stream = nullptr;
  };

  // Called with link_->mtx held.
  void maybe_write() {
    if (writing_ || finished_)
      return;
    auto [latest, seq] = hub_->latest();
    if (!latest || seq == sent_)
      return;
    sent_ = seq;
    msg_.Clear();
    to_proto(*latest, &msg_);
    writing_ = true;
    StartWrite(&msg_);
  }

  void finish(grpc::Status st) {
    if (finished_)
      return;
    finished_ = true;
    Finish(std::move(st));
  }

  std::shared_ptr<actors::state_hub> hub_;
  std::shared_ptr<link> link_;
  uint64_t token_ = 0;
  uint64_t sent_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  v1::PlantState msg_;
};

} // namespace

grpc::ServerWriteReactor<v1::PlantState>* make_state_stream(std::shared_ptr<actors::state_hub> hub) {
  return new state_stream(std::move(hub));
}

} // namespace plantd::services
