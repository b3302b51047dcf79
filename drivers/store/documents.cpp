#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "drivers/store/store.hpp"
#include "drivers/store/store_impl.hpp"

namespace plantd::store {

std::string digest_of(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

namespace {

// A failed file operation as the store's error: no room is the disk's.
error file_error(int err, std::string message) {
  return {err == ENOSPC || err == EDQUOT ? errc::resource_exhausted : errc::unavailable,
          std::move(message)};
}

// Writes `path` whole or not at all: a temporary file, fsync, rename, fsync
// of the directory.
expected<void, error> write_file_atomically(const std::filesystem::path& path,
                                            std::string_view bytes) {
  auto sync_dir = [](const std::filesystem::path& dir) {
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
      return false;
    bool ok = ::fsync(d) == 0;
    int e = errno;
    ::close(d);
    errno = e;  // the caller reports the fsync's
    return ok;
  };
  std::error_code ec;
  if (std::filesystem::create_directories(path.parent_path(), ec))
    sync_dir(path.parent_path().parent_path());  // the new folder's entry is durable too
  if (ec)
    return unexpected{file_error(
      ec.value(), fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()))};
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;  // before anything else can change it
    return unexpected{
      file_error(e, fmt::format("cannot write {}: {}", tmp.string(), std::strerror(e)))};
  }
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int code = n < 0 ? errno : ENOSPC;  // no progress: no room
      std::string err = n < 0 ? std::strerror(errno) : "no progress";
      ::close(fd);
      ::unlink(tmp.c_str());
      return unexpected{file_error(code, fmt::format("cannot write {}: {}", tmp.string(), err))};
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  int code = synced ? 0 : errno;
  if (::close(fd) != 0 && synced)
    synced = false, code = errno;
  if (!synced) {
    ::unlink(tmp.c_str());
    return unexpected{
      file_error(code, fmt::format("cannot write {}: {}", tmp.string(), std::strerror(code)))};
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return unexpected{
      file_error(ec.value(), fmt::format("cannot replace {}: {}", path.string(), ec.message()))};
  }
  if (!sync_dir(path.parent_path())) {
    int e = errno;  // before anything else can change it
    return unexpected{file_error(
      e, fmt::format("cannot sync {}: {}", path.parent_path().string(), std::strerror(e)))};
  }
  return {};
}

}  // namespace

namespace {
std::string digest_key(std::string_view name) {
  return fmt::format("document/{}/digest", name);
}
}  // namespace

expected<void, error> store::put_document(std::string_view name, std::string_view bytes,
                                          std::string_view audit_key,
                                          std::string_view audit_record) {
  auto h = impl_->use();
  if (name.empty() || name.find('/') != std::string_view::npos || name.front() == '.')
    return unexpected{error{errc::invalid_argument, fmt::format("bad document name '{}'", name)}};
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
    return unexpected{failure_of(s, *h)};
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

expected<void, error> store::adopt_document(std::string_view name, std::string_view bytes,
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
    return unexpected{failure_of(s, *h)};
  return {};
}

expected<std::optional<std::string>, error> store::get_document(std::string_view name) const {
  auto path = impl_->dir / "documents" / std::string(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return std::optional<std::string>{};
  if (fd < 0) {
    int e = errno;  // before anything else can change it
    return unexpected{
      file_error(e, fmt::format("cannot read {}: {}", path.string(), std::strerror(e)))};
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return unexpected{
        error{errc::unavailable, fmt::format("cannot read {}: {}", path.string(), err)}};
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>{std::move(out)};
}

}  // namespace plantd::store
