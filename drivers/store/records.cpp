#include <charconv>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "drivers/store/store.hpp"
#include "drivers/store/store_impl.hpp"

namespace plantd::store {

namespace {

// An alarm: "1" (the layout) and its fields, separated by US (0x1f).
constexpr char sep = '\x1f';

std::string encode_alarm(const alarms::alarm& a) {
  return fmt::format("1{0}{1}{0}{2}{0}{3}{0}{4}{0}{5}{0}{6}{0}{7}{0}{8}", sep, a.code, a.device,
                     static_cast<int>(a.level), a.text, a.raised_ms,
                     a.cleared_ms ? std::to_string(*a.cleared_ms) : "",
                     a.acked_ms ? std::to_string(*a.acked_ms) : "", a.acked_by);
}

std::optional<int64_t> integer(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::optional<alarms::alarm> decode_alarm(uint64_t id, std::string_view bytes) {
  std::vector<std::string_view> f;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= bytes.size(); ++i)
    if (i == bytes.size() || bytes[i] == sep) {
      f.push_back(bytes.substr(start, i - start));
      start = i + 1;
    }
  if (f.size() != 9 || f[0] != "1")
    return std::nullopt;
  alarms::alarm a;
  a.id = id;
  a.code = f[1];
  a.device = f[2];
  auto level = integer(f[3]);
  auto raised = integer(f[5]);
  if (!level || !raised)
    return std::nullopt;
  a.level = static_cast<alarms::severity>(*level);
  a.text = f[4];
  a.raised_ms = *raised;
  if (!f[6].empty()) {
    a.cleared_ms = integer(f[6]);
    if (!a.cleared_ms)
      return std::nullopt;
  }
  if (!f[7].empty()) {
    a.acked_ms = integer(f[7]);
    if (!a.acked_ms)
      return std::nullopt;
  }
  a.acked_by = f[8];
  return a;
}

}  // namespace

namespace {

std::string state_key(store::state_record r) {
  switch (r) {
    case store::state_record::uplink_cursor: return "state/uplink/cursor";
    case store::state_record::uplink_lost: return "state/uplink/lost";
    case store::state_record::uplink_rejected: return "state/uplink/rejected";
  }
  return "state/unknown";
}

}  // namespace

expected<void, error> store::put_state(state_record r, std::string_view bytes) {
  auto h = impl_->use();
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  // Not counted in the store's health: the writer of telemetry judges that.
  auto s = h->db->Put(wo, h->meta(), state_key(r), rocksdb::Slice{bytes.data(), bytes.size()});
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
  return {};
}

expected<std::optional<std::string>, error> store::get_state(state_record r) const {
  auto h = impl_->use();
  std::string v;
  auto s = h->db->Get({}, h->meta(), state_key(r), &v);
  if (s.IsNotFound())
    return std::optional<std::string>{};
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
  return std::optional<std::string>{std::move(v)};
}

expected<void, error> store::put_alarm(const alarms::alarm& a) {
  auto h = impl_->use();
  std::string k;
  put_be64(k, static_cast<int64_t>(a.id));
  auto bytes = encode_alarm(a);
  auto s = impl_->counted(h->db->Put({}, h->alarms(), k, bytes));
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
  return {};
}

std::vector<alarms::alarm> store::alarms(std::string* error, std::size_t* undecodable) const {
  auto h = impl_->use();
  std::vector<alarms::alarm> out;
  std::size_t unreadable = 0;
  std::unique_ptr<rocksdb::Iterator> it{h->db->NewIterator({}, h->alarms())};
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto a = it->key().size() == 8 ? decode_alarm(static_cast<uint64_t>(get_be64(it->key().data())),
                                                  it->value().ToStringView())
                                   : std::nullopt;
    if (a)
      out.push_back(std::move(*a));
    else
      ++unreadable;
  }
  if (error && !it->status().ok())
    *error = status_text(it->status());
  if (undecodable)
    *undecodable = unreadable;
  return out;
}

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

expected<void, error> store::put_access(const std::vector<access_write>& batch) {
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
    return unexpected{failure_of(s, *h)};
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

expected<void, error> store::append_call_audit(uint64_t seq, std::string_view bytes) {
  auto h = impl_->use();
  auto s = impl_->counted(
    h->db->Put({}, h->audit(), call_audit_key(seq), rocksdb::Slice{bytes.data(), bytes.size()}));
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
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

expected<void, error> store::trim_call_audit(uint64_t keep) {
  auto last = last_call_audit_seq();
  if (last <= keep)
    return {};
  auto h = impl_->use();
  auto s = impl_->counted(
    h->db->DeleteRange({}, h->audit(), call_audit_key(0), call_audit_key(last - keep + 1)));
  if (!s.ok())
    return unexpected{failure_of(s, *h)};
  return {};
}

}  // namespace plantd::store
