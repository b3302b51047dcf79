// The RocksDB store of plantd: telemetry series (raw points and rollups),
// the applied configuration with its version history, alarms, access
// records, the energy-carbon records and documents.
//
// Column families:
//   series   key series id (u32 BE) + hour start ms (i64 BE, UTC-aligned)
//            -> the hour's raw points as blocks (model/telemetry/chunk.hpp):
//            a write merges one block per series and hour; the merge
//            operator joins them into one ordered block (about 2 bytes a
//            point after compression for a 1-s meter series)
//   rollups  key series id + resolution (u8) + bucket start ms -> aggregate,
//            kept by a merge operator in the same write batch as the raw
//            points (atomic: a crash never leaves rollups and raw apart)
//   meta     series names -> ids, state records, document digests
//   config   config version (u64 BE) -> serialized config
//   alarms   alarm id (u64 BE) -> alarm record
//   audit    who changed what, when (energy-carbon model and entries; API calls)
//   energy   daily entries and hourly meter consumption of the energy-carbon
//            model (drivers/store/energy_records.hpp: their keys and values)
//   access   accounts, sessions, API tokens and installer codes
//
// Documents (files in <dir>/documents/): the energy-carbon model.
//
// One class, implemented by concern: db.cpp (opening, health, recovery,
// memory and disk), series.cpp, documents.cpp, energy_records.cpp,
// config_history.cpp and records.cpp (state, alarms, access, call audit).
// No key of the store is built or parsed outside drivers/store.
//
// Rollup buckets follow the site's time zone (DST included). Writes with the
// WAL on: a write that returned is on disk (sync on request).
//
// Thread: write() from one writer (the store actor); reads from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/alarms/alarm_book.hpp"
#include "model/common/errc.hpp"
#include "model/common/expected.hpp"
#include "model/common/quality.hpp"
#include "model/telemetry/chunk.hpp"
#include "model/telemetry/rollup.hpp"

namespace rocksdb {
class Env;
}

namespace plantd::store {

// Why the store refused a call: `code` says what the caller can do (a full
// disk is resource_exhausted, a failing one unavailable, damaged data
// internal, a store of another layout failed_precondition), `message` why.
struct error {
  errc code = errc::unavailable;
  std::string message;
};

struct point {
  uint32_t series = 0;
  int64_t t_ms = 0;
  double value = 0;
  quality q = quality::measured;
};

using stored_point = telemetry::sample;

struct bucket {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  telemetry::aggregate agg;
};

// Raw points as columns: the i-th point is (t_ms[i], value[i], q[i]).
struct raw_columns {
  std::vector<int64_t> t_ms;
  std::vector<double> value;
  std::vector<quality> q;
  std::vector<telemetry::sample> hour;  // decoding scratch, kept with the columns
  std::size_t size() const noexcept { return t_ms.size(); }
};

struct store_options {
  absl::TimeZone tz = absl::UTCTimeZone();
  bool sync = false;  // fsync the WAL on every write
  // A degraded store resumes once this much of its disk is free.
  uint64_t resume_free_bytes = 16u << 20;
  // Tests: the file system RocksDB writes through (one that fails on demand).
  rocksdb::Env* env = nullptr;
  // Bounded memory and disk whatever the write pattern: one block cache
  // and one write-buffer budget for every column family (memtables are
  // charged to the cache), and a bounded write-ahead log - past
  // max_wal_bytes RocksDB flushes the families that hold the oldest log
  // file, so it can go (a family written once a day, like the config
  // history, used to keep every log file since).
  std::size_t cache_bytes = 32u << 20;
  std::size_t write_buffer_bytes = 16u << 20;
  uint64_t max_wal_bytes = 32u << 20;
};

// A full or failing disk degrades the store instead of stopping plantd:
// writes are refused (and counted) while reads go on; started on a full
// disk, the store is opened read-only. recover() takes writes again once
// the disk has room, without a restart.
struct store_health {
  bool degraded = false;
  bool read_only = false;       // opened read-only (a start on a full disk)
  uint64_t refused_writes = 0;  // since open
  std::string error;            // why it is degraded
};

class store {
public:
  // Opens (or creates) the store in `dir`; why not when it cannot.
  static expected<std::unique_ptr<store>, std::string> open(const std::filesystem::path& dir,
                                                            store_options opts = {});
  ~store();

  // The id of series `name`, created (and persisted) on first use.
  expected<uint32_t, error> series_id(std::string_view name);
  std::optional<uint32_t> find_series(std::string_view name) const;
  std::vector<std::pair<std::string, uint32_t>> series() const;

  // Raw points and their rollups in one atomic batch. Quality missing or
  // invalid points are stored raw but left out of the rollups.
  expected<void, error> write(const std::vector<point>& batch);

  // Raw points in [from, to), at most `limit`. `error` (when given) is set
  // when part of the range could not be read (a failing disk, a damaged
  // hour): the points returned are then not all there are.
  std::vector<stored_point> raw(uint32_t series, int64_t from_ms, int64_t to_ms,
                                std::size_t limit = SIZE_MAX, std::string* error = nullptr) const;
  // The same points as columns, into `out`: it is cleared first and keeps
  // its capacity, so a reader that reuses it reads a day without touching
  // fresh memory (each new page costs a fault).
  void raw_into(uint32_t series, int64_t from_ms, int64_t to_ms, std::size_t limit,
                raw_columns& out, std::string* error = nullptr) const;
  // Rollup buckets starting in [from, to).
  std::vector<bucket> rollup(uint32_t series, telemetry::resolution r, int64_t from_ms,
                             int64_t to_ms) const;

  // Retention: removes raw points older than `t_ms` (rollups stay).
  // Call it from the writer's thread: the hour holding t is rewritten.
  expected<void, error> drop_raw_before(int64_t t_ms);

  // plantd's own small records (the uplink's cursor and counters), one of
  // each; safe from any thread. nullopt: never put; an error: it cannot be
  // read.
  enum class state_record : uint8_t {
    uplink_cursor,    // everything stored before it was acknowledged (ms)
    uplink_lost,      // points retention removed before the uplink sent them
    uplink_rejected,  // samples the receiver refused for good
  };
  expected<void, error> put_state(state_record r, std::string_view bytes);
  expected<std::optional<std::string>, error> get_state(state_record r) const;

  // Alarm records, by id (a record again replaces it).
  expected<void, error> put_alarm(const alarms::alarm& a);
  // Every alarm record, by id. `error` (when given) is set when part could
  // not be read (a failing disk): the records returned are then not all
  // there are. `undecodable`: records passed over as not an alarm this
  // plantd reads.
  std::vector<alarms::alarm> alarms(std::string* error = nullptr,
                                    std::size_t* undecodable = nullptr) const;

  // Energy-carbon records (key -> bytes; an empty value deletes the key),
  // written atomically with one audit record (skipped when audit_key is
  // empty). `durable`: on the disk when it returns (the write-ahead log
  // synced), whatever the store's sync option (a change of the model).
  expected<void, error> put_energy(const std::vector<std::pair<std::string, std::string>>& kvs,
                                   std::string_view audit_key = {},
                                   std::string_view audit_record = {}, bool durable = false);
  // The records under `prefix`, in key order, at most `limit`.
  std::vector<std::pair<std::string, std::string>> scan_energy(std::string_view prefix,
                                                               std::size_t limit = SIZE_MAX) const;
  // The same, one record at a time without copying them all first (years
  // of hourly inputs); `fn` returns false to stop. Returns the records seen.
  // `from` (a key under `prefix`): start there instead of at the first.
  std::size_t
  each_energy(std::string_view prefix,
              const std::function<bool(std::string_view key, std::string_view value)>& fn,
              std::string_view from = {}) const;
  std::optional<std::string> get_energy(std::string_view key) const;
  // The last record under `prefix` whose key is before `key`.
  std::optional<std::pair<std::string, std::string>> energy_before(std::string_view prefix,
                                                                   std::string_view key) const;
  std::vector<std::pair<std::string, std::string>> audit(std::string_view prefix) const;

  // Access records: accounts, sessions, API tokens and installer codes, by
  // kind and id (the encoding is the caller's). Written together in one
  // atomic batch; an empty value deletes the record.
  enum class access_kind : uint8_t { user, session, token, code };
  struct access_write {
    access_kind kind;
    std::string id;
    std::string bytes;  // empty: delete
  };
  expected<void, error> put_access(const std::vector<access_write>& batch);
  // Every record of a kind: (id, bytes) in id order.
  std::vector<std::pair<std::string, std::string>> access_records(access_kind kind) const;

  // The audit of API calls, numbered by the caller in increasing order.
  expected<void, error> append_call_audit(uint64_t seq, std::string_view bytes);
  // Newest first, below `before` (0: from the newest); `fn` returns false
  // to stop.
  void each_call_audit(uint64_t before,
                       const std::function<bool(uint64_t seq, std::string_view bytes)>& fn) const;
  // The highest seq written (0: none).
  uint64_t last_call_audit_seq() const;
  // Keeps the newest `keep` records (the audit stays bounded).
  expected<void, error> trim_call_audit(uint64_t keep);

  // Documents: large values written whole (the energy model of an
  // enterprise is megabytes), kept as files beside the database so they
  // never sit in a memtable or the block cache. A document is replaced
  // atomically (temporary file, fsync, rename). Its audit record goes
  // first, in one write with the digest of the new bytes; when the file
  // cannot be written the record is taken back. A stop in between leaves a
  // record of a change the file does not have: document_current tells.
  expected<void, error> put_document(std::string_view name, std::string_view bytes,
                                     std::string_view audit_key = {},
                                     std::string_view audit_record = {});
  // The document; nullopt when there is none; an error when it exists but
  // cannot be read.
  expected<std::optional<std::string>, error> get_document(std::string_view name) const;
  // Whether `bytes` (the document as read) are what its last put_document
  // recorded; true when nothing was recorded (a store from before digests).
  bool document_current(std::string_view name, std::string_view bytes) const;
  // Records `bytes` as the document's current content with an audit record
  // (after a stop between a change's record and its file: the file wins).
  expected<void, error> adopt_document(std::string_view name, std::string_view bytes,
                                       std::string_view audit_key, std::string_view audit_record);

  // Configuration history. `source`: the config file the version was made
  // from (only its digest is kept), when it is one; a version made by the
  // API on top of it leaves the recorded source as it was.
  // `info`: who made the version and how (the caller's encoding), kept with it.
  // The newest config_versions_kept versions are kept.
  expected<void, error> put_config(uint64_t version, std::string_view bytes,
                                   std::optional<std::string_view> source = std::nullopt,
                                   std::string_view info = {});
  static constexpr uint64_t config_versions_kept = 1000;
  // One version as put; nullopt when it is not (or no longer) kept.
  std::optional<std::string> config_version(uint64_t version) const;
  struct config_entry {
    uint64_t version = 0;
    std::string info;  // empty when none was recorded
  };
  // Versions older than `before` (0: from the newest), newest first.
  std::vector<config_entry> config_history(uint64_t before, std::size_t limit) const;
  // Whether the newest version made from a file was made from `source`: a
  // start with an unchanged file runs the latest version (with the changes
  // made through the API); an edited file becomes a new version.
  bool config_source_is(std::string_view source) const;
  std::optional<std::pair<uint64_t, std::string>> latest_config() const;

  // For measurements: compacts everything, reports the live SST bytes of the
  // series column family.
  // Flushes every column family and compacts the series.
  void compact();
  // The live write-ahead log files' bytes.
  uint64_t wal_bytes() const;
  // What the database takes on disk: live SST files of every family and
  // the live write-ahead log (the disk budget counts this).
  uint64_t disk_bytes() const;
  // The start of the oldest hour holding raw points (nullopt: none).
  std::optional<int64_t> oldest_raw_ms() const;
  uint64_t series_disk_bytes() const;

  // Where the database's memory goes, summed over every family.
  struct memory_use {
    uint64_t memtables = 0;      // active, immutable and pinned memtables
    uint64_t block_cache = 0;    // the shared cache's charge (memtables' reservation included)
    uint64_t pinned_blocks = 0;  // cache entries held by readers
    uint64_t table_readers = 0;  // index and filter blocks outside the cache
  };
  memory_use memory() const;

  const absl::TimeZone& tz() const noexcept;

  store_health health() const;
  // When degraded and resume_free_bytes are free: resumes the database (or
  // closes and opens it again, read-write). Call it from the writer's
  // thread, now and then; cheap when healthy.
  store_health recover();

private:
  struct impl;
  explicit store(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace plantd::store
