#include <algorithm>
#include <cstring>
#include <tuple>

#include <fmt/format.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include "drivers/store/store.hpp"
#include "drivers/store/store_impl.hpp"
#include "model/telemetry/chunk.hpp"

namespace plantd::store {

using telemetry::aggregate;
using telemetry::resolution;

namespace {

// Keys: series (u32 BE), for rollups the resolution, then a time (i64 BE,
// sign bit flipped so that negative times sort first); 12 and 13 bytes.
void write_be(char* out, uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out[i] = static_cast<char>(x >> (8 * (bytes - 1 - i)));
}

void raw_key(char* out, uint32_t series, int64_t t) {
  write_be(out, series, 4);
  write_be(out + 4, static_cast<uint64_t>(t) ^ (uint64_t{1} << 63), 8);
}

void bucket_key(char* out, uint32_t series, resolution r, int64_t start) {
  write_be(out, series, 4);
  out[4] = static_cast<char>(r);
  write_be(out + 5, static_cast<uint64_t>(start) ^ (uint64_t{1} << 63), 8);
}

std::string series_key(uint32_t series, int64_t t) {
  std::string k(12, '\0');
  raw_key(k.data(), series, t);
  return k;
}

std::string rollup_key(uint32_t series, resolution r, int64_t start) {
  std::string k(13, '\0');
  bucket_key(k.data(), series, r, start);
  return k;
}

// Raw points are kept in one value per series and hour (UTC-aligned):
// each write appends a block (model/telemetry/chunk.hpp) with a merge, and
// the merge operator joins the blocks of an hour into one ordered block
// (a later point at the same time wins) during compaction and reads.
constexpr int64_t window_ms = 3'600'000;

int64_t window_of(int64_t t) {
  auto r = t % window_ms;
  return t - (r < 0 ? r + window_ms : r);
}

class chunk_merge final : public rocksdb::MergeOperator {
public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<telemetry::sample> pts;
    if (in.existing_value && !telemetry::decode_blocks(view(*in.existing_value), pts))
      return false;
    for (const auto& op : in.operand_list)
      if (!telemetry::decode_blocks(view(op), pts))
        return false;
    telemetry::normalize(pts);
    out->new_value.clear();
    telemetry::encode_block(pts, out->new_value);
    return true;
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& ops,
                         std::string* new_value, rocksdb::Logger*) const override {
    std::vector<telemetry::sample> pts;
    for (const auto& op : ops)
      if (!telemetry::decode_blocks(view(op), pts))
        return false;
    telemetry::normalize(pts);
    new_value->clear();
    telemetry::encode_block(pts, *new_value);
    return true;
  }
  const char* Name() const override { return "plantd.series_chunk"; }

private:
  static std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
};

class aggregate_merge final : public rocksdb::AssociativeMergeOperator {
public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    if (value.size() != aggregate::encoded_size)
      return false;
    auto agg = aggregate::decode(value.data());
    if (existing && existing->size() == aggregate::encoded_size) {
      auto old = aggregate::decode(existing->data());
      old.merge(agg);
      agg = old;
    }
    new_value->resize(aggregate::encoded_size);
    agg.encode(new_value->data());
    return true;
  }
  const char* Name() const override { return "plantd.aggregate"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> chunk_merge_operator() {
  return std::make_shared<chunk_merge>();
}

std::shared_ptr<rocksdb::MergeOperator> aggregate_merge_operator() {
  return std::make_shared<aggregate_merge>();
}

expected<uint32_t, error> store::series_id(std::string_view name) {
  auto h = impl_->use();
  std::lock_guard guard{impl_->series_mtx};
  if (auto it = impl_->series_ids.find(name); it != impl_->series_ids.end())
    return it->second;
  auto id = impl_->next_series;
  std::string v;
  put_be32(v, id);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->counted(h->db->Put(wo, h->meta(), "series/" + std::string{name}, v));
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
  impl_->series_ids.emplace(std::string{name}, id);
  ++impl_->next_series;
  return id;
}

std::optional<uint32_t> store::find_series(std::string_view name) const {
  std::lock_guard guard{impl_->series_mtx};
  if (auto it = impl_->series_ids.find(name); it != impl_->series_ids.end())
    return it->second;
  return std::nullopt;
}

std::vector<std::pair<std::string, uint32_t>> store::series() const {
  std::lock_guard guard{impl_->series_mtx};
  return {impl_->series_ids.begin(), impl_->series_ids.end()};
}

expected<void, error> store::write(const std::vector<point>& batch) {
  auto h = impl_->use();
  rocksdb::WriteBatch wb;
  // The batch's points grouped by series and hour, in batch order within a
  // group (std::sort on the index as the last key keeps it).
  struct slot {
    uint32_t series;
    int64_t window;
    uint32_t index;
    bool operator<(const slot& o) const {
      return std::tie(series, window, index) < std::tie(o.series, o.window, o.index);
    }
  };
  std::vector<slot> order;
  order.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    order.push_back({batch[i].series, window_of(batch[i].t_ms), static_cast<uint32_t>(i)});
  if (!std::is_sorted(order.begin(), order.end()))
    std::sort(order.begin(), order.end());
  std::vector<telemetry::sample> group;
  std::string block;
  std::map<std::tuple<uint32_t, uint8_t, int64_t>, aggregate> rolls;
  char key[13];
  char agg[aggregate::encoded_size];
  for (std::size_t i = 0; i < order.size();) {
    const auto series = order[i].series;
    const auto window = order[i].window;
    group.clear();
    for (; i < order.size() && order[i].series == series && order[i].window == window; ++i) {
      const auto& p = batch[order[i].index];
      group.push_back({p.t_ms, p.value, p.q});
    }
    telemetry::normalize(group);
    // Raw: one block per series and hour (a merge).
    block.clear();
    telemetry::encode_block(group, block);
    raw_key(key, series, window);
    wb.Merge(h->series(), rocksdb::Slice{key, 12}, block);
    // Rollups: the group's runs per bucket. Quality missing or invalid
    // points are stored raw but left out.
    for (auto r : telemetry::rollup_resolutions) {
      aggregate cur;
      int64_t cur_start = 0;
      for (const auto& p : group) {
        if (p.q == quality::missing || p.q == quality::invalid)
          continue;
        auto start = impl_->bucket_of(p.t_ms, r).first;
        if (cur.count > 0 && start != cur_start) {
          rolls[{series, static_cast<uint8_t>(r), cur_start}].merge(cur);
          cur = {};
        }
        cur_start = start;
        cur.add(p.t_ms, p.value);
      }
      if (cur.count > 0)
        rolls[{series, static_cast<uint8_t>(r), cur_start}].merge(cur);
    }
  }
  // One merge per (series, resolution, bucket) the batch touched.
  for (const auto& [k, a] : rolls) {
    bucket_key(key, std::get<0>(k), static_cast<resolution>(std::get<1>(k)), std::get<2>(k));
    a.encode(agg);
    wb.Merge(h->rollups(), rocksdb::Slice{key, 13}, rocksdb::Slice{agg, sizeof agg});
  }
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  auto s = impl_->counted(h->db->Write(wo, &wb));
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
  return {};
}

namespace {

// Up to `limit` raw points of `series` in [from, to), in time order, handed
// to `push` one by one; `error` says when part of the range was unreadable.
// `hour` is the decoding scratch (an hour of points).
template <class Push>
void scan_raw(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, uint32_t series, int64_t from,
              int64_t to, std::size_t limit, std::string* error,
              std::vector<telemetry::sample>& hour, Push push) {
  if (from >= to || limit == 0)
    return;
  auto upper = series_key(series, to);
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{db.NewIterator(ro, cf)};
  std::size_t n = 0;
  for (it->Seek(series_key(series, window_of(from))); it->Valid() && n < limit; it->Next()) {
    hour.clear();
    auto v = it->value();
    if (it->key().size() != 12 || !telemetry::decode_blocks({v.data(), v.size()}, hour)) {
      if (error)
        *error = fmt::format("series {}: an hour at {} ms is not readable", series,
                             it->key().size() == 12 ? get_be64(it->key().data() + 4) : 0);
      continue;
    }
    telemetry::normalize(hour);
    for (const auto& p : hour)
      if (p.t_ms >= from && p.t_ms < to && n < limit) {
        push(p);
        ++n;
      }
  }
  if (error && !it->status().ok())
    *error = status_text(it->status());
}

// Room for what a range holds: up to a day of one-second points at once
// (growing 86,400 points doubling by doubling costs more than decoding
// them); a short window (the uplink's) about a point a second.
std::size_t expected_points(int64_t from, int64_t to, std::size_t limit) {
  if (from >= to)
    return 0;
  return std::min<std::size_t>(
    {limit, 1u << 17,
     static_cast<std::size_t>(std::min<int64_t>((to - from) / 1000, 1 << 17)) + 64});
}

}  // namespace

std::vector<stored_point> store::raw(uint32_t series, int64_t from, int64_t to, std::size_t limit,
                                     std::string* error) const {
  auto h = impl_->use();
  std::vector<stored_point> out;
  out.reserve(expected_points(from, to, limit));
  std::vector<telemetry::sample> hour;
  scan_raw(*h->db, h->series(), series, from, to, limit, error, hour,
           [&](const stored_point& p) { out.push_back(p); });
  return out;
}

void store::raw_into(uint32_t series, int64_t from, int64_t to, std::size_t limit, raw_columns& out,
                     std::string* error) const {
  auto h = impl_->use();
  out.t_ms.clear();
  out.value.clear();
  out.q.clear();
  auto room = expected_points(from, to, limit);
  out.t_ms.reserve(room);
  out.value.reserve(room);
  out.q.reserve(room);
  scan_raw(*h->db, h->series(), series, from, to, limit, error, out.hour,
           [&](const stored_point& p) {
             out.t_ms.push_back(p.t_ms);
             out.value.push_back(p.value);
             out.q.push_back(p.q);
           });
}

std::vector<bucket> store::rollup(uint32_t series, resolution r, int64_t from, int64_t to) const {
  auto h = impl_->use();
  std::vector<bucket> out;
  auto upper = rollup_key(series, r, to);
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator(ro, h->rollups())};
  for (it->Seek(rollup_key(series, r, from)); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (k.size() != 13 || v.size() != aggregate::encoded_size)
      continue;
    bucket b;
    b.start_ms = get_be64(k.data() + 5);
    b.end_ms =
      telemetry::bucket_end(time_point{std::chrono::milliseconds{b.start_ms}}, r, impl_->opts.tz)
        .time_since_epoch()
        .count();
    b.agg = aggregate::decode(v.data());
    out.push_back(b);
  }
  return out;
}

expected<void, error> store::drop_raw_before(int64_t t_ms) {
  auto h = impl_->use();
  const int64_t cut = window_of(t_ms);
  for (const auto& [name, id] : series()) {
    // Whole hours before the cut, then what is older than t in its hour.
    auto s = h->db->DeleteRange({}, h->series(), series_key(id, INT64_MIN), series_key(id, cut));
    if (!s.ok())
      return unexpected{failure_of(s, *h)};
    if (cut == t_ms)
      continue;
    auto key = series_key(id, cut);
    std::string v;
    s = h->db->Get(upkeep_read(), h->series(), key, &v);
    if (s.IsNotFound())
      continue;
    if (!s.ok())
      return unexpected{failure_of(s, *h)};
    std::vector<telemetry::sample> hour;
    if (!telemetry::decode_blocks(v, hour))
      return unexpected{error{
        errc::internal, fmt::format("series {}: the hour at {} ms is not readable", name, cut)}};
    telemetry::normalize(hour);
    auto kept = std::find_if(hour.begin(), hour.end(),
                             [&](const telemetry::sample& p) { return p.t_ms >= t_ms; });
    if (kept == hour.begin())
      continue;
    std::string rest;
    telemetry::encode_block({kept, hour.end()}, rest);
    s = rest.empty() ? h->db->Delete({}, h->series(), key) : h->db->Put({}, h->series(), key, rest);
    if (!s.ok())
      return unexpected{failure_of(s, *h)};
  }
  return {};
}

std::optional<int64_t> store::oldest_raw_ms() const {
  auto h = impl_->use();
  std::optional<int64_t> oldest;
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator(upkeep_read(), h->series())};
  for (const auto& [name, id] : series()) {
    auto first = series_key(id, INT64_MIN);
    it->Seek(first);
    if (!it->Valid() || it->key().size() != 12
        || std::memcmp(it->key().data(), first.data(), 4) != 0)
      continue;
    auto hour = get_be64(it->key().data() + 4);
    if (!oldest || hour < *oldest)
      oldest = hour;
  }
  return oldest;
}

uint64_t store::series_disk_bytes() const {
  auto h = impl_->use();
  uint64_t v = 0;
  h->db->GetIntProperty(h->series(), "rocksdb.total-sst-files-size", &v);
  return v;
}

}  // namespace plantd::store
