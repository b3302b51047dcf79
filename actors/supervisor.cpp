#include "actors/supervisor.hpp"

#include <algorithm>
#include <cmath>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "actors/errors.hpp"
#include "actors/realtime.hpp"
#include "actors/supervisor_state.hpp"
#include "model/io/contacts.hpp"
#include "model/io/demand_response.hpp"

namespace plantd::actors {

namespace {

bool foreign_locked(const supervisor_state& st, const std::string& id) {
  auto it = st.foreign.find(id);
  return it != st.foreign.end() && it->second.locked();
}

void publish(self_ptr self) {
  auto& st = self->state;
  const auto& cfg = st.args.cfg;
  plant::summary_input in;
  in.cfg = &cfg;
  in.snap = &st.snap;
  in.last = &st.last;
  in.dstate = &st.dstate;
  in.cabinets = &st.cabinets;
  in.inverters = &st.inverters;
  in.grid = &st.grid;
  in.pv_meter = st.have_pv_meter ? &st.pv_meter : nullptr;
  in.sub_meters = &st.sub_meters;
  in.io_present = st.have_io;
  // The DRED / RCR port and the contacts are read apart; either unread is
  // the I/O unknown.
  bool dr_ok = !st.have_demand_response || st.demand_response.ok;
  in.io_ok = st.io.ok && dr_ok;
  in.io_error = !st.io.ok ? st.io.error : dr_ok ? "" : st.demand_response.error;
  in.di = st.io.lines.di;
  for (const auto& [id, w] : st.foreign)
    if (w.locked())
      in.foreign[id] = {w.seen_w(), w.wrote_w()};
  in.decisions = st.decisions;
  auto ps = plant::summarize(in, st.summary);
  ps.latency_p50_us = st.latency.quantile(0.5);
  ps.latency_p99_us = st.latency.quantile(0.99);
  ps.latency_window = st.latency.count();
  ps.latency_sum_us = st.latency_sum_us;
  ps.latency_counts.assign(st.latency_counts.begin(), st.latency_counts.end());
  // The outputs that show the conditions.
  if (st.io_child && st.children[*st.io_child].handle) {
    auto io = as<io_api>(st.children[*st.io_child]);
    for (auto [channel, closed] : io::alarm_outputs(cfg.io.outputs, ps.conditions))
      self->send(io, output_command{static_cast<int>(channel), closed});
  }
  for (const auto& l : st.args.listeners)
    self->send(l, ps);
  if (st.args.hub)
    st.args.hub->publish(std::move(ps));
}

void decide(self_ptr self) {
  auto& st = self->state;
  const auto& cfg = st.args.cfg;
  auto now = st.args.clk->now();
  st.snap.now = now;
  st.snap.calendar = st.args.calendar ? st.args.calendar->now() : now;
  auto cabinet_stale = std::chrono::milliseconds{cfg.policies.fail_safe.cabinet_stale_ms};
  for (std::size_t i = 0; i < st.cabinets.size(); ++i) {
    st.snap.cabinets[i] = st.cabinets[i].input;
    // A sample stamped after now is not fresh either: the clock was set
    // back (SetTime), and a silent device must not look fresh for the step.
    st.snap.cabinets[i].fresh = st.cabinets[i].ok && st.cabinets[i].time <= now
                                && now - st.cabinets[i].time <= cabinet_stale
                                && !foreign_locked(st, cfg.cabinets[i].id);
    if (st.cabinets[i].time < st.commanded_at[i])
      st.snap.cabinets[i].power_w = st.commanded_w[i];
  }
  auto inverter_stale = std::chrono::milliseconds{3 * cfg.polling.inverter_ms};
  for (std::size_t i = 0; i < st.inverters.size(); ++i) {
    st.snap.inverters[i].fresh = st.inverters[i].ok && st.inverters[i].time <= now
                                 && now - st.inverters[i].time <= inverter_stale;
    st.snap.inverters[i].power_w = st.inverters[i].power_w;
    // Read before the last limit change (inverters are polled every second,
    // the grid meter five times as often): the limit is the better estimate
    // of what the inverter gives, as the command is for a cabinet. Without
    // this a stale full-power reading lifts a curtailment just made, and
    // export swings between none and all of the PV. (Dispatch raises a
    // limit only once the grid meter has seen the last change.)
    if (st.inverters[i].time < st.pv_commanded_at)
      st.snap.inverters[i].power_w = st.snap.inverters[i].rated_power_w * st.pv_commanded_fraction;
  }
  bool dr_ok = !st.have_demand_response || st.demand_response.ok;
  st.snap.io_known = !st.have_io || (st.io.ok && dr_ok);
  if (st.have_io && st.io.ok)
    st.snap.di = st.io.lines.di;
  if (st.have_io && st.have_demand_response && st.demand_response.ok) {
    st.snap.dred = cfg.io.demand_response == plant::demand_response_kind::dred
                     ? io::decode_dred(st.demand_response.dred)
                     : io::dred_order{};
    st.snap.rcr_fraction = cfg.io.demand_response == plant::demand_response_kind::rcr
                             ? io::decode_rcr(st.demand_response.rcr)
                             : 1.0;
  } else if (!st.have_demand_response) {
    st.snap.dred = {};
    st.snap.rcr_fraction = 1.0;
  }
  st.last = st.dispatcher->decide(st.snap, st.dstate);
  ++st.decisions;
  if (std::abs(st.last.pv_limit_fraction - st.pv_commanded_fraction) >= 0.001) {
    st.pv_commanded_fraction = st.last.pv_limit_fraction;
    st.pv_commanded_at = now;
  }
  for (std::size_t i = 0; i < st.cabinets.size(); ++i) {
    auto& watch = st.foreign[cfg.cabinets[i].id];
    if (std::abs(st.last.cabinet_w[i] - st.commanded_w[i]) >= 1.0 || !watch.any_sent()) {
      st.commanded_w[i] = st.last.cabinet_w[i];
      st.commanded_at[i] = now;
      watch.sent(now, st.commanded_w[i]);
    }
  }
  for (std::size_t i = 0; i < st.cabinet_child.size(); ++i)
    if (const auto& c = st.children[st.cabinet_child[i]]; c.handle) {
      if (!foreign_locked(st, cfg.cabinets[i].id))
        self->send(as<cabinet_api>(c),
                   cabinet_command{st.last.cabinet_w[i], st.last.cabinet_run[i]});
      else if (!st.last.cabinet_run[i])  // a safety stop reaches it all the same
        self->send(as<cabinet_api>(c), cabinet_command{0, false});
    }
  for (std::size_t i = 0; i < st.inverter_child.size(); ++i)
    if (const auto& c = st.children[st.inverter_child[i]]; c.handle)
      self->send(as<inverter_api>(c),
                 inverter_command{static_cast<uint32_t>(i), st.last.inverter_limit_percent[i]});
  if (st.io_child && cfg.policies.export_limit.trip_output != 0)
    if (const auto& c = st.children[*st.io_child]; c.handle)
      self->send(as<io_api>(c),
                 output_command{static_cast<int>(cfg.policies.export_limit.trip_output),
                                st.last.trip_output});
  if (st.fast_read_at != std::chrono::steady_clock::time_point{}) {
    auto us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - st.fast_read_at)
        .count();
    st.latency.record(us);
    st.latency_sum_us += us;
    auto bucket = static_cast<std::size_t>(
      std::lower_bound(latency_bounds_us.begin(), latency_bounds_us.end(), us)
      - latency_bounds_us.begin());
    ++st.latency_counts[bucket];
    st.fast_read_at = {};
  }
  publish(self);
}

// A cabinet's setpoint read back (plant::setpoint_watch).
void watch_setpoint(self_ptr self, std::size_t i) {
  auto& st = self->state;
  const auto& s = st.cabinets[i];
  if (!s.ok || !s.setpoint_known)
    return;
  const auto& cab = st.args.cfg.cabinets[i];
  st.foreign[cab.id].read({s.time, s.setpoint_w, s.wrote_since_connect},
                          std::chrono::milliseconds{st.args.cfg.polling.cabinet_ms},
                          cab.rated_power_w, st.commanded_w[i]);
}

// Whether the message being handled comes from a device actor that is
// running now (not one stopped by a reconfiguration, whose last samples
// may still be in the mailbox).
bool from_running_device(self_ptr self) {
  const auto& sender = self->current_sender();
  if (!sender)
    return false;
  for (const auto& c : self->state.children)
    if (c.handle && c.handle.address() == sender->address())
      return true;
  return false;
}

}  // namespace

supervisor_api::behavior_type supervisor(self_ptr self, supervisor_args args) {
  auto& st = self->state;
  st.args = std::move(args);
  // The device actors it starts are spawned from this thread and inherit
  // its scheduling: the whole control path, meters to setpoints.
  if (st.args.realtime && st.args.detached_devices)
    make_this_thread_realtime();  // else it keeps the actor threads' nice level
  st.dispatcher = std::make_unique<dispatch::dispatcher>(st.args.cfg);
  // On exit, stop the device actors. The functor runs after the actor's
  // state is gone, so it must not touch self->state: it takes the handles
  // when they start, through `live`.
  auto live = std::make_shared<std::vector<caf::actor>>();
  st.live_children = live;
  reconcile(self, st.args.cfg, true);
  self->attach_functor([live] {
    for (auto& h : *live)
      if (h)
        caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (auto it = st.start_after.find(msg.source); it != st.start_after.end()) {
      // A replaced device actor is gone: its successor starts.
      auto uid = it->second;
      st.start_after.erase(it);
      for (auto& c : st.children)
        if (c.uid == uid && !c.handle) {
          start_child(self, c);
        }
      return;
    }
    for (std::size_t i = 0; i < st.children.size(); ++i) {
      auto& c = st.children[i];
      if (!c.handle || c.handle.address() != msg.source)
        continue;
      c.handle = nullptr;
      auto now = st.args.clk->now();
      c.retry.failed(now);
      ++c.restarts;
      auto delay = c.retry.not_before() - now;
      self->delayed_send(self, delay, restart_atom_v, c.uid);
    }
  });
  self->send(self, tick_atom_v);
  return {
    [self](const cabinet_sample& s) {
      // Placed by sender: a cabinet that moved in the list keeps its actor.
      auto& st = self->state;
      const auto& sender = self->current_sender();
      if (!sender)
        return;
      for (std::size_t i = 0; i < st.cabinet_child.size(); ++i) {
        const auto& h = st.children[st.cabinet_child[i]].handle;
        if (h && h.address() == sender->address()) {
          st.cabinets[i] = s;
          st.cabinets[i].index = static_cast<uint32_t>(i);
          watch_setpoint(self, i);
          return;
        }
      }
    },
    [self](const meter_sample& s) {
      auto& st = self->state;
      if (!from_running_device(self))
        return;
      if (s.role == plant::device_role::grid_meter) {
        st.grid = s;
        if (s.power_w.usable()) {
          st.snap.grid_w = s.power_w;
          st.snap.grid_time = s.time;
        }
        st.fast_read_at = s.read_at;
        decide(self);  // the fast path
      } else if (s.role == plant::device_role::sub_meter) {
        if (auto it = st.sub_meters.find(s.id); it != st.sub_meters.end())
          it->second = s;
      } else {
        st.pv_meter = s;
      }
    },
    [self](const inverter_sample& s) {
      auto& st = self->state;
      if (s.index < st.inverters.size() && from_running_device(self))
        st.inverters[s.index] = s;
    },
    [self](const io_sample& s) {
      if (from_running_device(self))
        self->state.io = s;
    },
    [self](const demand_response_sample& s) {
      if (from_running_device(self))
        self->state.demand_response = s;
    },
    [self](tick_atom) {
      decide(self);
      self->delayed_send(self,
                         std::chrono::milliseconds{self->state.args.cfg.polling.control_cycle_ms},
                         tick_atom_v);
    },
    [self](restart_atom, const std::string& name) -> caf::result<bool> {
      // Operations: stop a device actor; it is restarted like a crashed one.
      for (auto& c : self->state.children)
        if (c.name == name && c.handle) {
          self->send_exit(c.handle, caf::exit_reason::kill);
          return true;
        }
      return caf::make_error(errc::not_found, "no device actor \"" + name + "\"");
    },
    [self](reset_atom) {
      self->state.dstate.reset_trip();
      decide(self);
      return true;
    },
    [self](reset_atom, const std::string& cabinet) {
      // The foreign-controller alarm acknowledged: command it again, written
      // anew (the register may hold the other controller's value), and
      // watched as before (a controller still there locks it again).
      auto& st = self->state;
      if (auto it = st.foreign.find(cabinet); it != st.foreign.end())
        it->second.release();
      decide(self);
      for (std::size_t i = 0; i < st.cabinet_child.size(); ++i)
        if (st.args.cfg.cabinets[i].id == cabinet)
          if (const auto& c = st.children[st.cabinet_child[i]]; c.handle)
            self->send(as<cabinet_api>(c),
                       cabinet_command{st.last.cabinet_w[i], st.last.cabinet_run[i], true});
      return true;
    },
    [self](caf::get_atom, restart_atom) {
      uint64_t total = 0;
      for (const auto& c : self->state.children)
        total += static_cast<uint64_t>(c.restarts);
      return total;
    },
    [self](restart_atom, uint64_t uid) {
      auto& st = self->state;
      auto it = std::find_if(st.children.begin(), st.children.end(),
                             [uid](const child& c) { return c.uid == uid; });
      if (it == st.children.end() || it->handle)
        return;  // reconfigured since: stopped, or started again
      start_child(self, *it);
    },
    [self](caf::get_atom, state_atom) -> caf::result<plant_state> {
      auto [latest, seq] = self->state.args.hub->latest();
      if (!latest)
        return caf::make_error(errc::unavailable, std::string{"no decision yet"});
      return *latest;
    },
    [self](apply_atom, const std::shared_ptr<const plant::config>& next) {
      // A validated config (the config actor's): devices first, then the
      // policies, and a decision under them at once.
      auto& st = self->state;
      auto changes = reconcile(self, *next, false);
      st.args.cfg = *next;
      st.dispatcher = std::make_unique<dispatch::dispatcher>(st.args.cfg);
      decide(self);
      return changes;
    },
    [self](manual_atom, double power_w, int64_t duration_ms,
           const std::string& owner) -> caf::result<bool> {
      auto& st = self->state;
      double rated = 0;
      for (const auto& c : st.args.cfg.cabinets)
        rated += c.rated_power_w;
      // A commissioning run's hold and an operator's setpoint do not
      // overwrite each other.
      auto now = st.args.clk->now();
      bool held = st.dstate.manual && now < st.dstate.manual->expires;
      if (held && owner != st.manual_owner) {
        if (st.manual_owner == commissioning_owner)
          return caf::make_error(errc::aborted,
                                 std::string{"a commissioning run holds the battery for its CT "
                                             "test: wait for its report"});
        if (owner == commissioning_owner)
          return caf::make_error(
            errc::failed_precondition,
            fmt::format(
              "a manual setpoint of {:.0f} W by {} holds the battery for {} s more: "
              "clear it (plantctl setpoint clear) to run the CT test",
              st.dstate.manual->power_w, st.manual_owner,
              std::chrono::duration_cast<std::chrono::seconds>(st.dstate.manual->expires - now)
                .count()));
      }
      if (duration_ms == 0) {
        st.dstate.manual.reset();
        st.manual_owner.clear();
      } else {
        if (!std::isfinite(power_w) || std::abs(power_w) > rated)
          return caf::make_error(
            errc::invalid_argument,
            fmt::format("power_w: {} W is beyond the plant's rated {} W", power_w, rated));
        if (duration_ms < 0 || duration_ms > 24 * 3600 * 1000)
          return caf::make_error(errc::invalid_argument,
                                 std::string{"duration: 1 ms .. 24 h, or 0 to clear"});
        st.dstate.manual = dispatch::manual_setpoint{
          power_w, st.args.clk->now() + std::chrono::milliseconds{duration_ms}};
        st.manual_owner = owner;
      }
      decide(self);
      return true;
    },
  };
}

supervisor_api spawn_supervisor(caf::actor_system& sys, supervisor_args args) {
  // On a thread of its own, like the device actors: a fast-path decision
  // never waits for a scheduler worker busy with an energy-carbon request.
  if (args.detached_devices)
    return sys.spawn<caf::detached>(supervisor, std::move(args));
  return sys.spawn(supervisor, std::move(args));
}

}  // namespace plantd::actors
