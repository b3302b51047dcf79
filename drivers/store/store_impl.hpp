// The store's insides, shared by the files that implement it by concern:
// db.cpp (opening, health, recovery, memory and disk figures), series.cpp
// (telemetry points and rollups), documents.cpp, energy_records.cpp (the
// energy-carbon records and their audit), config_history.cpp and
// records.cpp (plantd's small records: state, alarms, access, call audit).
// Only those files include it.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>

#include "drivers/store/store.hpp"
#include "model/telemetry/rollup.hpp"

namespace plantd::store {

// Big-endian integers for keys that sort as numbers; a time's sign bit is
// flipped so that negative times sort first.
inline void put_be32(std::string& out, uint32_t x) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

inline void put_be64(std::string& out, int64_t v) {
  // Offset so that negative times still sort before positive ones.
  auto x = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

inline int64_t get_be64(const char* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(p[i]);
  return static_cast<int64_t>(x ^ (uint64_t{1} << 63));
}

inline std::string status_text(const rocksdb::Status& s) {
  return s.ToString();
}

// Reads for upkeep (retention, the disk budget): once an hour or minute over
// the oldest data, which no query wants next. They bypass the block cache
// rather than fill it with old blocks (a MB an hourly pass, held until
// evicted).
inline rocksdb::ReadOptions upkeep_read() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  return ro;
}

// The digest of a document or config file: FNV-1a, 64 bits, stable across
// builds (std::hash is not), ~1 GB/s.
std::string digest_of(std::string_view bytes);

// The merge operators of the series and rollups families (series.cpp).
std::shared_ptr<rocksdb::MergeOperator> chunk_merge_operator();
std::shared_ptr<rocksdb::MergeOperator> aggregate_merge_operator();

// The open database and its column family handles, replaced as one when
// the store is reopened (read-only at a start on a full disk, read-write
// once there is room again).
struct db_handles {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*>
    cf;  // default, series, rollups, meta, config, alarms, audit, energy, access
  bool read_only = false;
  // Opened read-only because the disk was full (not failing): its refused
  // writes are a full disk's.
  bool full = false;

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

// A RocksDB status as the store's error; `h`: the database it came from.
inline error failure_of(const rocksdb::Status& s, const db_handles& h) {
  if (s.IsNoSpace())
    return {errc::resource_exhausted, "the disk is full: " + s.ToString()};
  if (s.IsCorruption())
    return {errc::internal, "the store's data is damaged: " + s.ToString()};
  if (s.IsNotSupported() && h.read_only)  // a write to a store opened read-only
    return {h.full ? errc::resource_exhausted : errc::unavailable,
            std::string(h.full ? "the disk is full" : "the disk failed")
              + ": the store takes no writes until it recovers (" + s.ToString() + ")"};
  return {errc::unavailable, s.ToString()};
}

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
    const db_handles& operator*() const noexcept { return *h_; }

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

  std::pair<int64_t, int64_t> bucket_of(int64_t t, telemetry::resolution r) {
    auto& c = cache[static_cast<std::size_t>(r)];
    if (t >= c.start && t < c.end)
      return {c.start, c.end};
    time_point tp{std::chrono::milliseconds{t}};
    c.start = telemetry::bucket_start(tp, r, opts.tz).time_since_epoch().count();
    c.end = telemetry::bucket_end(tp, r, opts.tz).time_since_epoch().count();
    return {c.start, c.end};
  }
};

}  // namespace plantd::store
