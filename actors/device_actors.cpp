#include "actors/device_actors.hpp"

#include <cmath>

#include <fmt/format.h>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "drivers/devices/cabinet.hpp"
#include "drivers/devices/inverter.hpp"
#include "drivers/devices/meter.hpp"
#include "model/plant/plausible.hpp"

namespace plantd::actors {

std::shared_ptr<modbus::register_bus> open_bus(const plant::tcp_endpoint& ep,
                                               std::chrono::milliseconds timeout, const clock& clk,
                                               const std::string& device) {
  modbus::link_options opts;
  opts.timeout = timeout;
  auto b = std::make_shared<modbus::bus>(
    modbus::link{modbus::tcp_params{ep.host, static_cast<uint16_t>(ep.port)}, opts, clk},
    std::chrono::milliseconds{0});
  if (!device.empty())
    modbus::name_unit(b->name(), static_cast<uint8_t>(ep.unit_id), device);
  return b;
}

std::shared_ptr<modbus::register_bus> open_bus(const plant::serial_line& line, const clock& clk) {
  modbus::link_options opts;
  opts.timeout = std::chrono::milliseconds{line.timeout_ms};
  std::shared_ptr<modbus::bus> b;
  if (line.tcp_gateway) {
    b = std::make_shared<modbus::bus>(
      modbus::link{
        modbus::tcp_params{line.tcp_gateway->host, static_cast<uint16_t>(line.tcp_gateway->port)},
        opts, clk},
      std::chrono::milliseconds{line.inter_frame_gap_ms});
  } else {
    char parity = line.parity == plant::parity::even  ? 'E'
                  : line.parity == plant::parity::odd ? 'O'
                                                      : 'N';
    b = std::make_shared<modbus::bus>(
      modbus::link{modbus::rtu_params{line.device, line.baud, parity,
                                      static_cast<int>(line.data_bits),
                                      static_cast<int>(line.stop_bits)},
                   opts, clk},
      std::chrono::milliseconds{line.inter_frame_gap_ms});
  }
  for (const auto& d : line.devices)
    modbus::name_unit(b->name(), static_cast<uint8_t>(d.unit_id), d.id);
  return b;
}

// -- identity -----------------------------------------------------------------------

void identity::update(devices::device& dev, bool answering) {
  if (!answering) {  // another device may answer when it is back
    read = false;
    serial.clear();
    error = "not read: the device does not answer";
    return;
  }
  if (read)
    return;
  read = true;
  auto idx = dev.table().index_of("serial_number");
  unsupported = !idx || dev.table().points[*idx].type != pointtables::value_type::text;
  if (unsupported) {
    error = fmt::format("point table {} has no serial_number string point", dev.table().name);
    return;
  }
  auto got = dev.read_text("serial_number");
  if (got) {
    serial = std::move(*got);
    error = serial.empty() ? "the serial_number register is blank" : "";
  } else {
    error = fmt::format("serial_number: {}", modbus::describe(got.error()));
    // Lost in transit (a busy line): again at the next poll. An exception
    // or an answer that is not text is the device's own: kept.
    auto f = got.error().fault;
    read =
      f != modbus::fault::timeout && f != modbus::fault::crc && f != modbus::fault::disconnected;
  }
}

// -- cabinet ------------------------------------------------------------------------

cabinet_api::behavior_type cabinet_actor(cabinet_api::pointer self, cabinet_actor_args args) {
  struct ctx {
    cabinet_actor_args a;
    std::shared_ptr<modbus::register_bus> bus;
    std::unique_ptr<devices::cabinet> dev;
    uint16_t beat = 0;
    time_point last_beat{};
    std::optional<double> written_power;
    std::optional<bool> written_run;
    std::optional<cabinet_command> pending;
    bool apply_scheduled = false;
    bool reachable = true;
    bool fallback_programmed = false;  // again after every reconnect
    bool wrote_since_connect = false;
    identity ident;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  c->bus = c->a.bus ? c->a.bus
                    : open_bus(c->a.cabinet.modbus, std::chrono::milliseconds{500}, *c->a.clk,
                               c->a.cabinet.id);
  c->dev = std::make_unique<devices::cabinet>(*c->a.table, *c->bus,
                                              static_cast<uint8_t>(c->a.cabinet.modbus.unit_id));
  self->send(self, poll_atom_v);
  return {
    [self, c](poll_atom) {
      auto r = c->dev->read();
      cabinet_sample s;
      s.index = c->a.index;
      s.time = c->a.clk->now();
      s.ok = !r.failure && r.soc_percent.usable() && r.active_power_w.usable();
      if (r.failure)
        s.error = modbus::describe(*r.failure);
      auto& in = s.input;
      in.fresh = s.ok;
      in.soc = r.soc_percent.value;
      in.power_w = r.active_power_w.value;
      in.allowed_charge_w = r.allowed_charge_w.usable() ? r.allowed_charge_w.value : 0;
      in.allowed_discharge_w = r.allowed_discharge_w.usable() ? r.allowed_discharge_w.value : 0;
      in.rated_power_w = c->a.cabinet.rated_power_w;
      in.fire = r.fire();
      in.bms_fault = r.bms_faults != 0;
      in.cooling_fault = r.cooling_faults != 0;
      in.contactor_open = r.contactor_closed.usable() && r.contactor_closed.value == 0;
      in.cell_temp_max_c = r.cell_temperature_max_c.usable() ? r.cell_temperature_max_c.value : 25;
      s.setpoint_w = r.power_setpoint_w.value;
      s.setpoint_known = r.power_setpoint_w.usable();
      s.wrote_since_connect = c->wrote_since_connect;
      s.soh_percent = r.soh_percent;
      s.cell_voltage_max_v = r.cell_voltage_max_v;
      s.cell_voltage_min_v = r.cell_voltage_min_v;
      s.cell_temperature_max_c = r.cell_temperature_max_c;
      s.cell_temperature_min_c = r.cell_temperature_min_c;
      s.coolant_inlet_c = r.coolant_inlet_c;
      s.coolant_outlet_c = r.coolant_outlet_c;
      s.pump_running = r.pump_running.usable() && r.pump_running.value != 0;
      s.cooling_fault = r.cooling_faults != 0;
      s.cycles = r.cycles;
      if (auto i = c->a.table->index_of("fire_state"); i && r.fire_state.usable())
        s.fire_state = pointtables::label(c->a.table->points[*i], r.fire_state.value);
      for (const auto& f : r.flags) {
        auto level = f.severity;  // as the point table says
        s.flags.push_back({fmt::format("{}.{}", f.point, f.bit), c->a.cabinet.id, level, f.label});
      }
      c->reachable = s.ok;
      c->ident.update(c->dev->raw(), s.ok);
      s.serial = c->ident.serial;
      s.serial_error = c->ident.error;
      s.serial_unsupported = c->ident.unsupported;
      if (!s.ok) {
        c->fallback_programmed = false;
        // It may come back restarted, its registers reset: write again.
        c->written_power.reset();
        c->written_run.reset();
        c->wrote_since_connect = false;
      } else if (!c->fallback_programmed) {
        // The PCS goes to 0 W by itself when plantd is gone.
        auto r = c->dev->set_watchdog(c->a.device_watchdog);
        c->fallback_programmed = r.has_value();
      }
      self->send(c->a.supervisor, std::move(s));
      self->delayed_send(self, c->a.period, poll_atom_v);
    },
    [self, c](retire_atom) {
      // Taken out of the configuration (or replaced): 0 W before it goes,
      // rather than the last setpoint until the PCS's own watchdog.
      if (c->reachable)
        (void)c->dev->set_power(0);
      self->quit(caf::exit_reason::user_shutdown);
    },
    [self, c](const cabinet_command& cmd) {
      if (cmd.rewrite) {
        c->written_power.reset();
        c->written_run.reset();
      }
      c->pending = cmd;
      if (!c->apply_scheduled) {
        c->apply_scheduled = true;
        self->send(self, apply_atom_v);
      }
    },
    [c](apply_atom) {
      c->apply_scheduled = false;
      if (!c->pending || !c->reachable)
        return;
      auto cmd = *c->pending;
      // Write only what changed, and the watchdog heartbeat once a second. A
      // failed write forces every write on the next command.
      bool ok = true;
      if (c->written_run != cmd.run) {
        if (c->dev->set_running(cmd.run))
          c->written_run = cmd.run;
        else
          ok = false;
      }
      if (!c->written_power || std::abs(*c->written_power - cmd.power_w) >= 1.0) {
        if (c->dev->set_power(cmd.power_w)) {
          c->written_power = cmd.power_w;
          c->wrote_since_connect = true;
        } else {
          ok = false;
        }
      }
      auto now = c->a.clk->now();
      if (now - c->last_beat >= std::chrono::seconds{1}) {
        if (c->dev->beat(++c->beat))
          c->last_beat = now;
        else
          ok = false;
      }
      if (!ok) {
        c->written_power.reset();
        c->written_run.reset();
        c->reachable = false;  // until a read succeeds again
      }
    },
  };
}

// -- RS485 line ---------------------------------------------------------------------

line_api::behavior_type line_actor(line_api::pointer self, line_actor_args args) {
  struct member {
    plant::device_role role;
    std::string id;
    uint32_t inverter_index = 0;
    std::unique_ptr<devices::meter> meter;
    std::unique_ptr<devices::inverter> inverter;
    int every = 1;  // polled every `every` ticks
    std::optional<double> written_limit;
    std::optional<double> pending_limit;
    bool reachable = true;
    bool fallback_programmed = false;  // again after every reconnect
    bool wrote_since_connect = false;
    int refresh = 0;     // ticks since the limit was last written
    double range_w = 0;  // meters: the largest power they can measure
    identity ident;      // inverters
  };
  struct ctx {
    line_actor_args a;
    std::shared_ptr<modbus::register_bus> bus;
    std::vector<member> members;
    std::chrono::milliseconds tick{200};
    uint64_t ticks = 0;
    bool apply_scheduled = false;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  c->bus = c->a.bus ? c->a.bus : open_bus(c->a.line, *c->a.clk);
  c->tick = std::min({c->a.grid_meter_period, c->a.pv_meter_period, c->a.inverter_period});
  uint32_t inv = c->a.first_inverter;
  for (const auto& d : c->a.line.devices) {
    const auto* table = c->a.tables->find(d.point_table);
    if (!table)
      continue;  // validated at start-up; an unknown table is refused there
    member m;
    m.role = d.role;
    m.id = d.id;
    auto unit = static_cast<uint8_t>(d.unit_id);
    std::chrono::milliseconds period = c->a.inverter_period;
    if (d.role == plant::device_role::pv_inverter) {
      m.inverter = std::make_unique<devices::inverter>(*table, *c->bus, unit);
      m.inverter_index = inv++;
    } else {
      m.meter = std::make_unique<devices::meter>(*table, *c->bus, unit);
      m.range_w = plant::meter_range_w(d);
      period =
        d.role == plant::device_role::grid_meter ? c->a.grid_meter_period : c->a.pv_meter_period;
    }
    m.every = std::max<int>(1, static_cast<int>(period / c->tick));
    c->members.push_back(std::move(m));
  }
  self->send(self, poll_atom_v);
  return {
    [self, c](poll_atom) {
      for (auto& m : c->members) {
        if (c->ticks % static_cast<uint64_t>(m.every) != 0)
          continue;
        if (m.meter) {
          auto r = m.meter->read();
          meter_sample s;
          s.role = m.role;
          s.id = m.id;
          s.time = c->a.clk->now();
          s.read_at = std::chrono::steady_clock::now();
          s.power_w = r.active_power_w;
          s.import_wh = r.import_wh;
          s.export_wh = r.export_wh;
          if (r.failure)
            s.error = modbus::describe(*r.failure);
          else if (auto why = plant::implausible_power(s.power_w, m.range_w))
            s.error = std::move(*why);  // s.power_w is now invalid
          self->send(c->a.supervisor, std::move(s));
        } else {
          auto r = m.inverter->read();
          inverter_sample s;
          s.index = m.inverter_index;
          s.time = c->a.clk->now();
          s.ok = !r.failure && r.ac_power_w.usable();
          s.power_w = r.ac_power_w.value;
          m.reachable = s.ok;
          m.ident.update(m.inverter->raw(), s.ok);
          s.serial = m.ident.serial;
          s.serial_error = m.ident.error;
          s.serial_unsupported = m.ident.unsupported;
          if (!s.ok) {
            m.fallback_programmed = false;
          } else if (!m.fallback_programmed) {
            // Limited to the fail-safe export level by itself when plantd is gone.
            auto fb =
              m.inverter->set_comm_loss_fallback(c->a.device_watchdog, c->a.fallback_limit_percent);
            m.fallback_programmed = fb.has_value();
          }
          if (r.failure)
            s.error = modbus::describe(*r.failure);
          self->send(c->a.supervisor, std::move(s));
          ++m.refresh;
        }
      }
      ++c->ticks;
      self->delayed_send(self, c->tick, poll_atom_v);
    },
    [self, c](const inverter_command& cmd) {
      for (auto& m : c->members)
        if (m.inverter && m.inverter_index == cmd.index)
          m.pending_limit = cmd.limit_percent;
      if (!c->apply_scheduled) {
        c->apply_scheduled = true;
        self->send(self, apply_atom_v);
      }
    },
    [c](apply_atom) {
      c->apply_scheduled = false;
      for (auto& m : c->members) {
        if (!m.inverter || !m.pending_limit || !m.reachable)
          continue;
        double limit = *m.pending_limit;
        // Write on a change of 0.5 % or more, and refresh once a minute (the
        // limit is a RAM register: an inverter that restarts forgets it).
        bool changed = !m.written_limit || std::abs(*m.written_limit - limit) >= 0.5;
        bool stale = m.refresh * m.every * c->tick >= std::chrono::seconds{60};
        if (!changed && !stale)
          continue;
        if (m.inverter->set_power_limit(limit)) {
          m.written_limit = limit;
          m.refresh = 0;
        } else {
          m.reachable = false;  // until a read succeeds again
        }
      }
    },
  };
}

// -- I/O ------------------------------------------------------------------------------

io_api::behavior_type io_actor(io_api::pointer self, io_actor_args args) {
  struct ctx {
    io_actor_args a;
    std::array<std::optional<bool>, 2> written;
    bool reachable = true;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  self->send(self, poll_atom_v);
  return {
    [self, c](poll_atom) {
      auto r = c->a.lines->read();
      io_sample s;
      s.time = c->a.clk->now();
      s.ok = r.has_value();
      c->reachable = s.ok;
      if (r)
        s.lines = *r;
      else
        s.error = r.error();
      self->send(c->a.supervisor, std::move(s));
      self->delayed_send(self, c->a.period, poll_atom_v);
    },
    [c](const output_command& cmd) {
      if (cmd.channel < 1 || cmd.channel > 2 || !c->reachable)
        return;
      auto& w = c->written[static_cast<std::size_t>(cmd.channel - 1)];
      if (w == cmd.closed)
        return;
      if (c->a.lines->set_output(cmd.channel, cmd.closed))
        w = cmd.closed;
      else
        c->reachable = false;
    },
  };
}

}  // namespace plantd::actors
