// Streams a prepared file to a gRPC client in 64 KiB chunks (the first chunk
// carries the file name). Used by TelemetryService.Export and
// EnergyCarbonService.ExportReport. The file may be handed over later, from
// any thread (start), or the call failed instead (fail).
#pragma once

#include <algorithm>
#include <string>

#include <grpcpp/support/server_callback.h>

namespace plantd::services {

template <class Chunk>
class file_writer final : public grpc::ServerWriteReactor<Chunk> {
public:
  file_writer() = default;

  void start(std::string data, std::string filename) {
    data_ = std::move(data);
    filename_ = std::move(filename);
    next();
  }
  void fail(grpc::Status s) { this->Finish(std::move(s)); }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status::CANCELLED);
      return;
    }
    next();
  }
  void OnDone() override { delete this; }

private:
  void next() {
    if (offset_ >= data_.size() && offset_ != 0) {
      this->Finish(grpc::Status::OK);
      return;
    }
    chunk_.Clear();
    if (offset_ == 0)
      chunk_.set_filename(filename_);
    auto n = std::min<std::size_t>(64 * 1024, data_.size() - offset_);
    chunk_.set_data(data_.substr(offset_, n));
    offset_ += n;
    if (data_.empty())
      offset_ = 1;  // an empty file is one empty chunk
    this->StartWrite(&chunk_);
  }

  std::string data_;
  std::string filename_;
  std::size_t offset_ = 0;
  Chunk chunk_;
};

}  // namespace plantd::services
