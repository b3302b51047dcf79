#include "services/history_wire.hpp"

#include <bit>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/slice.h>

namespace plantd::services {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

constexpr uint32_t length_delimited = 2;
constexpr uint32_t tag(uint32_t field) {
  return field << 3 | length_delimited;
}
// QueryHistoryResponse.raw and RawColumns' fields (telemetry.proto).
constexpr uint32_t response_raw = 5;
constexpr uint32_t columns_time_ms = 1;
constexpr uint32_t columns_value = 2;
constexpr uint32_t columns_quality = 3;
constexpr uint32_t columns_time_delta_ms = 4;

uint32_t wire_quality(quality q) {
  return static_cast<uint32_t>(q) + 1;
}  // v1::Quality

std::size_t field_size(uint32_t field, std::size_t payload) {
  return CodedOutputStream::VarintSize32(tag(field)) + CodedOutputStream::VarintSize64(payload)
         + payload;
}

uint8_t* put_header(uint8_t* at, uint32_t field, std::size_t payload) {
  at = CodedOutputStream::WriteVarint32ToArray(tag(field), at);
  return CodedOutputStream::WriteVarint64ToArray(payload, at);
}

struct in_flight {
  std::unique_ptr<history_scratch> scratch;
  std::shared_ptr<history_scratch_pool> pool;
};

void sent(void* p) {
  std::unique_ptr<in_flight> f{static_cast<in_flight*>(p)};
  if (f->pool)
    f->pool->give(std::move(f->scratch));
}

}  // namespace

std::unique_ptr<history_scratch> history_scratch_pool::take() {
  std::lock_guard lock{mtx_};
  if (idle_.empty())
    return std::make_unique<history_scratch>();
  auto s = std::move(idle_.back());
  idle_.pop_back();
  return s;
}

void history_scratch_pool::give(std::unique_ptr<history_scratch> s) {
  if (!s)
    return;
  auto bytes = s->wire.capacity() + s->columns.t_ms.capacity() * sizeof(int64_t)
               + s->columns.value.capacity() * sizeof(double)
               + s->columns.q.capacity() * sizeof(quality);
  if (bytes > keep_bytes_)
    return;
  std::lock_guard lock{mtx_};
  if (idle_.size() < keep_)
    idle_.push_back(std::move(s));
}

std::size_t history_scratch_pool::idle() const {
  std::lock_guard lock{mtx_};
  return idle_.size();
}

grpc::ByteBuffer compact_answer(const v1::QueryHistoryResponse& head,
                                std::unique_ptr<history_scratch> s,
                                std::shared_ptr<history_scratch_pool> pool, bool delta_times) {
  const auto& c = s->columns;
  // The i-th time as written: itself (int64), or its step from the one
  // before (sint64, zigzag), wrapping as the receiver's sum does.
  auto time_at = [&](std::size_t i) -> uint64_t {
    if (!delta_times)
      return static_cast<uint64_t>(c.t_ms[i]);
    auto step = static_cast<uint64_t>(c.t_ms[i]) - (i ? static_cast<uint64_t>(c.t_ms[i - 1]) : 0);
    return WireFormatLite::ZigZagEncode64(static_cast<int64_t>(step));
  };
  uint32_t time_field = delta_times ? columns_time_delta_ms : columns_time_ms;
  std::size_t times = 0, qualities = 0;
  for (std::size_t i = 0; i < c.t_ms.size(); ++i)
    times += CodedOutputStream::VarintSize64(time_at(i));
  for (auto q : c.q)
    qualities += CodedOutputStream::VarintSize32(wire_quality(q));
  std::size_t values = c.value.size() * sizeof(double);
  // Packed fields are written only when they hold something, as protobuf does.
  std::size_t columns = 0;
  if (!c.t_ms.empty())
    columns = field_size(time_field, times) + field_size(columns_value, values)
              + field_size(columns_quality, qualities);
  std::size_t head_size = head.ByteSizeLong();
  std::size_t total = head_size + field_size(response_raw, columns);
  s->wire.resize(total);
  uint8_t* at = s->wire.data();
  at = head.SerializeWithCachedSizesToArray(at);
  at = put_header(at, response_raw, columns);
  if (!c.t_ms.empty() && !delta_times) {
    at = put_header(at, columns_time_ms, times);
    for (std::size_t i = 0; i < c.t_ms.size(); ++i)
      at = CodedOutputStream::WriteVarint64ToArray(time_at(i), at);
  }
  if (!c.t_ms.empty()) {
    at = put_header(at, columns_value, values);
    for (auto v : c.value)
      at = CodedOutputStream::WriteLittleEndian64ToArray(std::bit_cast<uint64_t>(v), at);
    at = put_header(at, columns_quality, qualities);
    for (auto q : c.q)
      at = CodedOutputStream::WriteVarint32ToArray(wire_quality(q), at);
  }
  // Field 4 follows field 3, as protobuf writes fields in number order.
  if (!c.t_ms.empty() && delta_times) {
    at = put_header(at, columns_time_delta_ms, times);
    for (std::size_t i = 0; i < c.t_ms.size(); ++i)
      at = CodedOutputStream::WriteVarint64ToArray(time_at(i), at);
  }
  auto* data = s->wire.data();
  auto* f = new in_flight{std::move(s), std::move(pool)};
  grpc::Slice slice{data, total, &sent, f};
  return grpc::ByteBuffer{&slice, 1};
}

}  // namespace plantd::services
