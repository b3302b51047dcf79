#include "drivers/store/energy_records.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "drivers/store/store.hpp"
#include "drivers/store/store_impl.hpp"

namespace plantd::store::energy_records {

namespace {

std::optional<uint64_t> hex_number(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

std::optional<double> number(std::string_view s) {
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    return std::nullopt;
  return v;
}

std::optional<int64_t> integer(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::string one_line(std::string_view x) {
  std::string s(x);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

std::string hex16(uint64_t v) {
  return fmt::format("{:016x}", v);
}

std::string hours_of(std::string_view id) {
  return fmt::format("{}{}/", all_hours, id);
}

std::string hour_key(std::string_view id, int64_t index) {
  return hours_of(id) + hex16(static_cast<uint64_t>(index));
}

std::string encode_hour(const reading& r) {
  return fmt::format("{}\n{}", r.value, static_cast<int>(r.quality));
}

std::optional<reading> decode_hour_value(std::string_view v) {
  auto nl = v.find('\n');
  if (nl == std::string_view::npos)
    return std::nullopt;
  auto value = number(v.substr(0, nl));
  auto q = integer(v.substr(nl + 1));
  if (!value || !q || *q < 0 || *q > static_cast<int>(quality::invalid))
    return std::nullopt;
  return reading{*value, static_cast<quality>(*q)};
}

std::optional<hour_record> decode_hour(std::string_view k, std::string_view v) {
  if (!k.starts_with(all_hours))
    return std::nullopt;
  auto slash = k.rfind('/');
  if (slash <= all_hours.size())
    return std::nullopt;
  auto idx = hex_number(k.substr(slash + 1));
  auto r = decode_hour_value(v);
  if (!idx || !r)
    return std::nullopt;
  return hour_record{k.substr(all_hours.size(), slash - all_hours.size()),
                     static_cast<int64_t>(*idx), *r};
}

std::string day_text(absl::CivilDay d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

std::string entries_of(std::string_view id) {
  return fmt::format("{}{}/", all_entries, id);
}

std::string entries_of(std::string_view id, absl::CivilDay day) {
  return entries_of(id) + day_text(day) + "/";
}

std::string entry_key(std::string_view id, absl::CivilDay day, uint64_t seq) {
  return entries_of(id, day) + hex16(seq);
}

std::string encode_entry(const daily_entry& e) {
  return fmt::format("{}\n{}\n{}\n{}", e.value, e.entered_ms, one_line(e.who), e.note);
}

std::optional<daily_entry> decode_entry(std::string_view key, std::string_view v) {
  // entry/<id>/<YYYY-MM-DD>/<seq>: the id may hold a slash, the rest not.
  if (!key.starts_with(all_entries))
    return std::nullopt;
  auto seq_slash = key.rfind('/');
  if (seq_slash == std::string_view::npos || seq_slash <= all_entries.size())
    return std::nullopt;
  auto day_slash = key.rfind('/', seq_slash - 1);
  if (day_slash == std::string_view::npos || day_slash <= all_entries.size())
    return std::nullopt;
  daily_entry e;
  e.id = std::string(key.substr(all_entries.size(), day_slash - all_entries.size()));
  if (!absl::ParseCivilTime(std::string(key.substr(day_slash + 1, seq_slash - day_slash - 1)),
                            &e.day))
    return std::nullopt;
  auto nl1 = v.find('\n');
  auto nl2 = nl1 == std::string_view::npos ? nl1 : v.find('\n', nl1 + 1);
  auto nl3 = nl2 == std::string_view::npos ? nl2 : v.find('\n', nl2 + 1);
  if (nl3 == std::string_view::npos)
    return std::nullopt;
  auto value = number(v.substr(0, nl1));
  auto entered = integer(v.substr(nl1 + 1, nl2 - nl1 - 1));
  if (!value || !entered)
    return std::nullopt;
  e.value = *value;
  e.entered_ms = *entered;
  e.who = std::string(v.substr(nl2 + 1, nl3 - nl2 - 1));
  e.note = std::string(v.substr(nl3 + 1));
  return e;
}

uint64_t entry_seq(std::string_view key) {
  auto slash = key.rfind('/');
  return slash == std::string_view::npos ? 0 : hex_number(key.substr(slash + 1)).value_or(0);
}

std::string readings_of(std::string_view meter) {
  return fmt::format("{}{}/", all_readings, meter);
}

std::string reading_key(std::string_view meter, int64_t t_ms) {
  return readings_of(meter) + hex16(static_cast<uint64_t>(t_ms));
}

int64_t reading_time(std::string_view key) {
  auto slash = key.rfind('/');
  if (slash == std::string_view::npos)
    return 0;
  return static_cast<int64_t>(hex_number(key.substr(slash + 1)).value_or(0));
}

std::string encode_reading(const logged_reading& e) {
  return e.swap ? fmt::format("s {} {} {}", e.in, e.out, e.prev)
                : fmt::format("r {} {}", e.in, e.prev);
}

std::optional<logged_reading> decode_reading(int64_t t, std::string_view v) {
  std::string s(v);
  logged_reading e;
  e.t = t;
  long long prev = 0;
  if (s.starts_with("s ")) {
    if (std::sscanf(s.c_str(), "s %lf %lf %lld", &e.in, &e.out, &prev) != 3)
      return std::nullopt;
    e.swap = true;
  } else if (s.starts_with("r ")) {
    if (std::sscanf(s.c_str(), "r %lf %lld", &e.in, &prev) != 2)
      return std::nullopt;
    e.out = e.in;
  } else {
    return std::nullopt;
  }
  e.prev = prev;
  return e;
}

std::string counter_key(std::string_view meter) {
  return fmt::format("counter/{}", meter);
}

std::string encode_counter(int64_t t_ms, double counter) {
  return fmt::format("{}\n{}", t_ms, counter);
}

std::optional<std::pair<int64_t, double>> decode_counter(std::string_view v) {
  auto nl = v.find('\n');
  if (nl == std::string_view::npos)
    return std::nullopt;
  auto t = integer(v.substr(0, nl));
  auto c = number(v.substr(nl + 1));
  if (!t || !c)
    return std::nullopt;
  return std::pair{*t, *c};
}

std::string journal_key(uint64_t seq) {
  return fmt::format("{}{}", all_journal, hex16(seq));
}

std::optional<uint64_t> journal_seq(std::string_view key) {
  if (!key.starts_with(all_journal))
    return std::nullopt;
  return hex_number(key.substr(all_journal.size()));
}

std::string audit_key(int64_t t_ms, uint64_t seq) {
  return fmt::format("{}{}/{}", all_audit, hex16(static_cast<uint64_t>(t_ms)), hex16(seq));
}

std::string audit_record(std::string_view who, std::string_view what, std::string_view before,
                         std::string_view after) {
  if (before.empty() && after.empty())
    return fmt::format("{}\n{}", one_line(who), one_line(what));
  return fmt::format("{}\n{}\n{}\n{}", one_line(who), one_line(what), one_line(before),
                     one_line(after));
}

std::optional<audit_entry> decode_audit(std::string_view k, std::string_view v) {
  // energy/<time hex16>/<seq hex16>
  if (!k.starts_with(all_audit) || k.size() < all_audit.size() + 16)
    return std::nullopt;
  auto t = hex_number(k.substr(all_audit.size(), 16));
  if (!t)
    return std::nullopt;
  audit_entry a;
  a.time_ms = static_cast<int64_t>(*t);
  std::string* fields[] = {&a.who, &a.what, &a.before, &a.after};
  std::size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    auto nl = i < 3 ? v.find('\n', start) : std::string_view::npos;
    *fields[i] = std::string(v.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos)
      break;
    start = nl + 1;
  }
  return a;
}

}  // namespace plantd::store::energy_records

namespace plantd::store {

expected<void, error> store::put_energy(const std::vector<std::pair<std::string, std::string>>& kvs,
                                        std::string_view audit_key, std::string_view audit_record,
                                        bool durable) {
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
    return unexpected{failure_of(s, *h)};
  return {};
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

}  // namespace plantd::store
