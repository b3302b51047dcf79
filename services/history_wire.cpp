#include "services/history_wire.hpp"

#include <bit>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/support/slice.h>

namespace plantd::services {

namespace {

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
                                std::shared_ptr<history_scratch_pool> pool) {
  const auto& c = s->columns;
  std::size_t times = 0, qualities = 0;
  for (auto t : c.t_ms)
    times += CodedOutputStream::VarintSize64(static_cast<uint64_t>(t));
  for (auto q : c.q)
    qualities += CodedOutputStream::VarintSize32(wire_quality(q));
  std::size_t values = c.value.size() * sizeof(double);
  // Packed fields are written only when they hold something, as protobuf does.
  std::size_t columns = 0;
  if (!c.t_ms.empty())
    columns = field_size(columns_time_ms, times) + field_size(columns_value, values)
              + field_size(columns_quality, qualities);
  std::size_t head_size = head.ByteSizeLong();
  std::size_t total = head_size + field_size(response_raw, columns);
  s->wire.resize(total);
  uint8_t* at = s->wire.data();
  at = head.SerializeWithCachedSizesToArray(at);
  at = put_header(at, response_raw, columns);
  if (!c.t_ms.empty()) {
    at = put_header(at, columns_time_ms, times);
    for (auto t : c.t_ms)
      at = CodedOutputStream::WriteVarint64ToArray(static_cast<uint64_t>(t), at);
    at = put_header(at, columns_value, values);
    for (auto v : c.value)
      at = CodedOutputStream::WriteLittleEndian64ToArray(std::bit_cast<uint64_t>(v), at);
    at = put_header(at, columns_quality, qualities);
    for (auto q : c.q)
      at = CodedOutputStream::WriteVarint32ToArray(wire_quality(q), at);
  }
  auto* data = s->wire.data();
  auto* f = new in_flight{std::move(s), std::move(pool)};
  grpc::Slice slice{data, total, &sent, f};
  return grpc::ByteBuffer{&slice, 1};
}

}  // namespace plantd::services
