#include "model/alarms/alarm_book.hpp"

#include <set>

namespace plantd::alarms {

const char* to_string(severity s) noexcept {
  switch (s) {
    case severity::info: return "info";
    case severity::warning: return "warning";
    case severity::major: return "major";
    case severity::critical: return "critical";
  }
  return "?";
}

std::vector<alarm> alarm_book::update(const std::vector<condition>& now, int64_t t_ms) {
  std::vector<alarm> changed;
  std::set<std::pair<std::string, std::string>> holding;
  for (const auto& c : now) {
    auto key = std::make_pair(c.code, c.device);
    if (!holding.insert(key).second)
      continue;
    if (open_.count(key))
      continue;
    alarm a;
    a.id = next_id_++;
    a.code = c.code;
    a.device = c.device;
    a.level = c.level;
    a.text = c.text;
    a.raised_ms = t_ms;
    alarms_[a.id] = a;
    open_[key] = a.id;
    changed.push_back(a);
  }
  for (auto it = open_.begin(); it != open_.end();) {
    if (holding.count(it->first)) {
      ++it;
      continue;
    }
    auto& a = alarms_[it->second];
    a.cleared_ms = t_ms;
    changed.push_back(a);
    it = open_.erase(it);
  }
  return changed;
}

expected<alarm, errc> alarm_book::acknowledge(uint64_t id, const std::string& who, int64_t t_ms) {
  auto it = alarms_.find(id);
  if (it == alarms_.end())
    return unexpected{errc::not_found};
  if (!it->second.acked_ms) {
    it->second.acked_ms = t_ms;
    it->second.acked_by = who;
  }
  return it->second;
}

std::vector<alarm> alarm_book::list(const filter& f) const {
  std::vector<alarm> out;
  for (auto it = alarms_.upper_bound(f.after_id); it != alarms_.end() && out.size() < f.limit;
       ++it) {
    const auto& a = it->second;
    if (f.state == filter::which::open && !a.open())
      continue;
    if (f.state == filter::which::closed && a.open())
      continue;
    if (!f.device.empty() && a.device != f.device)
      continue;
    out.push_back(a);
  }
  return out;
}

void alarm_book::restore(std::vector<alarm> records) {
  for (auto& a : records) {
    next_id_ = std::max(next_id_, a.id + 1);
    if (a.open())
      open_[{a.code, a.device}] = a.id;
    alarms_[a.id] = std::move(a);
  }
}

std::size_t alarm_book::open_count() const {
  return open_.size();
}

}  // namespace plantd::alarms
