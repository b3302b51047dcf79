#include <rocksdb/write_batch.h>

#include "drivers/store/store.hpp"
#include "drivers/store/store_impl.hpp"

namespace plantd::store {

namespace {

std::string config_info_key(uint64_t version) {
  std::string k = "config/info/";
  put_be64(k, static_cast<int64_t>(version));
  return k;
}

}  // namespace

expected<void, error> store::put_config(uint64_t version, std::string_view bytes,
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
    return unexpected{failure_of(s, *h)};
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

}  // namespace plantd::store
