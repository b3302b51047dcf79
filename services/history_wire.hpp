// QueryHistory's compact answer (raw points as packed columns) written as
// protobuf wire bytes straight from the store's columns into a buffer that
// gRPC sends without copying it. The columns and the buffer are kept warm
// between queries: a day of one-second points is 3 MB of them, and on a
// unit where each fresh page costs a fault that was most of a query's time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <grpcpp/support/byte_buffer.h>

#include "drivers/store/store.hpp"
#include "plantd/v1/telemetry.pb.h"

namespace plantd::services {

struct history_scratch {
  store::raw_columns columns;
  std::vector<uint8_t> wire;
};

// Scratch for history queries: take one, fill it, and hand it to
// compact_answer (or let it go). At most `keep` idle ones are kept; one
// that grew past `keep_bytes` (a larger query than a day) is freed.
class history_scratch_pool : public std::enable_shared_from_this<history_scratch_pool> {
public:
  explicit history_scratch_pool(std::size_t keep = 1, std::size_t keep_bytes = 8u << 20)
    : keep_(keep),
      keep_bytes_(keep_bytes) {}
  std::unique_ptr<history_scratch> take();
  void give(std::unique_ptr<history_scratch> s);
  std::size_t idle() const;

private:
  std::size_t keep_;
  std::size_t keep_bytes_;
  mutable std::mutex mtx_;
  std::vector<std::unique_ptr<history_scratch>> idle_;
};

// The wire bytes of `head` (series, resolution, truncated: no points and
// no raw) followed by the raw field holding `s->columns`, as one slice
// over `s->wire`; the scratch goes back to `pool` once gRPC has sent it.
// The bytes parse as a QueryHistoryResponse equal to `head` with
// raw = the columns (the times as time_delta_ms when `delta_times`).
grpc::ByteBuffer compact_answer(const v1::QueryHistoryResponse& head,
                                std::unique_ptr<history_scratch> s,
                                std::shared_ptr<history_scratch_pool> pool,
                                bool delta_times = false);

}  // namespace plantd::services
