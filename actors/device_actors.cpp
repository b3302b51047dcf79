#include "actors/device_actors.hpp"

#include <algorithm>
#include <cmath>
#include <span>

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

void identity::lost() {  // another device may answer when it is back
  read = false;
  serial.clear();
  error = "not read: the device does not answer";
}

bool identity::due(const pointtables::table& t) {
  if (read)
    return false;
  read = true;
  auto idx = t.index_of("serial_number");
  unsupported = !idx || t.points[*idx].type != pointtables::value_type::text;
  if (unsupported) {
    error = fmt::format("point table {} has no serial_number string point", t.name);
    return false;
  }
  return true;
}

void identity::take(const modbus::result<std::string>& got) {
  if (got) {
    serial = *got;
    error = serial.empty() ? "the serial_number register is blank" : "";
    return;
  }
  error = fmt::format("serial_number: {}", modbus::describe(got.error()));
  // Lost in transit (a busy line): again at the next poll. An exception
  // or an answer that is not text is the device's own: kept.
  auto f = got.error().fault;
  read = f != modbus::fault::timeout && f != modbus::fault::crc && f != modbus::fault::disconnected;
}

void identity::update(devices::device& dev, bool answering) {
  if (!answering)
    lost();
  else if (due(dev.table()))
    take(dev.read_text("serial_number"));
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

// -- RS485 line: its bus, meters and inverters -------------------------------------

bus_api::behavior_type bus_actor(bus_api::pointer self, bus_actor_args args) {
  struct ctx {
    std::shared_ptr<modbus::register_bus> bus;
    std::string link;                    // the opened link's name (traffic counters)
    std::array<std::string, 256> named;  // the device named per unit
  };
  auto c = std::make_shared<ctx>();
  if (args.bus) {
    c->bus = std::move(args.bus);
  } else {
    auto b = open_bus(args.line, *args.clk);
    c->link = std::static_pointer_cast<modbus::bus>(b)->name();
    for (const auto& d : args.line.devices)
      c->named[d.unit_id & 0xFF] = d.id;
    c->bus = std::move(b);
  }
  (void)self;
  return {
    [c](const bus_batch& b) {
      // A device added to the line since it opened names its unit.
      if (!c->link.empty() && !b.requests.empty()) {
        auto& n = c->named[b.requests.front().unit];
        if (n != b.device) {
          n = b.device;
          modbus::name_unit(c->link, b.requests.front().unit, b.device);
        }
      }
      bus_reply r;
      r.answers = modbus::run(*c->bus, std::span<const modbus::request>{b.requests});
      r.done_at = std::chrono::steady_clock::now();
      return r;
    },
  };
}

namespace {

// A device actor on a line: stops with its bus actor (restarted with it).
template <class Self>
void follow_bus(Self* self, const bus_api& bus) {
  self->monitor(bus);
  self->set_down_handler([self](caf::down_msg& m) { self->quit(m.reason); });
}

// Sends `b` to the line's bus actor, then `done` with the reply, or with a
// reply whose every answer is the failure that kept it from the line.
template <class Self, class F>
void ask_bus(Self* self, const bus_api& bus, bool urgent, bus_batch b, F done) {
  auto n = b.requests.size();
  auto failed = [done, n](caf::error& e) mutable {
    bus_reply r;
    r.answers.assign(n, {{},
                         modbus::failure{modbus::fault::disconnected, 0,
                                         "the line's bus actor is gone: " + caf::to_string(e)}});
    r.done_at = std::chrono::steady_clock::now();
    done(r);
  };
  if (urgent)
    self->template request<caf::message_priority::high>(bus, caf::infinite, std::move(b))
      .then([done](bus_reply& r) mutable { done(r); }, std::move(failed));
  else
    self->request(bus, caf::infinite, std::move(b))
      .then([done](bus_reply& r) mutable { done(r); }, std::move(failed));
}

}  // namespace

meter_api::behavior_type meter_actor(meter_api::pointer self, meter_actor_args args) {
  struct ctx {
    meter_actor_args a;
    std::unique_ptr<devices::meter> meter;
    double range_w = 0;  // the largest power it can measure
    bool urgent = false;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  c->meter =
    std::make_unique<devices::meter>(*c->a.table, static_cast<uint8_t>(c->a.device.unit_id));
  c->range_w = plant::meter_range_w(c->a.device);
  c->urgent = c->a.device.role == plant::device_role::grid_meter;
  follow_bus(self, c->a.bus);
  self->send(self, poll_atom_v);
  return {
    [self, c](poll_atom) {
      bus_batch b{c->a.device.id, c->meter->raw().read_requests()};
      ask_bus(self, c->a.bus, c->urgent, std::move(b), [self, c](const bus_reply& reply) {
        auto r = c->meter->decode(c->meter->raw().decode(reply.answers));
        meter_sample s;
        s.role = c->a.device.role;
        s.id = c->a.device.id;
        s.time = c->a.clk->now();
        s.read_at = reply.done_at;
        s.power_w = r.active_power_w;
        s.import_wh = r.import_wh;
        s.export_wh = r.export_wh;
        if (r.failure)
          s.error = modbus::describe(*r.failure);
        else if (auto why = plant::implausible_power(s.power_w, c->range_w))
          s.error = std::move(*why);  // s.power_w is now invalid
        self->send(c->a.supervisor, std::move(s));
        self->delayed_send(self, c->a.period, poll_atom_v);
      });
    },
  };
}

inverter_api::behavior_type inverter_actor(inverter_api::pointer self, inverter_actor_args args) {
  struct ctx {
    inverter_actor_args a;
    std::unique_ptr<devices::inverter> inverter;
    std::optional<double> written_limit;
    time_point written_at{};
    std::optional<double> pending_limit;
    bool writing = false;  // a limit on its way to the line
    bool apply_scheduled = false;
    bool reachable = true;
    bool fallback_programmed = false;  // again after every reconnect
    identity ident;
  };
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  c->inverter =
    std::make_unique<devices::inverter>(*c->a.table, static_cast<uint8_t>(c->a.device.unit_id));
  follow_bus(self, c->a.bus);
  self->send(self, poll_atom_v);
  return {
    [self, c](poll_atom) {
      // One batch: the read plan, then (only if it all answered) the serial
      // once per connection and the fallback once per connection.
      const auto& dev = c->inverter->raw();
      bus_batch b{c->a.device.id, dev.read_requests()};
      auto reads = b.requests.size();
      bool ask_serial = false;
      if (c->ident.due(dev.table())) {
        if (auto req = dev.text_request("serial_number")) {
          req->needs_success = true;
          b.requests.push_back(std::move(*req));
          ask_serial = true;
        }
      }
      std::size_t fallback = 0;
      if (!c->fallback_programmed) {
        for (auto& req : c->inverter->comm_loss_fallback_requests(c->a.device_watchdog,
                                                                  c->a.fallback_limit_percent)) {
          req.needs_success = true;
          b.requests.push_back(std::move(req));
          ++fallback;
        }
      }
      ask_bus(self, c->a.bus, false, std::move(b),
              [self, c, reads, ask_serial, fallback](const bus_reply& reply) {
                const auto& dev = c->inverter->raw();
                std::span<const modbus::answer> all{reply.answers};
                auto r = c->inverter->decode(dev.decode(all.first(std::min(reads, all.size()))));
                inverter_sample s;
                s.index = c->a.index;
                s.time = c->a.clk->now();
                s.ok = !r.failure && r.ac_power_w.usable();
                s.power_w = r.ac_power_w.value;
                c->reachable = s.ok;
                std::size_t next = reads;
                if (!s.ok)
                  c->ident.lost();
                else if (ask_serial && next < all.size())
                  c->ident.take(dev.decode_text("serial_number", all[next]));
                next += ask_serial ? 1 : 0;
                if (!s.ok) {
                  c->fallback_programmed = false;
                } else if (fallback > 0 && next + fallback <= all.size()) {
                  // Limited to the fail-safe export level by itself when plantd is gone.
                  c->fallback_programmed =
                    std::all_of(all.begin() + static_cast<std::ptrdiff_t>(next),
                                all.begin() + static_cast<std::ptrdiff_t>(next + fallback),
                                [](const modbus::answer& a) { return a.ok(); });
                }
                s.serial = c->ident.serial;
                s.serial_error = c->ident.error;
                s.serial_unsupported = c->ident.unsupported;
                if (r.failure)
                  s.error = modbus::describe(*r.failure);
                self->send(c->a.supervisor, std::move(s));
                self->delayed_send(self, c->a.period, poll_atom_v);
              });
    },
    [self, c](const inverter_command& cmd) {
      c->pending_limit = cmd.limit_percent;
      if (!c->apply_scheduled) {
        c->apply_scheduled = true;
        self->send(self, apply_atom_v);
      }
    },
    [self, c](apply_atom) {
      c->apply_scheduled = false;
      if (!c->pending_limit || !c->reachable || c->writing)
        return;  // a write on its way applies again when it is done
      double limit = *c->pending_limit;
      // Write on a change of 0.5 % or more, and refresh once a minute (the
      // limit is a RAM register: an inverter that restarts forgets it).
      auto now = c->a.clk->now();
      bool changed = !c->written_limit || std::abs(*c->written_limit - limit) >= 0.5;
      bool stale = now - c->written_at >= std::chrono::seconds{60};
      if (!changed && !stale)
        return;
      auto req = c->inverter->power_limit_request(limit);
      if (!req)
        return;  // not 0..100: dispatch never asks it
      c->writing = true;
      ask_bus(self, c->a.bus, false, bus_batch{c->a.device.id, {std::move(*req)}},
              [self, c, limit, now](const bus_reply& reply) {
                c->writing = false;
                if (!reply.answers.empty() && reply.answers.front().ok()) {
                  c->written_limit = limit;
                  c->written_at = now;
                } else {
                  c->reachable = false;  // until a read succeeds again
                }
                if (c->pending_limit != c->written_limit && !c->apply_scheduled) {
                  c->apply_scheduled = true;
                  self->send(self, apply_atom_v);
                }
              });
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

demand_response_api::behavior_type demand_response_actor(demand_response_api::pointer self,
                                                         demand_response_actor_args args) {
  auto a = std::make_shared<demand_response_actor_args>(std::move(args));
  self->send(self, poll_atom_v);
  return {
    [self, a](poll_atom) {
      auto r = a->lines->read();
      demand_response_sample s;
      s.time = a->clk->now();
      s.ok = r.has_value();
      if (r) {
        s.dred = r->dred;
        s.rcr = r->rcr;
      } else {
        s.error = r.error();
      }
      self->send(a->supervisor, std::move(s));
      self->delayed_send(self, a->period, poll_atom_v);
    },
  };
}

}  // namespace plantd::actors
