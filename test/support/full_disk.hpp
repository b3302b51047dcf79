// A disk that fills up on command: a RocksDB file system over the real one
// that, while `full` is set, refuses every new file and every append with
// ENOSPC ("No space left on device") and reports no free space (or, while
// `failing`, with EIO). Deterministic
// stand-in for a full flash disk in store tests.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace plantd::test {

struct disk {
  std::atomic<bool> full{false};
  // Failing instead: writes refused with EIO ("Input/output error"), with
  // room on the disk.
  std::atomic<bool> failing{false};
  std::atomic<uint64_t> refused{0};  // writes refused while full or failing

  rocksdb::IOStatus check(const std::string& what = {}) {
    if (failing) {
      ++refused;
      return rocksdb::IOStatus::IOError("Input/output error (test disk failing)", what);
    }
    if (!full)
      return rocksdb::IOStatus::OK();
    ++refused;
    return rocksdb::IOStatus::NoSpace("No space left on device (test disk full)", what);
  }
};

namespace detail {

class full_file final : public rocksdb::FSWritableFileOwnerWrapper {
public:
  full_file(std::unique_ptr<rocksdb::FSWritableFile> f, std::shared_ptr<disk> d)
    : FSWritableFileOwnerWrapper(std::move(f)),
      d_(std::move(d)) {}

  using Base = rocksdb::FSWritableFileOwnerWrapper;
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    auto s = d_->check();
    return s.ok() ? Base::Append(data, o, dbg) : s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    auto s = d_->check();
    return s.ok() ? Base::Append(data, o, v, dbg) : s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    auto s = d_->check();
    return s.ok() ? Base::PositionedAppend(data, offset, o, dbg) : s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& v,
                                     rocksdb::IODebugContext* dbg) override {
    auto s = d_->check();
    return s.ok() ? Base::PositionedAppend(data, offset, o, v, dbg) : s;
  }
  rocksdb::IOStatus Allocate(uint64_t offset, uint64_t len, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
    auto s = d_->check();
    return s.ok() ? Base::Allocate(offset, len, o, dbg) : s;
  }

private:
  std::shared_ptr<disk> d_;
};

class full_fs final : public rocksdb::FileSystemWrapper {
public:
  full_fs(std::shared_ptr<rocksdb::FileSystem> base, std::shared_ptr<disk> d)
    : FileSystemWrapper(std::move(base)),
      d_(std::move(d)) {}
  const char* Name() const override { return "plantd.test.full_fs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = d_->check(f);
    return s.ok() ? wrap(r, target()->NewWritableFile(f, o, r, dbg)) : s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    auto s = d_->check(f);
    return s.ok() ? wrap(r, target()->ReopenWritableFile(f, o, r, dbg)) : s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    auto s = d_->check(f);
    return s.ok() ? wrap(r, target()->ReuseWritableFile(f, old, o, r, dbg)) : s;
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = d_->check(f);
    return s.ok() ? target()->NewRandomRWFile(f, o, r, dbg) : s;
  }
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o,
                                 uint64_t* free, rocksdb::IODebugContext* dbg) override {
    if (d_->full) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, o, free, dbg);
  }

private:
  rocksdb::IOStatus wrap(std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IOStatus s) {
    if (s.ok())
      *r = std::make_unique<full_file>(std::move(*r), d_);
    return s;
  }
  std::shared_ptr<disk> d_;
};

}  // namespace detail

// An Env writing through `d`: store_options::env (keep it alive longer
// than the store).
inline std::unique_ptr<rocksdb::Env> env_on(std::shared_ptr<disk> d) {
  return rocksdb::NewCompositeEnv(
    std::make_shared<detail::full_fs>(rocksdb::FileSystem::Default(), std::move(d)));
}

}  // namespace plantd::test
