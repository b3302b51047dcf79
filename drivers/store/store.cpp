#include "drivers/store/store.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <sys/statvfs.h>
#include <tuple>

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include "model/telemetry/chunk.hpp"

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

std::string status_text(const rocksdb::Status& s) {
  return s.ToString();
}

}  // namespace

// The open database and its column family handles, replaced as one when
// the store is reopened (read-only at a start on a full disk, read-write
// once there is room again).
struct db_handles {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*>
    cf;  // default, series, rollups, meta, config, alarms, audit, energy, access
  bool read_only = false;

  rocksdb::ColumnFamilyHandle* series() const { return cf[1]; }
  rocksdb::ColumnFamilyHandle* rollups() const { return cf[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return cf[3]; }
  rocksdb::ColumnFamilyHandle* config() const { return cf[4]; }
  rocksdb::ColumnFamilyHandle* alarms() const { return cf[5]; }
  rocksdb::ColumnFamilyHandle* audit() const { return cf[6]; }
  rocksdb::ColumnFamilyHandle* energy() const { return cf[7]; }
  rocksdb::ColumnFamilyHandle* access() const { return cf[8]; }

  ~db_handles() {
    for (auto* h : cf)
      if (h && db)
        db->DestroyColumnFamilyHandle(h);
  }
};

// RocksDB's own text log goes to stderr (the journal), warnings and up,
// never to a LOG file in the store: on a full disk RocksDB aborts the
// process at the first log line after a failed flush of that file.
class stderr_log final : public rocksdb::Logger {
public:
  stderr_log()
    : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[512];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

// Background errors (a failed flush or compaction, a full disk) as state
// the store can report and recover from. RocksDB's own recovery from a
// full disk waits for 64 MB free (a write buffer) and is turned off: the
// store resumes itself (store::recover) once store_options::resume_free_bytes
// are free.
class error_listener final : public rocksdb::EventListener {
public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* bg_error) override {
    if (bg_error && !bg_error->ok()) {
      std::lock_guard guard{mtx_};
      error_ = bg_error->ToString();
      failed_ = true;
    }
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    if (auto_recovery)
      *auto_recovery = false;
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) {
      std::lock_guard guard{mtx_};
      failed_ = false;
    }
  }
  std::optional<std::string> error() const {
    std::lock_guard guard{mtx_};
    if (!failed_)
      return std::nullopt;
    return error_;
  }
  void clear() {
    std::lock_guard guard{mtx_};
    failed_ = false;
  }

private:
  mutable std::mutex mtx_;
  bool failed_ = false;
  std::string error_;
};

struct store::impl {
  // Readers and writers hold `mtx` shared for a call; a reopen holds it
  // alone, so no call ever sees a closed database.
  mutable std::shared_mutex mtx;
  std::unique_ptr<db_handles> h;
  rocksdb::Options db_opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::shared_ptr<error_listener> listener;
  std::atomic<uint64_t> refused_writes{0};
  std::atomic<bool> write_failing{false};
  mutable std::mutex last_error_mtx;
  std::string last_error;

  store_options opts;
  std::filesystem::path dir;
  mutable std::mutex series_mtx;
  std::map<std::string, uint32_t, std::less<>> series_ids;
  uint32_t next_series = 1;
  // Bucket cache for sequential ingest: per resolution, the last bucket.
  struct cached {
    int64_t start = 0;
    int64_t end = 0;
  };
  std::array<cached, 6> cache{};

  // The database for one call (a shared hold on `mtx`).
  class handle {
  public:
    explicit handle(const impl& i)
      : lock_(i.mtx),
        h_(i.h.get()) {}
    const db_handles* operator->() const noexcept { return h_; }

  private:
    std::shared_lock<std::shared_mutex> lock_;
    const db_handles* h_;
  };
  handle use() const { return handle{*this}; }

  // Counts a failed write (and remembers why); a good one ends the failing.
  rocksdb::Status counted(rocksdb::Status s) {
    if (s.ok()) {
      write_failing = false;
    } else {
      ++refused_writes;
      write_failing = true;
      std::lock_guard guard{last_error_mtx};
      last_error = s.ToString();
    }
    return s;
  }

  std::pair<int64_t, int64_t> bucket_of(int64_t t, resolution r) {
    auto& c = cache[static_cast<std::size_t>(r)];
    if (t >= c.start && t < c.end)
      return {c.start, c.end};
    time_point tp{std::chrono::milliseconds{t}};
    c.start = telemetry::bucket_start(tp, r, opts.tz).time_since_epoch().count();
    c.end = telemetry::bucket_end(tp, r, opts.tz).time_since_epoch().count();
    return {c.start, c.end};
  }
};

store::store(std::unique_ptr<impl> i)
  : impl_(std::move(i)) {}
store::~store() = default;

namespace {

std::unique_ptr<db_handles> open_handles(const rocksdb::Options& o, const std::string& dir,
                                         const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs,
                                         bool read_only, rocksdb::Status& s) {
  auto h = std::make_unique<db_handles>();
  rocksdb::DB* raw = nullptr;
  s = read_only ? rocksdb::DB::OpenForReadOnly(o, dir, cfs, &h->cf, &raw)
                : rocksdb::DB::Open(o, dir, cfs, &h->cf, &raw);
  if (!s.ok())
    return nullptr;
  h->db.reset(raw);
  h->read_only = read_only;
  return h;
}

}  // namespace

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
  db_opts.max_total_wal_size = opts.max_wal_bytes;
  db_opts.info_log = std::make_shared<stderr_log>();
  auto listener = std::make_shared<error_listener>();
  db_opts.listeners.push_back(listener);
  if (opts.env)
    db_opts.env = opts.env;

  // One block cache for every column family (RocksDB would give each its
  // own 32 MB): an EMS unit's memory is small and its reads are few. The
  // memtables of all families share one budget, charged to that cache
  // (RocksDB would give each family 64 MB, twice).
  auto cache = rocksdb::NewLRUCache(opts.cache_bytes);
  db_opts.write_buffer_manager =
    std::make_shared<rocksdb::WriteBufferManager>(opts.write_buffer_bytes, cache);
  rocksdb::BlockBasedTableOptions plain_table;
  plain_table.block_cache = cache;

  rocksdb::ColumnFamilyOptions series_opts;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 64 * 1024;
  table.block_restart_interval = 128;  // keys share 10 of 12 bytes: delta-encode long runs
  series_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  series_opts.compression = rocksdb::kLZ4Compression;
  series_opts.bottommost_compression = rocksdb::kZSTD;
  series_opts.bottommost_compression_opts.level = 6;
  series_opts.bottommost_compression_opts.enabled = true;
  series_opts.merge_operator = std::make_shared<chunk_merge>();
  series_opts.write_buffer_size = opts.write_buffer_bytes / 2;
  rocksdb::ColumnFamilyOptions rollup_opts;
  rollup_opts.merge_operator = std::make_shared<aggregate_merge>();
  rollup_opts.write_buffer_size = opts.write_buffer_bytes / 4;
  rollup_opts.compression = rocksdb::kLZ4Compression;
  rollup_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(plain_table));
  rocksdb::ColumnFamilyOptions plain;
  plain.table_factory.reset(rocksdb::NewBlockBasedTableFactory(plain_table));
  plain.write_buffer_size = std::max<std::size_t>(opts.write_buffer_bytes / 8, 1u << 20);

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, plain},
                                                   {"series", series_opts},
                                                   {"rollups", rollup_opts},
                                                   {"meta", plain},
                                                   {"config", plain},
                                                   {"alarms", plain},
                                                   {"audit", plain},
                                                   {"energy", plain},
                                                   {"access", plain}};
  auto i = std::make_unique<impl>();
  i->opts = opts;
  i->dir = dir;
  i->db_opts = db_opts;
  i->cfs = cfs;
  i->listener = listener;
  rocksdb::Status s;
  i->h = open_handles(db_opts, dir.string(), cfs, false, s);
  if (!i->h && (s.IsNoSpace() || s.IsIOError()) && std::filesystem::exists(dir / "CURRENT", ec)) {
    // A full (or failing) disk: serve what is stored, read-only, and take
    // writes again once there is room (recover()).
    auto why = status_text(s);
    i->h = open_handles(db_opts, dir.string(), cfs, true, s);
    if (i->h) {
      i->write_failing = true;
      i->last_error = "opened read-only: " + why;
    }
  }
  if (!i->h)
    return unexpected{fmt::format("cannot open the store in {}: {}", dir.string(), status_text(s))};
  {
    auto h = i->use();
    // Series names.
    std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->meta())};
    for (it->Seek("series/"); it->Valid() && it->key().starts_with("series/"); it->Next()) {
      if (it->value().size() != 4)
        continue;
      uint32_t id = 0;
      for (int b = 0; b < 4; ++b)
        id = (id << 8) | static_cast<uint8_t>(it->value()[b]);
      i->series_ids.emplace(it->key().ToString().substr(7), id);
      i->next_series = std::max(i->next_series, id + 1);
    }
    // The series layout. Stores written before hourly blocks (one key per
    // point) are refused rather than misread.
    constexpr std::string_view format_key = "format/series";
    constexpr std::string_view format = "hour-blocks-1";
    std::string have;
    s = h->db->Get({}, h->meta(), format_key.data(), &have);
    if (s.IsNotFound() && h->read_only) {
      s = rocksdb::Status::OK();  // written when the store takes writes again
    } else if (s.IsNotFound()) {
      std::unique_ptr<rocksdb::Iterator> any{h->db->NewIterator({}, h->series())};
      any->SeekToFirst();
      if (any->Valid())
        return unexpected{fmt::format(
          "the store in {} holds raw telemetry in an older layout (one key per point) that this "
          "plantd does not read; move the directory away to start a new store",
          dir.string())};
      rocksdb::WriteOptions wo;
      wo.sync = true;
      s = h->db->Put(wo, h->meta(), format_key.data(), format.data());
      if (!s.ok()) {  // a full disk: the store starts degraded, recover() writes it
        i->write_failing = true;
        i->last_error = status_text(s);
        s = rocksdb::Status::OK();
      }
    } else if (s.ok() && have != format) {
      return unexpected{
        fmt::format("the store in {} has series layout '{}'; this plantd reads '{}'", dir.string(),
                    have, format)};
    }
    if (!s.ok())
      return unexpected{
        fmt::format("cannot open the store in {}: {}", dir.string(), status_text(s))};
  }
  return std::unique_ptr<store>{new store(std::move(i))};
}

store_health store::health() const {
  store_health out;
  out.refused_writes = impl_->refused_writes;
  {
    auto h = impl_->use();
    out.read_only = h->read_only;
  }
  auto bg = impl_->listener->error();
  out.degraded = out.read_only || bg || impl_->write_failing;
  if (out.degraded) {
    std::lock_guard guard{impl_->last_error_mtx};
    out.error = bg ? *bg : impl_->last_error;
  }
  return out;
}

store_health store::recover() {
  auto now = health();
  if (!now.degraded)
    return now;
  uint64_t free = 0;
  auto* env = impl_->db_opts.env ? impl_->db_opts.env : rocksdb::Env::Default();
  if (!env->GetFreeSpace(impl_->dir.string(), &free).ok() || free < impl_->opts.resume_free_bytes)
    return now;  // not yet: a resume on a full disk only fails again
  bool reopen = now.read_only;
  if (!reopen) {
    auto h = impl_->use();
    auto s = h->db->Resume();
    if (s.ok()) {
      impl_->listener->clear();
      impl_->write_failing = false;
    } else {
      reopen = true;  // an error Resume cannot clear (fatal): close and open again
    }
  }
  if (reopen) {
    std::unique_lock lock{impl_->mtx};
    rocksdb::Status s;
    std::unique_ptr<db_handles> fresh;
    if (impl_->h->read_only) {
      // A read-only database holds no lock: open the new one beside it, so
      // that a failed attempt leaves the store as it was.
      fresh = open_handles(impl_->db_opts, impl_->dir.string(), impl_->cfs, false, s);
      if (!fresh)
        return now;
    } else {
      impl_->h.reset();  // closed first: it holds the directory's lock
      fresh = open_handles(impl_->db_opts, impl_->dir.string(), impl_->cfs, false, s);
      if (!fresh)
        fresh = open_handles(impl_->db_opts, impl_->dir.string(), impl_->cfs, true, s);
      if (!fresh) {
        // The files are gone or unreadable: nothing plantd can serve from.
        std::fprintf(stderr, "plantd: the store in %s cannot be opened again: %s\n",
                     impl_->dir.c_str(), status_text(s).c_str());
        std::abort();
      }
    }
    impl_->h = std::move(fresh);
    if (!impl_->h->read_only) {
      impl_->listener->clear();
      impl_->write_failing = false;
      rocksdb::WriteOptions wo;
      wo.sync = true;
      impl_->counted(impl_->h->db->Put(wo, impl_->h->meta(), "format/series", "hour-blocks-1"));
    }
  }
  return health();
}

const absl::TimeZone& store::tz() const noexcept {
  return impl_->opts.tz;
}

expected<uint32_t, std::string> store::series_id(std::string_view name) {
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
    return unexpected{status_text(s)};
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

namespace {

// Reads for upkeep (retention, the disk budget): once an hour or minute over
// the oldest data, which no query wants next. They bypass the block cache
// rather than fill it with old blocks (a MB an hourly pass, held until
// evicted).
rocksdb::ReadOptions upkeep_read() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  return ro;
}

}  // namespace

expected<void, std::string> store::drop_raw_before(int64_t t_ms) {
  auto h = impl_->use();
  const int64_t cut = window_of(t_ms);
  for (const auto& [name, id] : series()) {
    // Whole hours before the cut, then what is older than t in its hour.
    auto s = h->db->DeleteRange({}, h->series(), series_key(id, INT64_MIN), series_key(id, cut));
    if (!s.ok())
      return unexpected{status_text(s)};
    if (cut == t_ms)
      continue;
    auto key = series_key(id, cut);
    std::string v;
    s = h->db->Get(upkeep_read(), h->series(), key, &v);
    if (s.IsNotFound())
      continue;
    if (!s.ok())
      return unexpected{status_text(s)};
    std::vector<telemetry::sample> hour;
    if (!telemetry::decode_blocks(v, hour))
      return unexpected{fmt::format("series {}: the hour at {} ms is not readable", name, cut)};
    telemetry::normalize(hour);
    auto kept = std::find_if(hour.begin(), hour.end(),
                             [&](const telemetry::sample& p) { return p.t_ms >= t_ms; });
    if (kept == hour.begin())
      continue;
    std::string rest;
    telemetry::encode_block({kept, hour.end()}, rest);
    s = rest.empty() ? h->db->Delete({}, h->series(), key) : h->db->Put({}, h->series(), key, rest);
    if (!s.ok())
      return unexpected{status_text(s)};
  }
  return {};
}

expected<void, std::string> store::put_state(std::string_view key, std::string_view bytes) {
  auto h = impl_->use();
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  // Not counted in the store's health: the writer of telemetry judges that.
  auto s = h->db->Put(wo, h->meta(), "state/" + std::string{key},
                      rocksdb::Slice{bytes.data(), bytes.size()});
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

expected<std::optional<std::string>, std::string> store::get_state(std::string_view key) const {
  auto h = impl_->use();
  std::string v;
  auto s = h->db->Get({}, h->meta(), "state/" + std::string{key}, &v);
  if (s.IsNotFound())
    return std::optional<std::string>{};
  if (!s.ok())
    return unexpected{status_text(s)};
  return std::optional<std::string>{std::move(v)};
}

expected<void, std::string> store::put_alarm(uint64_t id, std::string_view bytes) {
  auto h = impl_->use();
  std::string k;
  put_be64(k, static_cast<int64_t>(id));
  auto s =
    impl_->counted(h->db->Put({}, h->alarms(), k, rocksdb::Slice{bytes.data(), bytes.size()}));
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

expected<void, std::string>
store::put_energy(const std::vector<std::pair<std::string, std::string>>& kvs,
                  std::string_view audit_key, std::string_view audit_record, bool durable) {
  auto h = impl_->use();
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : kvs) {
    if (v.empty())
      batch.Delete(h->energy(), k);
    else
      batch.Put(h->energy(), k, v);
  }
  if (!audit_key.empty())
    batch.Put(h->audit(), rocksdb::Slice{audit_key.data(), audit_key.size()},
              rocksdb::Slice{audit_record.data(), audit_record.size()});
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync || durable;
  auto s = impl_->counted(h->db->Write(wo, &batch));
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

namespace {

// Writes `path` whole or not at all: a temporary file, fsync, rename, fsync
// of the directory.
expected<void, std::string> write_file_atomically(const std::filesystem::path& path,
                                                  std::string_view bytes) {
  auto sync_dir = [](const std::filesystem::path& dir) {
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
      return false;
    bool ok = ::fsync(d) == 0;
    ::close(d);
    return ok;
  };
  std::error_code ec;
  if (std::filesystem::create_directories(path.parent_path(), ec))
    sync_dir(path.parent_path().parent_path());  // the new folder's entry is durable too
  if (ec)
    return unexpected{
      fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message())};
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return unexpected{fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno))};
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string err = n < 0 ? std::strerror(errno) : "no progress";
      ::close(fd);
      ::unlink(tmp.c_str());
      return unexpected{fmt::format("cannot write {}: {}", tmp.string(), err)};
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  std::string err = synced ? "" : std::strerror(errno);
  if (::close(fd) != 0 && synced)
    synced = false, err = std::strerror(errno);
  if (!synced) {
    ::unlink(tmp.c_str());
    return unexpected{fmt::format("cannot write {}: {}", tmp.string(), err)};
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return unexpected{fmt::format("cannot replace {}: {}", path.string(), ec.message())};
  }
  if (!sync_dir(path.parent_path()))
    return unexpected{
      fmt::format("cannot sync {}: {}", path.parent_path().string(), std::strerror(errno))};
  return {};
}

}  // namespace

namespace {
// FNV-1a, 64 bits: stable across builds (std::hash is not), ~1 GB/s.
std::string digest_of(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}
std::string digest_key(std::string_view name) {
  return fmt::format("document/{}/digest", name);
}
}  // namespace

expected<void, std::string> store::put_document(std::string_view name, std::string_view bytes,
                                                std::string_view audit_key,
                                                std::string_view audit_record) {
  auto h = impl_->use();
  if (name.empty() || name.find('/') != std::string_view::npos || name.front() == '.')
    return unexpected{fmt::format("bad document name '{}'", name)};
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  auto dkey = digest_key(name);
  std::string before;
  bool had_digest = h->db->Get({}, h->meta(), dkey, &before).ok();
  // The record and the digest of what the file will hold, then the file.
  rocksdb::WriteBatch batch;
  batch.Put(h->meta(), dkey, digest_of(bytes));
  if (!audit_key.empty())
    batch.Put(h->audit(), rocksdb::Slice{audit_key.data(), audit_key.size()},
              rocksdb::Slice{audit_record.data(), audit_record.size()});
  if (auto s = impl_->counted(h->db->Write(wo, &batch)); !s.ok())
    return unexpected{status_text(s)};
  if (auto r = write_file_atomically(impl_->dir / "documents" / std::string(name), bytes); !r) {
    rocksdb::WriteBatch undo;
    if (had_digest)
      undo.Put(h->meta(), dkey, before);
    else
      undo.Delete(h->meta(), dkey);
    if (!audit_key.empty())
      undo.Delete(h->audit(), rocksdb::Slice{audit_key.data(), audit_key.size()});
    h->db->Write(wo, &undo);
    return r;
  }
  return {};
}

bool store::document_current(std::string_view name, std::string_view bytes) const {
  auto h = impl_->use();
  std::string recorded;
  if (!h->db->Get({}, h->meta(), digest_key(name), &recorded).ok())
    return true;
  return recorded == digest_of(bytes);
}

expected<void, std::string> store::adopt_document(std::string_view name, std::string_view bytes,
                                                  std::string_view audit_key,
                                                  std::string_view audit_record) {
  auto h = impl_->use();
  rocksdb::WriteBatch batch;
  batch.Put(h->meta(), digest_key(name), digest_of(bytes));
  batch.Put(h->audit(), rocksdb::Slice{audit_key.data(), audit_key.size()},
            rocksdb::Slice{audit_record.data(), audit_record.size()});
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  if (auto s = impl_->counted(h->db->Write(wo, &batch)); !s.ok())
    return unexpected{status_text(s)};
  return {};
}

expected<std::optional<std::string>, std::string> store::get_document(std::string_view name) const {
  auto path = impl_->dir / "documents" / std::string(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return std::optional<std::string>{};
  if (fd < 0)
    return unexpected{fmt::format("cannot read {}: {}", path.string(), std::strerror(errno))};
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return unexpected{fmt::format("cannot read {}: {}", path.string(), err)};
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>{std::move(out)};
}

std::vector<std::pair<std::string, std::string>> store::scan_energy(std::string_view prefix,
                                                                    std::size_t limit) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (limit == 0)
    return out;
  each_energy(prefix, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return out.size() < limit;
  });
  return out;
}

std::size_t store::each_energy(std::string_view prefix,
                               const std::function<bool(std::string_view, std::string_view)>& fn,
                               std::string_view from) const {
  auto h = impl_->use();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // scans load the model and the inputs once, at start
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator(ro, h->energy())};
  rocksdb::Slice p{prefix.data(), prefix.size()};
  rocksdb::Slice start = from.size() > prefix.size() && from.substr(0, prefix.size()) == prefix
                           ? rocksdb::Slice{from.data(), from.size()}
                           : p;
  std::size_t n = 0;
  for (it->Seek(start); it->Valid() && it->key().starts_with(p); it->Next()) {
    ++n;
    if (!fn({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}))
      break;
  }
  return n;
}

std::optional<std::pair<std::string, std::string>>
store::energy_before(std::string_view prefix, std::string_view key) const {
  auto h = impl_->use();
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->energy())};
  rocksdb::Slice k{key.data(), key.size()};
  it->SeekForPrev(k);
  if (it->Valid() && it->key() == k)
    it->Prev();
  if (!it->Valid() || !it->key().starts_with(rocksdb::Slice{prefix.data(), prefix.size()}))
    return std::nullopt;
  return std::pair{it->key().ToString(), it->value().ToString()};
}

std::optional<std::string> store::get_energy(std::string_view key) const {
  auto h = impl_->use();
  std::string v;
  auto s = h->db->Get({}, h->energy(), rocksdb::Slice{key.data(), key.size()}, &v);
  if (!s.ok())
    return std::nullopt;
  return v;
}

std::vector<std::pair<std::string, std::string>> store::audit(std::string_view prefix) const {
  auto h = impl_->use();
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->audit())};
  rocksdb::Slice p{prefix.data(), prefix.size()};
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next())
    out.emplace_back(it->key().ToString(), it->value().ToString());
  return out;
}

std::vector<std::pair<uint64_t, std::string>> store::alarms(std::string* error) const {
  auto h = impl_->use();
  std::vector<std::pair<uint64_t, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->alarms())};
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (it->key().size() == 8)
      out.emplace_back(static_cast<uint64_t>(get_be64(it->key().data())), it->value().ToString());
  if (error && !it->status().ok())
    *error = status_text(it->status());
  return out;
}

namespace {

std::string config_info_key(uint64_t version) {
  std::string k = "config/info/";
  put_be64(k, static_cast<int64_t>(version));
  return k;
}

}  // namespace

expected<void, std::string> store::put_config(uint64_t version, std::string_view bytes,
                                              std::optional<std::string_view> source,
                                              std::string_view info) {
  auto h = impl_->use();
  std::string k;
  put_be64(k, static_cast<int64_t>(version));
  rocksdb::WriteBatch batch;
  batch.Put(h->config(), k, rocksdb::Slice{bytes.data(), bytes.size()});
  if (!info.empty())
    batch.Put(h->meta(), config_info_key(version), rocksdb::Slice{info.data(), info.size()});
  if (source)
    batch.Put(h->meta(), "config/source", digest_of(*source));
  // The history keeps the newest versions.
  if (version > config_versions_kept) {  // keeps (version - kept, version]
    auto first_kept = version - config_versions_kept + 1;
    std::string from, to;
    put_be64(from, 0);
    put_be64(to, static_cast<int64_t>(first_kept));
    batch.DeleteRange(h->config(), from, to);
    batch.DeleteRange(h->meta(), config_info_key(0), config_info_key(first_kept));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->counted(h->db->Write(wo, &batch));
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

bool store::config_source_is(std::string_view source) const {
  auto h = impl_->use();
  std::string recorded;
  if (!h->db->Get({}, h->meta(), "config/source", &recorded).ok())
    return false;
  return recorded == digest_of(source);
}

std::optional<std::pair<uint64_t, std::string>> store::latest_config() const {
  auto h = impl_->use();
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->config())};
  it->SeekToLast();
  if (!it->Valid() || it->key().size() != 8)
    return std::nullopt;
  return std::make_pair(static_cast<uint64_t>(get_be64(it->key().data())), it->value().ToString());
}

std::optional<std::string> store::config_version(uint64_t version) const {
  auto h = impl_->use();
  std::string k;
  put_be64(k, static_cast<int64_t>(version));
  std::string out;
  if (!h->db->Get({}, h->config(), k, &out).ok())
    return std::nullopt;
  return out;
}

std::vector<store::config_entry> store::config_history(uint64_t before, std::size_t limit) const {
  auto h = impl_->use();
  std::vector<config_entry> out;
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->config())};
  if (before == 0) {
    it->SeekToLast();
  } else {
    std::string k;
    put_be64(k, static_cast<int64_t>(before));
    it->SeekForPrev(k);
    if (it->Valid() && it->key() == k)
      it->Prev();
  }
  for (; it->Valid() && out.size() < limit; it->Prev()) {
    if (it->key().size() != 8)
      continue;
    config_entry e;
    e.version = static_cast<uint64_t>(get_be64(it->key().data()));
    h->db->Get({}, h->meta(), config_info_key(e.version), &e.info);
    out.push_back(std::move(e));
  }
  return out;
}

void store::compact() {
  auto h = impl_->use();
  h->db->Flush({}, h->cf);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  h->db->CompactRange(co, h->series(), nullptr, nullptr);
}

namespace {

uint64_t live_wal_bytes(rocksdb::DB& db) {
  rocksdb::VectorLogPtr files;
  if (!db.GetSortedWalFiles(files).ok())
    return 0;
  uint64_t n = 0;
  for (const auto& f : files)
    if (f->Type() == rocksdb::kAliveLogFile)
      n += f->SizeFileBytes();
  return n;
}

}  // namespace

uint64_t store::wal_bytes() const {
  auto h = impl_->use();
  return live_wal_bytes(*h->db);
}

namespace {

// A RocksDB integer property summed over every column family.
uint64_t summed(rocksdb::DB& db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                const char* property) {
  uint64_t total = 0;
  for (auto* cf : cfs) {
    uint64_t v = 0;
    if (db.GetIntProperty(cf, property, &v))
      total += v;
  }
  return total;
}

}  // namespace

uint64_t store::disk_bytes() const {
  auto h = impl_->use();
  // Every SST file still on disk (old versions pinned by a reader count:
  // they take the space) and the live log.
  return summed(*h->db, h->cf, "rocksdb.total-sst-files-size") + live_wal_bytes(*h->db);
}

store::memory_use store::memory() const {
  auto h = impl_->use();
  memory_use m;
  m.memtables = summed(*h->db, h->cf, "rocksdb.size-all-mem-tables");
  m.table_readers = summed(*h->db, h->cf, "rocksdb.estimate-table-readers-mem");
  // One cache serves every family: read it once.
  h->db->GetIntProperty(h->cf.front(), "rocksdb.block-cache-usage", &m.block_cache);
  h->db->GetIntProperty(h->cf.front(), "rocksdb.block-cache-pinned-usage", &m.pinned_blocks);
  return m;
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

namespace plantd::store {

namespace {

std::string_view access_prefix(store::access_kind k) {
  switch (k) {
    case store::access_kind::user: return "user/";
    case store::access_kind::session: return "session/";
    case store::access_kind::token: return "token/";
    case store::access_kind::code: return "code/";
  }
  return "other/";
}

constexpr std::string_view call_audit_prefix = "api/";

std::string call_audit_key(uint64_t seq) {
  return fmt::format("{}{:016x}", call_audit_prefix, seq);
}

}  // namespace

expected<void, std::string> store::put_access(const std::vector<access_write>& batch) {
  auto h = impl_->use();
  rocksdb::WriteBatch wb;
  for (const auto& w : batch) {
    auto key = std::string{access_prefix(w.kind)} + w.id;
    if (w.bytes.empty())
      wb.Delete(h->access(), key);
    else
      wb.Put(h->access(), key, w.bytes);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // a revoked token or a disabled user stays so after a power cut
  auto s = impl_->counted(h->db->Write(wo, &wb));
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

std::vector<std::pair<std::string, std::string>> store::access_records(access_kind kind) const {
  auto h = impl_->use();
  std::vector<std::pair<std::string, std::string>> out;
  auto prefix = access_prefix(kind);
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->access())};
  rocksdb::Slice p{prefix.data(), prefix.size()};
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next())
    out.emplace_back(it->key().ToString().substr(prefix.size()), it->value().ToString());
  return out;
}

expected<void, std::string> store::append_call_audit(uint64_t seq, std::string_view bytes) {
  auto h = impl_->use();
  auto s = impl_->counted(
    h->db->Put({}, h->audit(), call_audit_key(seq), rocksdb::Slice{bytes.data(), bytes.size()}));
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

void store::each_call_audit(uint64_t before,
                            const std::function<bool(uint64_t, std::string_view)>& fn) const {
  auto h = impl_->use();
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->audit())};
  if (before == 0)
    it->SeekForPrev(std::string{call_audit_prefix} + "\xff");
  else
    it->SeekForPrev(call_audit_key(before - 1));
  rocksdb::Slice p{call_audit_prefix.data(), call_audit_prefix.size()};
  for (; it->Valid() && it->key().starts_with(p); it->Prev()) {
    auto hex = it->key().ToString().substr(call_audit_prefix.size());
    uint64_t seq = std::stoull(hex, nullptr, 16);
    if (!fn(seq, {it->value().data(), it->value().size()}))
      break;
  }
}

uint64_t store::last_call_audit_seq() const {
  uint64_t last = 0;
  each_call_audit(0, [&](uint64_t seq, std::string_view) {
    last = seq;
    return false;
  });
  return last;
}

expected<void, std::string> store::trim_call_audit(uint64_t keep) {
  auto last = last_call_audit_seq();
  if (last <= keep)
    return {};
  auto h = impl_->use();
  auto s = impl_->counted(
    h->db->DeleteRange({}, h->audit(), call_audit_key(0), call_audit_key(last - keep + 1)));
  if (!s.ok())
    return unexpected{status_text(s)};
  return {};
}

}  // namespace plantd::store
