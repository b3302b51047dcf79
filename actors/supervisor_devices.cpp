#include "actors/supervisor_state.hpp"

#include <algorithm>
#include <set>

#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include "model/plant/validate.hpp"

namespace plantd::actors {

namespace {

// Held untyped by its child record (monitored, stopped, matched by
// address); sent to through its kind's interface (as<Api>). On a thread of
// its own (detached) when it blocks on a device (cabinets, bus actors, the
// I/O lines) or is on the fast path (the grid meter): a PV meter,
// sub-meter or inverter only waits for its bus actor's answers and runs on
// the scheduler's workers.
template <class F, class... Ts>
caf::actor spawn_device(self_ptr self, bool own_thread, F fn, Ts&&... xs) {
  if (self->state.args.detached_devices && own_thread)
    return caf::actor_cast<caf::actor>(self->spawn<caf::detached>(fn, std::forward<Ts>(xs)...));
  return caf::actor_cast<caf::actor>(self->spawn(fn, std::forward<Ts>(xs)...));
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
  if (const auto* x = std::get_if<bus_actor_args>(&a)) {
    // Where the line is; its devices are actors of their own.
    const auto& y = std::get<bus_actor_args>(b);
    auto where = [](plant::serial_line l) {
      l.devices.clear();
      return l;
    };
    return where(x->line) == where(y.line) && x->bus == y.bus;
  }
  if (const auto* x = std::get_if<meter_actor_args>(&a)) {
    const auto& y = std::get<meter_actor_args>(b);
    return x->device == y.device && x->table == y.table && x->line == y.line
           && x->period == y.period;
  }
  if (const auto* x = std::get_if<inverter_actor_args>(&a)) {
    // The index too: its samples are placed by it.
    const auto& y = std::get<inverter_actor_args>(b);
    return x->device == y.device && x->table == y.table && x->line == y.line && x->index == y.index
           && x->period == y.period && x->device_watchdog == y.device_watchdog
           && x->fallback_limit_percent == y.fallback_limit_percent;
  }
  if (const auto* x = std::get_if<demand_response_actor_args>(&a)) {
    const auto& y = std::get<demand_response_actor_args>(b);
    return x->lines == y.lines && x->period == y.period;
  }
  const auto& x = std::get<io_actor_args>(a);
  const auto& y = std::get<io_actor_args>(b);
  return x.lines == y.lines && x.period == y.period;
}

// The line a meter or inverter is on (its bus actor's child name), or none.
const std::string* line_of(const device_spec& spec) {
  if (const auto* m = std::get_if<meter_actor_args>(&spec))
    return &m->line;
  if (const auto* i = std::get_if<inverter_actor_args>(&spec))
    return &i->line;
  return nullptr;
}

// `bus`: the running bus actor of a meter's or inverter's line.
caf::actor start_device(self_ptr self, const device_spec& spec, const bus_api& bus) {
  return std::visit(
    [self, &bus](const auto& a) -> caf::actor {
      using T = std::decay_t<decltype(a)>;
      if constexpr (std::is_same_v<T, cabinet_actor_args>) {
        return spawn_device(self, true, cabinet_actor, a);
      } else if constexpr (std::is_same_v<T, bus_actor_args>) {
        return spawn_device(self, true, bus_actor, a);
      } else if constexpr (std::is_same_v<T, meter_actor_args>) {
        auto with = a;
        with.bus = bus;
        bool fast_path = a.device.role == plant::device_role::grid_meter;
        return spawn_device(self, fast_path, meter_actor, std::move(with));
      } else if constexpr (std::is_same_v<T, inverter_actor_args>) {
        auto with = a;
        with.bus = bus;
        return spawn_device(self, false, inverter_actor, std::move(with));
      } else if constexpr (std::is_same_v<T, demand_response_actor_args>) {
        return spawn_device(self, true, demand_response_actor, a);
      } else {
        return spawn_device(self, true, io_actor, a);
      }
    },
    spec);
}

// The device actors a config asks for, in config order.
std::vector<std::pair<std::string, device_spec>> plan_devices(self_ptr self,
                                                              const plant::config& cfg) {
  auto& st = self->state;
  auto me = caf::actor_cast<device_sink>(self);
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
  // Per line: its bus actor, then an actor per meter and inverter on it.
  uint32_t inverter = 0;
  for (const auto& line : cfg.rs485_lines) {
    std::string name = plant::to_string(line.port);
    bus_actor_args b;
    b.line = line;
    b.clk = st.args.clk;
    if (st.args.bus_for)
      b.bus = st.args.bus_for(name);
    out.emplace_back(name, std::move(b));
    for (const auto& d : line.devices) {
      const auto* table = st.args.tables->find(d.point_table);
      if (!table)
        continue;  // validated at start-up; an unknown table is refused there
      if (d.role == plant::device_role::pv_inverter) {
        inverter_actor_args a;
        a.device = d;
        a.table = table;
        a.line = name;
        a.index = inverter++;
        a.period = std::chrono::milliseconds{cfg.polling.inverter_ms};
        a.device_watchdog = device_watchdog;
        a.fallback_limit_percent = fallback_percent;
        a.supervisor = me;
        a.clk = st.args.clk;
        out.emplace_back(d.id, std::move(a));
      } else {
        meter_actor_args a;
        a.device = d;
        a.table = table;
        a.line = name;
        a.period = std::chrono::milliseconds{d.role == plant::device_role::grid_meter
                                               ? cfg.polling.grid_meter_ms
                                               : cfg.polling.pv_meter_ms};
        a.supervisor = me;
        a.clk = st.args.clk;
        out.emplace_back(d.id, std::move(a));
      }
    }
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
  // The dry contacts, and the DRED / RCR port (an actor of its own) when
  // the config reads one.
  st.have_demand_response = cfg.io.demand_response != plant::demand_response_kind::none;
  if (st.have_demand_response && !lines) {
    st.demand_response.ok = false;
    st.demand_response.error = st.io.error;
  }
  if (lines) {
    io_actor_args io{lines, std::chrono::milliseconds{cfg.polling.io_ms}, me, st.args.clk};
    out.emplace_back("io", io);
    if (st.have_demand_response)
      out.emplace_back("demand-response", demand_response_actor_args{io});
  }
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
    self->send(as<cabinet_api>(c), retire_atom_v);
  else
    self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  c.handle = nullptr;
  return addr;
}

}  // namespace

void start_child(self_ptr self, child& c) {
  auto& st = self->state;
  bus_api bus;
  if (const auto* line = line_of(c.spec)) {
    for (const auto& o : st.children)
      if (o.name == *line && std::holds_alternative<bus_actor_args>(o.spec))
        bus = as<bus_api>(o);
    if (!bus) {
      c.waits_for_bus = true;
      return;
    }
  }
  c.waits_for_bus = false;
  c.handle = start_device(self, c.spec, bus);
  self->monitor(c.handle);
  if (st.live_children)
    st.live_children->push_back(c.handle);
  if (std::holds_alternative<bus_actor_args>(c.spec))
    for (auto& o : st.children)
      if (o.waits_for_bus && !o.handle && line_of(o.spec) && *line_of(o.spec) == c.name)
        start_child(self, o);
}

device_changes reconcile(self_ptr self, const plant::config& cfg, bool initial) {
  auto& st = self->state;
  device_changes changes;
  auto specs = plan_devices(self, cfg);
  std::vector<child> next;
  std::vector<bool> taken(st.children.size(), false);
  std::vector<std::size_t> to_start;  // in `next`, in config order (a bus before its devices)
  std::set<std::string> new_buses;    // lines whose bus actor starts anew
  for (auto& [name, spec] : specs) {
    child c;
    c.name = name;
    c.spec = std::move(spec);
    c.retry = backoff{st.args.restart_initial, st.args.restart_max};
    auto old = std::find_if(st.children.begin(), st.children.end(), [&](const child& o) {
      return o.name == name && !taken[static_cast<std::size_t>(&o - st.children.data())];
    });
    const auto* line = line_of(c.spec);
    bool bus_new = line && new_buses.count(*line) != 0;
    if (old != st.children.end()) {
      taken[static_cast<std::size_t>(old - st.children.begin())] = true;
      // A device whose line's bus actor starts anew starts with it.
      if (same_device(old->spec, c.spec) && !bus_new) {
        next.push_back(std::move(*old));
        continue;
      }
      c.restarts = old->restarts;
      c.uid = st.next_uid++;
      changes.restarted.push_back(name);
      if (std::holds_alternative<bus_actor_args>(c.spec))
        new_buses.insert(name);
      if (auto was = retire_device(self, *old)) {
        st.start_after[was] = c.uid;  // once the old one is gone
        next.push_back(std::move(c));
        continue;
      }
    } else {
      c.uid = st.next_uid++;
      if (!initial)
        changes.started.push_back(name);
      if (std::holds_alternative<bus_actor_args>(c.spec))
        new_buses.insert(name);
    }
    to_start.push_back(next.size());
    next.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < st.children.size(); ++i)
    if (!taken[i]) {
      retire_device(self, st.children[i]);
      changes.stopped.push_back(st.children[i].name);
    }
  st.children = std::move(next);
  for (auto i : to_start)
    if (!st.children[i].handle)  // a bus started before may have started it
      start_child(self, st.children[i]);
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
        st.inverter_child.push_back(child_named(d.id));
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

}  // namespace plantd::actors
