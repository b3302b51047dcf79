#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <sys/statvfs.h>

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_buffer_manager.h>

#include "drivers/store/store.hpp"
#include "drivers/store/store_impl.hpp"

namespace plantd::store {

namespace {

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

}  // namespace

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
  series_opts.merge_operator = chunk_merge_operator();
  series_opts.write_buffer_size = opts.write_buffer_bytes / 2;
  rocksdb::ColumnFamilyOptions rollup_opts;
  rollup_opts.merge_operator = aggregate_merge_operator();
  rollup_opts.write_buffer_size = opts.write_buffer_bytes / 4;
  rollup_opts.compression = rocksdb::kLZ4Compression;
  rollup_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(plain_table));
  rocksdb::ColumnFamilyOptions plain;
  plain.table_factory.reset(rocksdb::NewBlockBasedTableFactory(plain_table));
  plain.write_buffer_size = std::max<std::size_t>(opts.write_buffer_bytes / 8, 1u << 20);
  // The energy records are read one key at a time, most often a key that
  // is not there yet (the hour a new reading opens): a Bloom filter answers
  // that without reading a block of every table file.
  rocksdb::ColumnFamilyOptions energy_opts = plain;
  rocksdb::BlockBasedTableOptions energy_table = plain_table;
  energy_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  energy_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(energy_table));

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, plain},
                                                   {"series", series_opts},
                                                   {"rollups", rollup_opts},
                                                   {"meta", plain},
                                                   {"config", plain},
                                                   {"alarms", plain},
                                                   {"audit", plain},
                                                   {"energy", energy_opts},
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
    bool full = s.IsNoSpace();
    i->h = open_handles(db_opts, dir.string(), cfs, true, s);
    if (i->h) {
      i->h->full = full;
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

}  // namespace plantd::store
