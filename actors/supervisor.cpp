#include "actors/supervisor.hpp"

#include "actors/realtime.hpp"

#include <cmath>
#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <map>
#include <numeric>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include "actors/device_actors.hpp"
#include "actors/errors.hpp"
#include "model/common/backoff.hpp"
#include "model/telemetry/latency.hpp"
#include "model/io/contacts.hpp"
#include "model/plant/validate.hpp"

namespace plantd::actors {

// What a device actor is started with: a changed spec restarts it.
using device_spec = std::variant<cabinet_actor_args, line_actor_args, io_actor_args>;

struct child {
  std::string name;
  device_spec spec;
  uint64_t uid = 0;  // names its pending restart across reconfigurations
  caf::actor handle;
  backoff retry;
  int restarts = 0;
};

struct supervisor_state {
  supervisor_args args;
  std::unique_ptr<dispatch::dispatcher> dispatcher;
  dispatch::state dstate;
  std::string manual_owner;  // who set dstate.manual
  dispatch::snapshot snap;
  std::vector<cabinet_sample> cabinets;
  // The last power commanded per cabinet and when it changed: until a sample
  // newer than the change arrives, the command is the better estimate of the
  // cabinet's power (the grid meter is polled faster than the cabinets).
  std::vector<double> commanded_w;
  std::vector<time_point> commanded_at;
  std::vector<inverter_sample> inverters;
  // The PV limit last commanded (a share of each inverter's rating) and when.
  double pv_commanded_fraction = 1.0;
  time_point pv_commanded_at{};
  std::vector<std::size_t> inverter_child;  // child index per PV inverter
  meter_sample grid;
  meter_sample pv_meter;
  bool have_pv_meter = false;
  std::map<std::string, meter_sample> sub_meters;  // by device id, as configured
  io_sample io;
  bool have_io = false;
  std::vector<child> children;
  std::vector<std::size_t> cabinet_child;  // child index per cabinet
  std::optional<std::size_t> io_child;
  uint64_t next_uid = 1;
  // Replacements waiting for the actor they replace to be gone (by its
  // address): the child's uid.
  std::map<caf::actor_addr, uint64_t> start_after;
  // The I/O lines and the config they were opened from (reused while it
  // does not change).
  std::shared_ptr<dio::line_source> io_lines;
  std::string io_lines_from;
  dispatch::decision last;
  uint64_t decisions = 0;
  // Handles of every device actor started, shared with the exit functor.
  std::shared_ptr<std::vector<caf::actor>> live_children;
  // What the plant summary remembers (silent cabinets, a cut uplink).
  plant::summary_memory summary;
  // Whether another Modbus master writes a cabinet's setpoint, by cabinet id.
  struct foreign_watch {
    bool confirmed = false;  // a read-back has matched what plantd wrote
    int mismatches = 0;      // read-backs in a row that did not
    bool locked = false;     // another controller writes: not commanded
    double seen_w = 0, wrote_w = 0;
    std::deque<std::pair<time_point, double>> sent;  // commands, newest last
  };
  std::map<std::string, foreign_watch> foreign;
  telemetry::latency_window latency;  // fast-path latencies, percentiles
  double latency_sum_us = 0;
  std::array<uint64_t, latency_bounds_us.size() + 1> latency_counts{};  // since start
  // The grid-meter reading a fast-path decision answers: its latency is
  // taken once the setpoints are handed to the device actors, before the
  // state is published to listeners and streams.
  std::chrono::steady_clock::time_point fast_read_at{};
  static inline const char* name = "plantd.supervisor";
};

namespace {

using self_ptr = caf::stateful_actor<supervisor_state>*;

bool foreign_locked(const supervisor_state& st, const std::string& id) {
  auto it = st.foreign.find(id);
  return it != st.foreign.end() && it->second.locked;
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
  in.io_ok = st.io.ok;
  in.io_error = st.io.error;
  in.di = st.io.lines.di;
  for (const auto& [id, w] : st.foreign)
    if (w.locked)
      in.foreign[id] = {w.seen_w, w.wrote_w};
  in.decisions = st.decisions;
  auto ps = plant::summarize(in, st.summary);
  ps.latency_p50_us = st.latency.quantile(0.5);
  ps.latency_p99_us = st.latency.quantile(0.99);
  ps.latency_window = st.latency.count();
  ps.latency_sum_us = st.latency_sum_us;
  ps.latency_counts.assign(st.latency_counts.begin(), st.latency_counts.end());
  // The outputs that show the conditions.
  if (st.io_child)
    if (auto& h = st.children[*st.io_child].handle)
      for (auto [channel, closed] : io::alarm_outputs(cfg.io.outputs, ps.conditions))
        self->send(h, output_command{static_cast<int>(channel), closed});
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
  st.snap.io_known = !st.have_io || st.io.ok;
  if (st.have_io && st.io.ok) {
    st.snap.di = st.io.lines.di;
    st.snap.dred = cfg.io.demand_response == plant::demand_response_kind::dred
                     ? io::decode_dred(st.io.lines.dred)
                     : io::dred_order{};
    st.snap.rcr_fraction = cfg.io.demand_response == plant::demand_response_kind::rcr
                             ? io::decode_rcr(st.io.lines.rcr)
                             : 1.0;
  }
  st.last = st.dispatcher->decide(st.snap, st.dstate);
  ++st.decisions;
  if (std::abs(st.last.pv_limit_fraction - st.pv_commanded_fraction) >= 0.001) {
    st.pv_commanded_fraction = st.last.pv_limit_fraction;
    st.pv_commanded_at = now;
  }
  for (std::size_t i = 0; i < st.cabinets.size(); ++i) {
    auto& sent = st.foreign[cfg.cabinets[i].id].sent;
    if (std::abs(st.last.cabinet_w[i] - st.commanded_w[i]) >= 1.0 || sent.empty()) {
      st.commanded_w[i] = st.last.cabinet_w[i];
      st.commanded_at[i] = now;
      sent.emplace_back(now, st.commanded_w[i]);
      while (sent.size() > 64)  // 64 commands: 12 s at the fast path's pace
        sent.pop_front();
    }
  }
  for (std::size_t i = 0; i < st.cabinet_child.size(); ++i)
    if (auto& h = st.children[st.cabinet_child[i]].handle) {
      if (!foreign_locked(st, cfg.cabinets[i].id))
        self->send(h, cabinet_command{st.last.cabinet_w[i], st.last.cabinet_run[i]});
      else if (!st.last.cabinet_run[i])  // a safety stop reaches it all the same
        self->send(h, cabinet_command{0, false});
    }
  for (std::size_t i = 0; i < st.inverter_child.size(); ++i)
    if (auto& h = st.children[st.inverter_child[i]].handle)
      self->send(h, inverter_command{static_cast<uint32_t>(i), st.last.inverter_limit_percent[i]});
  if (st.io_child && cfg.policies.export_limit.trip_output != 0)
    if (auto& h = st.children[*st.io_child].handle)
      self->send(h, output_command{static_cast<int>(cfg.policies.export_limit.trip_output),
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

template <class F, class... Ts>
caf::actor spawn_device(self_ptr self, F fn, Ts&&... xs) {
  if (self->state.args.detached_devices)
    return self->spawn<caf::detached>(fn, std::forward<Ts>(xs)...);
  return self->spawn(fn, std::forward<Ts>(xs)...);
}

bool same_device(const device_spec& a, const device_spec& b) {
  if (a.index() != b.index())
    return false;
  if (const auto* x = std::get_if<cabinet_actor_args>(&a)) {
    const auto& y = std::get<cabinet_actor_args>(b);
    // Not the index: a cabinet that only moved in the list keeps running
    // (its samples are placed by sender).
    return x->cabinet == y.cabinet && x->table == y.table && x->period == y.period
           && x->device_watchdog == y.device_watchdog && x->bus == y.bus;
  }
  if (const auto* x = std::get_if<line_actor_args>(&a)) {
    const auto& y = std::get<line_actor_args>(b);
    return x->line == y.line && x->first_inverter == y.first_inverter
           && x->grid_meter_period == y.grid_meter_period && x->pv_meter_period == y.pv_meter_period
           && x->inverter_period == y.inverter_period && x->device_watchdog == y.device_watchdog
           && x->fallback_limit_percent == y.fallback_limit_percent && x->bus == y.bus;
  }
  const auto& x = std::get<io_actor_args>(a);
  const auto& y = std::get<io_actor_args>(b);
  return x.lines == y.lines && x.period == y.period;
}

caf::actor start_device(self_ptr self, const device_spec& spec) {
  return std::visit(
    [self](const auto& a) -> caf::actor {
      using T = std::decay_t<decltype(a)>;
      if constexpr (std::is_same_v<T, cabinet_actor_args>)
        return spawn_device(self, cabinet_actor, a);
      else if constexpr (std::is_same_v<T, line_actor_args>)
        return spawn_device(self, line_actor, a);
      else
        return spawn_device(self, io_actor, a);
    },
    spec);
}

// The device actors a config asks for, in config order.
std::vector<std::pair<std::string, device_spec>> plan_devices(self_ptr self,
                                                              const plant::config& cfg) {
  auto& st = self->state;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  std::vector<std::pair<std::string, device_spec>> out;
  // The devices' own fallbacks: whole seconds, rounded up; the inverters'
  // limit is the fail-safe export level as a share of the rated PV (the
  // same for each, as dispatch's fail-safe PV limit).
  auto device_watchdog =
    std::chrono::seconds{(cfg.policies.fail_safe.device_watchdog_ms + 999) / 1000};
  double pv_rated = 0;
  for (const auto& line : cfg.rs485_lines)
    for (const auto& d : line.devices)
      if (d.role == plant::device_role::pv_inverter)
        pv_rated += d.rated_power_w;
  double fallback_percent =
    pv_rated > 0 ? std::clamp(cfg.policies.fail_safe.pv_export_w / pv_rated * 100, 0.0, 100.0) : 0;
  for (std::size_t i = 0; i < cfg.cabinets.size(); ++i) {
    cabinet_actor_args a;
    a.index = static_cast<uint32_t>(i);
    a.cabinet = cfg.cabinets[i];
    a.table = st.args.tables->find(cfg.cabinets[i].point_table);
    a.period = std::chrono::milliseconds{cfg.polling.cabinet_ms};
    a.device_watchdog = device_watchdog;
    a.supervisor = me;
    a.clk = st.args.clk;
    if (st.args.bus_for)
      a.bus = st.args.bus_for(cfg.cabinets[i].id);
    out.emplace_back(cfg.cabinets[i].id, std::move(a));
  }
  uint32_t inverter = 0;
  for (const auto& line : cfg.rs485_lines) {
    line_actor_args a;
    a.line = line;
    a.tables = st.args.tables;
    a.first_inverter = inverter;
    a.grid_meter_period = std::chrono::milliseconds{cfg.polling.grid_meter_ms};
    a.pv_meter_period = std::chrono::milliseconds{cfg.polling.pv_meter_ms};
    a.inverter_period = std::chrono::milliseconds{cfg.polling.inverter_ms};
    a.device_watchdog = device_watchdog;
    a.fallback_limit_percent = fallback_percent;
    a.supervisor = me;
    a.clk = st.args.clk;
    std::string name = plant::to_string(line.port);
    if (st.args.bus_for)
      a.bus = st.args.bus_for(name);
    for (const auto& d : line.devices)
      if (d.role == plant::device_role::pv_inverter)
        ++inverter;
    out.emplace_back(std::move(name), std::move(a));
  }
  // The I/O lines: opened again only when where they are changes.
  auto lines = st.args.io_lines;
  if (!lines) {
    std::string from;
    if (cfg.io.modbus_gateway)
      from = fmt::format("modbus {}:{}/{}", cfg.io.modbus_gateway->host,
                         cfg.io.modbus_gateway->port, cfg.io.modbus_gateway->unit_id);
    else if (!cfg.io.gpio_chip.empty())
      from = "gpio " + cfg.io.gpio_chip;
    if (from == st.io_lines_from && (st.io_lines || from.empty())) {
      lines = st.io_lines;
    } else if (cfg.io.modbus_gateway) {
      auto bus = st.args.bus_for ? st.args.bus_for("io")
                                 : open_bus(*cfg.io.modbus_gateway, std::chrono::milliseconds{500},
                                            *st.args.clk, "io");
      lines = dio::modbus_lines(*st.args.tables->find("plantd-io"), std::move(bus),
                                static_cast<uint8_t>(cfg.io.modbus_gateway->unit_id));
    } else if (!cfg.io.gpio_chip.empty()) {
      auto opened = dio::gpio_lines(cfg.io.gpio_chip);
      if (opened)
        lines = std::move(*opened);
      else
        st.io.error = opened.error();
    }
    st.io_lines = lines;
    st.io_lines_from = from;
  }
  // I/O the config uses but that cannot be opened counts as unknown (the
  // stop inputs then stop the plant, with an alarm), never as absent.
  bool needs_io = cfg.io.demand_response != plant::demand_response_kind::none;
  for (const auto& in : cfg.io.inputs)
    needs_io = needs_io || in.function != plant::input_function::none;
  for (const auto& o : cfg.io.outputs)
    needs_io = needs_io || o.function != plant::output_function::none;
  st.have_io = lines != nullptr || needs_io;
  if (!lines && needs_io) {
    st.io.ok = false;
    if (st.io.error.empty())
      st.io.error = "the I/O lines cannot be opened";
  }
  if (lines)
    out.emplace_back(
      "io", io_actor_args{lines, std::chrono::milliseconds{cfg.polling.io_ms}, me, st.args.clk});
  return out;
}

// Stops a device actor taken out of the config or replaced: a cabinet is
// told to go to 0 W first. Still monitored: its down message starts the
// replacement, so the two never share a bus or a line.
caf::actor_addr retire_device(self_ptr self, child& c) {
  if (!c.handle)
    return {};
  auto addr = c.handle.address();
  if (std::holds_alternative<cabinet_actor_args>(c.spec))
    self->send(c.handle, retire_atom_v);
  else
    self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  c.handle = nullptr;
  return addr;
}

// Brings the device actors and the per-device state in line with `cfg`
// (st.args.cfg is still the config they ran with): an actor whose spec is
// unchanged keeps running, a changed one is restarted, a new one started,
// one no longer configured stopped. Samples and commands carry over by
// device id.
device_changes reconcile(self_ptr self, const plant::config& cfg, bool initial) {
  auto& st = self->state;
  device_changes changes;
  auto specs = plan_devices(self, cfg);
  std::vector<child> next;
  std::vector<bool> taken(st.children.size(), false);
  auto start = [self, &st](child& c) {
    c.handle = start_device(self, c.spec);
    self->monitor(c.handle);
    if (st.live_children)
      st.live_children->push_back(c.handle);
  };
  for (auto& [name, spec] : specs) {
    child c;
    c.name = name;
    c.spec = std::move(spec);
    c.retry = backoff{st.args.restart_initial, st.args.restart_max};
    auto old = std::find_if(st.children.begin(), st.children.end(), [&](const child& o) {
      return o.name == name && !taken[static_cast<std::size_t>(&o - st.children.data())];
    });
    if (old != st.children.end()) {
      taken[static_cast<std::size_t>(old - st.children.begin())] = true;
      if (same_device(old->spec, c.spec)) {
        next.push_back(std::move(*old));
        continue;
      }
      c.restarts = old->restarts;
      c.uid = st.next_uid++;
      changes.restarted.push_back(name);
      if (auto was = retire_device(self, *old)) {
        st.start_after[was] = c.uid;  // once the old one is gone
        next.push_back(std::move(c));
        continue;
      }
    } else {
      c.uid = st.next_uid++;
      if (!initial)
        changes.started.push_back(name);
    }
    start(c);
    next.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < st.children.size(); ++i)
    if (!taken[i]) {
      retire_device(self, st.children[i]);
      changes.stopped.push_back(st.children[i].name);
    }
  st.children = std::move(next);
  auto child_named = [&st](const std::string& name) {
    for (std::size_t i = 0; i < st.children.size(); ++i)
      if (st.children[i].name == name)
        return i;
    return st.children.size();
  };
  // Per-cabinet state, carried over by id.
  const auto& old_cfg = st.args.cfg;
  std::vector<cabinet_sample> cabinets(cfg.cabinets.size());
  std::vector<double> commanded_w(cfg.cabinets.size(), 0);
  std::vector<time_point> commanded_at(cfg.cabinets.size(), time_point{});
  bool same_cabinets = !initial && old_cfg.cabinets.size() == cfg.cabinets.size();
  st.cabinet_child.clear();
  for (std::size_t i = 0; i < cfg.cabinets.size(); ++i) {
    if (!initial)
      for (std::size_t j = 0; j < old_cfg.cabinets.size() && j < st.cabinets.size(); ++j)
        if (old_cfg.cabinets[j].id == cfg.cabinets[i].id) {
          cabinets[i] = st.cabinets[j];
          commanded_w[i] = st.commanded_w[j];
          commanded_at[i] = st.commanded_at[j];
        }
    if (same_cabinets && old_cfg.cabinets[i].id != cfg.cabinets[i].id)
      same_cabinets = false;
    cabinets[i].index = static_cast<uint32_t>(i);
    st.cabinet_child.push_back(child_named(cfg.cabinets[i].id));
  }
  st.cabinets = std::move(cabinets);
  st.commanded_w = std::move(commanded_w);
  st.commanded_at = std::move(commanded_at);
  st.snap.cabinets.assign(cfg.cabinets.size(), {});
  for (std::size_t i = 0; i < cfg.cabinets.size(); ++i)
    st.snap.cabinets[i].rated_power_w = cfg.cabinets[i].rated_power_w;
  if (!same_cabinets) {  // per-cabinet SOC locks start again
    st.dstate.soc_low_lock.clear();
    st.dstate.soc_high_lock.clear();
  }
  // Per-inverter state, carried over by id.
  std::vector<std::string> old_inverters;
  for (const auto& line : old_cfg.rs485_lines)
    for (const auto& d : line.devices)
      if (d.role == plant::device_role::pv_inverter)
        old_inverters.push_back(d.id);
  std::vector<inverter_sample> inverters;
  st.snap.inverters.clear();
  st.inverter_child.clear();
  st.have_pv_meter = false;
  for (const auto& line : cfg.rs485_lines)
    for (const auto& d : line.devices) {
      if (d.role == plant::device_role::pv_inverter) {
        inverter_sample s;
        if (!initial)
          for (std::size_t j = 0; j < old_inverters.size() && j < st.inverters.size(); ++j)
            if (old_inverters[j] == d.id)
              s = st.inverters[j];
        s.index = static_cast<uint32_t>(inverters.size());
        inverters.push_back(s);
        st.snap.inverters.push_back({false, d.rated_power_w, 0});
        st.inverter_child.push_back(child_named(plant::to_string(line.port)));
      }
      if (d.role == plant::device_role::pv_meter)
        st.have_pv_meter = true;
    }
  // Sub-meters by id: kept across a change, new ones start with no reading.
  std::map<std::string, meter_sample> subs;
  for (const auto& line : cfg.rs485_lines)
    for (const auto& d : line.devices)
      if (d.role == plant::device_role::sub_meter) {
        auto it = st.sub_meters.find(d.id);
        if (it != st.sub_meters.end()) {
          subs[d.id] = it->second;
        } else {
          meter_sample none;
          none.role = d.role;
          none.id = d.id;
          none.time = st.args.clk->now();
          none.import_wh = {};
          subs[d.id] = none;
        }
      }
  st.sub_meters = std::move(subs);
  st.inverters = std::move(inverters);
  st.io_child.reset();
  if (auto i = child_named("io"); i < st.children.size())
    st.io_child = i;
  // A child waiting for its restart (it failed before the change) keeps
  // its place: its pending restart names it by uid.
  return changes;
}

// A cabinet's setpoint read back: twice in a row not what plantd wrote
// (once plantd has seen its own value there) means another controller
// writes it; plantd then stops commanding that cabinet until an installer
// acknowledges the alarm.
void watch_setpoint(self_ptr self, std::size_t i) {
  auto& st = self->state;
  const auto& s = st.cabinets[i];
  const auto& cab = st.args.cfg.cabinets[i];
  auto& w = st.foreign[cab.id];
  // Only a read-back of a register plantd has written since the cabinet
  // (re)connected says anything.
  if (w.locked || !s.ok || !s.setpoint_known || !s.wrote_since_connect || w.sent.empty())
    return;
  // Ours: any command sent over the last poll period and a half before the
  // read (the cabinet actor writes only the newest of a burst, and a read
  // may come just before a write), and the one in force before them.
  auto from = s.time - std::chrono::milliseconds{st.args.cfg.polling.cabinet_ms * 3 / 2 + 500};
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (auto it = w.sent.rbegin(); it != w.sent.rend(); ++it) {
    if (it->first > s.time)
      continue;
    lo = std::min(lo, it->second);
    hi = std::max(hi, it->second);
    if (it->first < from)
      break;
  }
  if (lo > hi)
    return;
  double tolerance = std::max(1'000.0, 0.02 * cab.rated_power_w);
  if (s.setpoint_w >= lo - tolerance && s.setpoint_w <= hi + tolerance) {
    w.confirmed = true;
    w.mismatches = 0;
    return;
  }
  if (w.confirmed && ++w.mismatches >= 2) {
    w.locked = true;
    w.seen_w = s.setpoint_w;
    w.wrote_w = st.commanded_w[i];
  }
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

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, supervisor_args args) {
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
          c.handle = start_device(self, c.spec);
          self->monitor(c.handle);
          if (st.live_children)
            st.live_children->push_back(c.handle);
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
      if (auto it = st.foreign.find(cabinet); it != st.foreign.end()) {
        it->second.locked = false;
        it->second.mismatches = 0;
        it->second.sent.clear();
      }
      decide(self);
      for (std::size_t i = 0; i < st.cabinet_child.size(); ++i)
        if (st.args.cfg.cabinets[i].id == cabinet)
          if (auto& h = st.children[st.cabinet_child[i]].handle)
            self->send(h, cabinet_command{st.last.cabinet_w[i], st.last.cabinet_run[i], true});
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
      auto& c = *it;
      c.handle = start_device(self, c.spec);
      self->monitor(c.handle);
      if (st.live_children)
        st.live_children->push_back(c.handle);
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

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args) {
  // On a thread of its own, like the device actors: a fast-path decision
  // never waits for a scheduler worker busy with an energy-carbon request.
  if (args.detached_devices)
    return sys.spawn<caf::detached>(supervisor, std::move(args));
  return sys.spawn(supervisor, std::move(args));
}

}  // namespace plantd::actors
