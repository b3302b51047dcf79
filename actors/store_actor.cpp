#include "actors/store_actor.hpp"
#include "actors/uplink_actor.hpp"

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>
#include <charconv>
#include <absl/time/time.h>
#include <fmt/format.h>

namespace plantd::actors {

std::vector<std::pair<std::string, double>> telemetry_points(const plant_state& s,
                                                             std::vector<quality>* q) {
  std::vector<std::pair<std::string, double>> out;
  auto add = [&](std::string name, double v, quality qu) {
    out.emplace_back(std::move(name), v);
    q->push_back(qu);
  };
  add("plant.grid_w", s.grid_w.value, s.grid_w.quality);
  add("plant.pv_w", s.pv_w.value, s.pv_w.quality);
  add("plant.load_w", s.load_w.value, s.load_w.quality);
  add("plant.battery_w", s.battery_w, quality::measured);
  add("plant.battery_setpoint_w", s.battery_setpoint_w, quality::estimated);
  add("plant.soc_percent", s.soc_percent.value, s.soc_percent.quality);
  add("plant.pv_limit_percent", s.pv_limit_percent, quality::estimated);
  // Directional powers and the grid meter's counters, for energy curves.
  add("plant.grid_import_w", std::max(0.0, s.grid_w.value), s.grid_w.quality);
  add("plant.grid_export_w", std::max(0.0, -s.grid_w.value), s.grid_w.quality);
  add("plant.battery_discharge_w", std::max(0.0, s.battery_w), quality::measured);
  add("plant.battery_charge_w", std::max(0.0, -s.battery_w), quality::measured);
  if (s.grid_import_wh.quality != quality::missing) {
    add("meter.grid.import_wh", s.grid_import_wh.value, s.grid_import_wh.quality);
    add("meter.grid.export_wh", s.grid_export_wh.value, s.grid_export_wh.quality);
  }
  for (const auto& c : s.cabinets) {
    auto qu = c.available ? quality::measured : quality::missing;
    add(fmt::format("cabinet.{}.power_w", c.id), c.power_w, qu);
    add(fmt::format("cabinet.{}.soc_percent", c.id), c.soc_percent, qu);
  }
  for (const auto& i : s.inverters)
    add(fmt::format("inverter.{}.power_w", i.id), i.power_w,
        i.available ? quality::measured : quality::missing);
  return out;
}

namespace {

// Raw points about to be removed that the uplink has not sent yet (its
// cursor is older): counted before the removal, added to the uplink's lost
// count once it succeeded (lost_to_uplink).
uint64_t unsent_before(const store::store& db, int64_t cut_ms) {
  auto v = db.get_state(uplink_cursor_key);
  int64_t cursor = 0;
  if (!v || !*v
      || std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), cursor).ec != std::errc{}
      || cursor >= cut_ms)
    return 0;
  return count_raw(db, cursor, cut_ms);
}

void lost_to_uplink(store::store& db, uint64_t n) {
  if (n == 0)
    return;
  if (auto before = read_counter(db, uplink_lost_key))  // never rewritten from a failed read
    (void)db.put_state(uplink_lost_key, std::to_string(*before + n));
}

}  // namespace

store_api::behavior_type store_actor(store_api::pointer self, store_actor_args args) {
  struct ctx {
    store_actor_args a;
    std::vector<store::point> pending;
    time_point last_record{};
    time_point last_retention{};
    time_point last_budget{};
    int64_t budget_cut_ms = 0;  // raw points before it went for the budget
    uint64_t disk_bytes = 0;
    uint64_t budget_removed = 0;
    bool reported_budget = false;
    bool budget_exhausted = false;  // over budget with no raw points left to remove

    // Within the disk budget: the oldest day of raw points per check
    // (never the last hour), followed by a compaction that gives the space
    // back; a store still over budget loses the next day a minute later.
    // Raw points the uplink had not sent are counted as lost to it. With
    // no raw points left to remove, or none freeing space, it is exhausted.
    void keep_budget(time_point now) {
      disk_bytes = a.db->disk_bytes();
      if (disk_bytes <= a.max_disk_bytes) {
        budget_exhausted = false;
        return;
      }
      constexpr int64_t hour = 3'600'000;
      const int64_t newest_cut = (now - std::chrono::hours{1}).time_since_epoch().count();
      auto oldest = a.db->oldest_raw_ms();
      if (!oldest || *oldest >= newest_cut / hour * hour) {
        budget_exhausted = true;
        return;
      }
      int64_t cut = std::min<int64_t>(*oldest + 24 * hour, newest_cut);
      auto n = count_raw(*a.db, *oldest, cut);
      auto unsent = unsent_before(*a.db, cut);
      if (auto r = a.db->drop_raw_before(cut); !r) {
        last_error = r.error().message;
        return;
      }
      lost_to_uplink(*a.db, unsent);
      a.db->compact();
      budget_removed += n;
      budget_cut_ms = std::max(budget_cut_ms, cut);
      auto after = a.db->disk_bytes();
      budget_exhausted = after >= disk_bytes && after > a.max_disk_bytes;
      disk_bytes = after;
    }
    uint64_t written = 0;
    uint64_t failed = 0;
    std::string last_error;
    bool reported_failing = false;

    // Writes what is pending; false when the write failed (the batch is
    // dropped rather than kept growing: control never waits for the disk).
    bool flush() {
      if (pending.empty())
        return true;
      auto r = a.write ? a.write(pending) : a.db->write(pending);
      // Every point recorded so far is written (or dropped): the uplink may
      // send up to here.
      if (a.stored_through)
        a.stored_through->store(last_record.time_since_epoch().count() + 1,
                                std::memory_order_release);
      bool ok = r.has_value();
      if (ok) {
        written += pending.size();
      } else {
        ++failed;
        last_error = r.error().message;
      }
      pending.clear();
      return ok;
    }
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  self->delayed_send(self, c->a.flush_interval, tick_atom_v);
  return {
    [c](const plant_state& s) {
      if (s.time - c->last_record < c->a.record_period)
        return;
      c->last_record = s.time;
      std::vector<quality> qs;
      auto pts = telemetry_points(s, &qs);
      for (std::size_t i = 0; i < pts.size(); ++i) {
        auto id = c->a.db->series_id(pts[i].first);
        if (!id) {
          ++c->failed;
          c->last_error = id.error().message;
          continue;
        }
        c->pending.push_back({*id, s.time.time_since_epoch().count(), pts[i].second, qs[i]});
      }
    },
    [c](std::vector<store::point>& pts) {
      c->pending.insert(c->pending.end(), pts.begin(), pts.end());
      if (c->pending.size() >= 10'000)
        c->flush();
    },
    [c](flush_atom) {
      c->flush();
      return c->written;
    },
    [self, c](tick_atom) {
      // A degraded store (full or failing disk) takes writes again by itself
      // once there is room; until then batches are dropped and counted.
      auto health = c->a.db->health();
      if (health.degraded)
        health = c->a.db->recover();
      bool failing = !c->flush() || health.degraded;
      if (health.degraded && !health.error.empty())
        c->last_error = health.error;
      std::optional<uint64_t> free_bytes;
      if (!c->a.data_dir.empty()) {
        std::error_code ec;
        auto sp = std::filesystem::space(c->a.data_dir, ec);
        if (!ec)
          free_bytes = sp.available;
      }
      bool disk_full = free_bytes && *free_bytes < c->a.min_free_bytes;
      // Retention: raw points older than the configured days, once an hour.
      auto now = c->a.clk->now();
      if (now - c->last_retention >= std::chrono::hours{1}) {
        c->last_retention = now;
        auto cut = now - std::chrono::hours{24} * c->a.raw_retention_days;
        auto unsent = unsent_before(*c->a.db, cut.time_since_epoch().count());
        if (auto r = c->a.db->drop_raw_before(cut.time_since_epoch().count()); !r) {
          c->last_error = r.error().message;
          failing = true;
        } else {
          lost_to_uplink(*c->a.db, unsent);
        }
      }
      if (c->a.max_disk_bytes > 0 && now - c->last_budget >= std::chrono::minutes{1}) {
        c->last_budget = now;
        c->keep_budget(now);
      }
      auto retention_cut = now - std::chrono::hours{24} * c->a.raw_retention_days;
      bool budget_short =
        c->budget_cut_ms > retention_cut.time_since_epoch().count() || c->budget_exhausted;
      // A failing disk is an alarm; the plant keeps controlling.
      if (c->a.alarms) {
        std::vector<alarms::condition> conds;
        if (c->budget_exhausted)
          conds.push_back({"storage_budget", "plant", alarms::severity::major,
                           fmt::format("the store takes {} MB, over storage.max_disk_mb ({} MB), "
                                       "with no raw telemetry left to remove",
                                       c->disk_bytes >> 20, c->a.max_disk_bytes >> 20)});
        else if (budget_short)
          conds.push_back(
            {"storage_budget", "plant", alarms::severity::warning,
             fmt::format("raw telemetry before {} was removed to keep the store within "
                         "storage.max_disk_mb ({} MB): kept for less than raw_retention_days "
                         "({} d); rollups stay",
                         absl::FormatTime("%Y-%m-%d %H:%M UTC",
                                          absl::FromUnixMillis(c->budget_cut_ms),
                                          absl::UTCTimeZone()),
                         c->a.max_disk_bytes >> 20, c->a.raw_retention_days)});
        if (failing)
          conds.push_back({"storage_fault", "plant", alarms::severity::major,
                           fmt::format("telemetry is not being stored ({} batches dropped): {}",
                                       c->failed, c->last_error)});
        else if (disk_full)
          conds.push_back({"storage_fault", "plant", alarms::severity::major,
                           fmt::format("the data disk is full ({} kB free): telemetry, alarms and "
                                       "energy records will not be stored once the space the store "
                                       "set aside is used",
                                       *free_bytes >> 10)});
        if (failing || disk_full || c->reported_failing || budget_short || c->reported_budget)
          self->send(c->a.alarms, store_atom_v, std::string{"store"}, std::move(conds));
        c->reported_failing = failing || disk_full;
        c->reported_budget = budget_short;
      }
      self->delayed_send(self, c->a.flush_interval, tick_atom_v);
    },
    [c](caf::get_atom, state_atom) {
      return std::make_tuple(c->written, c->failed, c->last_error);
    },
    [c](caf::get_atom, store_atom) { return c->budget_removed; },
  };
}

}  // namespace plantd::actors
