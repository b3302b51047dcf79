#include "drivers/store/store.hpp"

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace plantd::store {

using telemetry::aggregate;
using telemetry::resolution;

namespace {

void put_be32(std::string& out, uint32_t x) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

void put_be64(std::string& out, int64_t v) {
  // Offset so that negative times still sort before positive ones.
  auto x = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

int64_t get_be64(const char* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(p[i]);
  return static_cast<int64_t>(x ^ (uint64_t{1} << 63));
}

std::string series_key(uint32_t series, int64_t t) {
  std::string k;
  k.reserve(12);
  put_be32(k, series);
  put_be64(k, t);
  return k;
}

std::string rollup_key(uint32_t series, resolution r, int64_t start) {
  std::string k;
  k.reserve(13);
  put_be32(k, series);
  k.push_back(static_cast<char>(r));
  put_be64(k, start);
  return k;
}

// Raw values: a tag byte (quality in bits 0..2, encoding in bits 3..5), then
// either the 8 bytes of the double, or — when the value is exactly a decimal
// with at most 3 digits after the point, as meter readings are — a zigzag
// varint of value * 10^k (k = encoding - 1), typically 3 bytes.
constexpr double pow10[] = {1, 10, 100, 1000};

std::size_t encode_value(double v, quality q, char* out) {
  auto tag = static_cast<uint8_t>(q) & 0x07;
  for (int k = 0; k < 4; ++k) {
    double scaled = v * pow10[k];
    if (!(std::abs(scaled) < 9e15))
      break;
    auto n = static_cast<int64_t>(std::llround(scaled));
    if (static_cast<double>(n) / pow10[k] != v)
      continue;
    out[0] = static_cast<char>(tag | ((k + 1) << 3));
    auto z = (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63);
    std::size_t len = 1;
    do {
      auto byte = static_cast<uint8_t>(z & 0x7F);
      z >>= 7;
      out[len++] = static_cast<char>(byte | (z ? 0x80 : 0));
    } while (z);
    return len;
  }
  out[0] = static_cast<char>(tag);
  std::memcpy(out + 1, &v, 8);
  return 9;
}

bool decode_value(const char* in, std::size_t len, double& v, quality& q) {
  if (len < 2)
    return false;
  auto tag = static_cast<uint8_t>(in[0]);
  q = static_cast<quality>(tag & 0x07);
  int enc = tag >> 3;
  if (enc == 0) {
    if (len != 9)
      return false;
    std::memcpy(&v, in + 1, 8);
    return true;
  }
  if (enc > 4)
    return false;
  uint64_t z = 0;
  int shift = 0;
  for (std::size_t i = 1; i < len; ++i, shift += 7)
    z |= static_cast<uint64_t>(static_cast<uint8_t>(in[i]) & 0x7F) << shift;
  auto n = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  v = static_cast<double>(n) / pow10[enc - 1];
  return true;
}

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

std::string status_text(const rocksdb::Status& s) {
  return s.ToString();
}

} // namespace

struct store::impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;  // default, series, rollups, meta, config, alarms, audit
  store_options opts;
  mutable std::mutex series_mtx;
  std::map<std::string, uint32_t, std::less<>> series_ids;
  uint32_t next_series = 1;
  // Bucket cache for sequential ingest: per resolution, the last bucket.
  struct cached {
    int64_t start = 0;
    int64_t end = 0;
  };
  std::array<cached, 6> cache{};

  rocksdb::ColumnFamilyHandle* series() const { return cf[1]; }
  rocksdb::ColumnFamilyHandle* rollups() const { return cf[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return cf[3]; }
  rocksdb::ColumnFamilyHandle* config() const { return cf[4]; }
  rocksdb::ColumnFamilyHandle* alarms() const { return cf[5]; }
  rocksdb::ColumnFamilyHandle* audit() const { return cf[6]; }
  rocksdb::ColumnFamilyHandle* energy() const { return cf[7]; }

  std::pair<int64_t, int64_t> bucket_of(int64_t t, resolution r) {
    auto& c = cache[static_cast<std::size_t>(r)];
    if (t >= c.start && t < c.end)
      return {c.start, c.end};
    time_point tp{std::chrono::milliseconds{t}};
    c.start = telemetry::bucket_start(tp, r, opts.tz).time_since_epoch().count();
    c.end = telemetry::bucket_end(tp, r, opts.tz).time_since_epoch().count();
    return {c.start, c.end};
  }

  ~impl() {
    for (auto* h : cf)
      if (h && db)
        db->DestroyColumnFamilyHandle(h);
  }
};

store::store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
store::~store() = default;

expected<std::unique_ptr<store>, std::string> store::open(const std::filesystem::path& dir,
                                                          store_options opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return unexpected{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.keep_log_file_num = 3;

  rocksdb::ColumnFamilyOptions series_opts;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 64 * 1024;
  table.block_restart_interval = 128;  // keys share 10 of 12 bytes: delta-encode long runs
  series_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  series_opts.compression = rocksdb::kLZ4Compression;
  series_opts.bottommost_compression = rocksdb::kZSTD;
  series_opts.bottommost_compression_opts.level = 6;
  series_opts.bottommost_compression_opts.enabled = true;
  rocksdb::ColumnFamilyOptions rollup_opts;
  rollup_opts.merge_operator = std::make_shared<aggregate_merge>();
  rollup_opts.compression = rocksdb::kLZ4Compression;
  rocksdb::ColumnFamilyOptions plain;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
    {rocksdb::kDefaultColumnFamilyName, plain}, {"series", series_opts},
    {"rollups", rollup_opts},                   {"meta", plain},
    {"config", plain},                          {"alarms", plain},
    {"audit", plain},                           {"energy", plain}};
  auto i = std::make_unique<impl>();
  i->opts = opts;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_opts, dir.string(), cfs, &i->cf, &raw);
  if (!s.ok())
    return unexpected{fmt::format("cannot open the store in {}: {}", dir.string(), status_text(s))};
  i->db.reset(raw);
  // Series names.
  std::unique_ptr<rocksdb::Iterator> it{i->db->NewIterator({}, i->meta())};
  for (it->Seek("series/"); it->Valid() && it->key().starts_with("series/"); it->Next()) {
    if (it->value().size() != 4)
      continue;
    uint32_t id = 0;
    for (int b = 0; b < 4; ++b)
      id = (id << 8) | static_cast<uint8_t>(it->value()[b]);
    i->series_ids.emplace(it->key().ToString().substr(7), id);
    i->next_series = std::max(i->next_series, id + 1);
  }
  return std::unique_ptr<store>{new store(std::move(i))};
}

const absl::TimeZone& store::tz() const noexcept {
  return impl_->opts.tz;
}

expected<uint32_t, std::string> store::series_id(std::string_view name) {
  std::lock_guard guard{impl_->series_mtx};
  if (auto it = impl_->series_ids.find(name); it != impl_->series_ids.end())
    return it->second;
  auto id = impl_->next_series;
  std::string v;
  put_be32(v, id);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Put(wo, impl_->meta(), "series/" + std::string{name}, v);
  if (!s.ok())
    return unexpected{status_text(s)};
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

expected<void, std::string> store::write(const std::vector<point>& batch) {
  rocksdb::WriteBatch wb;
  // Rollups: one merge per (series, resolution, bucket) touched by the batch.
  std::map<std::tuple<uint32_t, uint8_t, int64_t>, aggregate> rolls;
  char value[12];
  for (const auto& p : batch) {
    auto len = encode_value(p.value, p.q, value);
    wb.Put(impl_->series(), series_key(p.series, p.t_ms), rocksdb::Slice{value, len});
    if (p.q == quality::missing || p.q == quality::invalid)
      continue;
    for (auto r : telemetry::rollup_resolutions) {
      auto [start, end] = impl_->bucket_of(p.t_ms, r);
      rolls[{p.series, static_cast<uint8_t>(r), start}].add(p.t_ms, p.value);
    }
  }
  char agg[aggregate::encoded_size];
  for (const auto& [key, a] : rolls) {
    a.encode(agg);
    wb.Merge(impl_->rollups(),
             rollup_key(std::get<0>(key), static_cast<resolution>(std::get<1>(key)),
                        std::get<2>(key)),
             rocksdb::Slice{agg, sizeof agg});
  }
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  auto s = impl_->db->Write(wo, &wb);
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

std::vector<stored_point> store::raw(uint32_t series, int64_t from, int64_t to,
                                     std::size_t limit) const {
  std::vector<stored_point> out;
  auto upper = series_key(series, to);
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro, impl_->series())};
  for (it->Seek(series_key(series, from)); it->Valid() && out.size() < limit; it->Next()) {
    auto k = it->key();
    auto v = it->value();
    stored_point p;
    if (k.size() != 12 || !decode_value(v.data(), v.size(), p.value, p.q))
      continue;
    p.t_ms = get_be64(k.data() + 4);
    out.push_back(p);
  }
  return out;
}

std::vector<bucket> store::rollup(uint32_t series, resolution r, int64_t from,
                                  int64_t to) const {
  std::vector<bucket> out;
  auto upper = rollup_key(series, r, to);
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro, impl_->rollups())};
  for (it->Seek(rollup_key(series, r, from)); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (k.size() != 13 || v.size() != aggregate::encoded_size)
      continue;
    bucket b;
    b.start_ms = get_be64(k.data() + 5);
    b.end_ms = telemetry::bucket_end(time_point{std::chrono::milliseconds{b.start_ms}}, r,
                                     impl_->opts.tz)
                 .time_since_epoch()
                 .count();
    b.agg = aggregate::decode(v.data());
    out.push_back(b);
  }
  return out;
}

expected<void, std::string> store::drop_raw_before(int64_t t_ms) {
  for (const auto& [name, id] : series()) {
    auto s = impl_->db->DeleteRange({}, impl_->series(), series_key(id, INT64_MIN),
                                    series_key(id, t_ms));
    if (!s.ok())
      return unexpected{status_text(s)};
  }
  return {};
}

expected<void, std::string> store::put_alarm(uint64_t id, std::string_view bytes) {
  std::string k;
  put_be64(k, static_cast<int64_t>(id));
  auto s = impl_->db->Put({}, impl_->alarms(), k, rocksdb::Slice{bytes.data(), bytes.size()});
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

expected<void, std::string> store::put_energy(const std::vector<std::pair<std::string, std::string>>& kvs,
                                             std::string_view audit_key,
                                             std::string_view audit_record) {
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : kvs) {
    if (v.empty()) batch.Delete(impl_->energy(), k);
    else batch.Put(impl_->energy(), k, v);
  }
  if (!audit_key.empty())
    batch.Put(impl_->audit(), rocksdb::Slice{audit_key.data(), audit_key.size()},
              rocksdb::Slice{audit_record.data(), audit_record.size()});
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

std::vector<std::pair<std::string, std::string>> store::scan_energy(std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator({}, impl_->energy())};
  rocksdb::Slice p{prefix.data(), prefix.size()};
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next())
    out.emplace_back(it->key().ToString(), it->value().ToString());
  return out;
}

std::optional<std::string> store::get_energy(std::string_view key) const {
  std::string v;
  auto s = impl_->db->Get({}, impl_->energy(), rocksdb::Slice{key.data(), key.size()}, &v);
  if (!s.ok()) return std::nullopt;
  return v;
}

std::vector<std::pair<std::string, std::string>> store::audit(std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator({}, impl_->audit())};
  rocksdb::Slice p{prefix.data(), prefix.size()};
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next())
    out.emplace_back(it->key().ToString(), it->value().ToString());
  return out;
}

std::vector<std::pair<uint64_t, std::string>> store::alarms() const {
  std::vector<std::pair<uint64_t, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator({}, impl_->alarms())};
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (it->key().size() == 8)
      out.emplace_back(static_cast<uint64_t>(get_be64(it->key().data())), it->value().ToString());
  return out;
}

expected<void, std::string> store::put_config(uint64_t version, std::string_view bytes) {
  std::string k;
  put_be64(k, static_cast<int64_t>(version));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Put(wo, impl_->config(), k, rocksdb::Slice{bytes.data(), bytes.size()});
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

std::optional<std::pair<uint64_t, std::string>> store::latest_config() const {
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator({}, impl_->config())};
  it->SeekToLast();
  if (!it->Valid() || it->key().size() != 8)
    return std::nullopt;
  return std::make_pair(static_cast<uint64_t>(get_be64(it->key().data())),
                        it->value().ToString());
}

void store::compact() {
  impl_->db->Flush({}, impl_->series());
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  impl_->db->CompactRange(co, impl_->series(), nullptr, nullptr);
}

uint64_t store::series_disk_bytes() const {
  uint64_t v = 0;
  impl_->db->GetIntProperty(impl_->series(), "rocksdb.total-sst-files-size", &v);
  return v;
}

} // namespace plantd::store
