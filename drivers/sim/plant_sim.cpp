#include "drivers/sim/plant_sim.hpp"

#include <sys/prctl.h>

#include <algorithm>

#include <csignal>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "model/plant/validate.hpp"

namespace plantd::sim {

enum class device_kind { cabinet, grid_meter, pv_meter, sub_meter, inverter, io };

struct plant_sim::device {
  std::string id;
  device_kind kind;
  std::size_t index = 0;  // into plant_state's cabinets or inverters
  std::unique_ptr<register_image> image;
  wire_faults faults;
  bool frozen = false;
  bool foreign_master = false;  // cabinets: another master writes the setpoint
  double ct_factor = 1;         // meters: a reversed CT (-1) or a wrong CT ratio
  double share = 1;             // sub-meters: the share of the site's load they measure
  std::string serial;           // its nameplate serial (the config's, or made up)
  // Cabinets: the EMS watchdog, armed by the first heartbeat write, expires
  // after watchdog_timeout (0: 10 s) of real time without a change (a
  // communication timeout is wall-clock time, whatever the simulation speed).
  bool watchdog_armed = false;
  std::chrono::steady_clock::time_point last_beat{};
  // Inverters with a communication-loss fallback (comm_loss_timeout > 0):
  // no request for that long limits them to comm_loss_limit.
  std::atomic<uint64_t> answered{0};
  uint64_t seen_answered = 0;
  std::chrono::steady_clock::time_point last_request = std::chrono::steady_clock::now();
};

namespace {

char parity_char(plant::parity p) {
  return p == plant::parity::even ? 'E' : p == plant::parity::odd ? 'O' : 'N';
}

// Starts socat linking two ptys: `a` (served by us) and `b` (for the client).
int start_socat(const std::string& a, const std::string& b) {
  std::filesystem::remove(a);
  std::filesystem::remove(b);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // The parent blocks SIGTERM/SIGINT for its sigwait; socat must not
    // inherit that (it would never stop), and it dies with its parent.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(0);
    auto la = "pty,raw,echo=0,link=" + a;
    auto lb = "pty,raw,echo=0,link=" + b;
    execlp("socat", "socat", la.c_str(), lb.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (std::filesystem::exists(a) && std::filesystem::exists(b))
      return pid;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  kill(pid, SIGTERM);
  throw std::runtime_error(fmt::format("socat did not create the pty pair {} / {}", a, b));
}

}  // namespace

plant_sim::plant_sim(const plant::config& cfg, const pointtables::registry& tables,
                     sim_options opts)
  : opts_(opts),
    sim_now_(opts.start),
    last_step_(std::chrono::steady_clock::now()) {
  if (cfg.ems.ems_switch) {
    switch_id_ = cfg.ems.ems_switch->id;
    switch_cabinets_ = cfg.ems.ems_switch->cabinet_ids;
  }
  auto table = [&](const std::string& name) -> const pointtables::table& {
    const auto* t = tables.find(name);
    if (!t)
      throw std::runtime_error(fmt::format("unknown point table \"{}\"", name));
    return *t;
  };
  plant_state ps;
  double rated = 0;
  for (const auto& c : cfg.cabinets) {
    cabinet_state cs;
    cs.id = c.id;
    cs.rated_power_w = c.rated_power_w;
    cs.rated_energy_wh = c.rated_energy_wh;
    cs.soc = opts.initial_soc;
    rated += c.rated_power_w;
    ps.cabinets.push_back(cs);
  }
  for (const auto& line : cfg.rs485_lines)
    for (const auto& d : line.devices)
      if (d.role == plant::device_role::pv_inverter)
        ps.inverters.push_back(pv_state{d.id, d.rated_power_w});
  ps.load_peak_w = 0.6 * rated;
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(cfg.site.time_zone, &tz))
    tz = absl::UTCTimeZone();
  physics_ = std::make_unique<physics>(std::move(ps), tz, opts.seed);

  std::map<std::string, std::size_t> tcp_eps;  // "host:port" -> endpoint
  auto tcp_endpoint = [&](const std::string& id, const plant::tcp_endpoint& ep, bool gateway) {
    auto key = fmt::format("{}:{}", ep.host, ep.port);
    auto it = tcp_eps.find(key);
    if (it != tcp_eps.end())
      return it->second;
    auto idx = server_.add_tcp(ep.host, static_cast<uint16_t>(ep.port), gateway);
    tcp_eps[key] = idx;
    endpoints_.push_back({id, fmt::format("{}:{}", ep.host, server_.port(idx)), "tcp"});
    return idx;
  };
  auto add_device = [&](std::string id, device_kind kind, std::size_t index,
                        const pointtables::table& t) {
    auto d = std::make_unique<device>();
    d->id = std::move(id);
    d->kind = kind;
    d->index = index;
    d->image = std::make_unique<register_image>(t);
    devices_.push_back(std::move(d));
    return devices_.back().get();
  };

  for (std::size_t i = 0; i < cfg.cabinets.size(); ++i) {
    const auto& c = cfg.cabinets[i];
    auto* d = add_device(c.id, device_kind::cabinet, i, table(c.point_table));
    d->image->set("run_command", 1);
    d->serial = c.serial.empty() ? "SIM-" + c.id : c.serial;
    d->image->set_text("serial_number", d->serial);
    auto ep = tcp_endpoint(c.id, c.modbus, false);
    server_.attach(ep, static_cast<uint8_t>(c.modbus.unit_id),
                   {d->image.get(), &d->faults, &d->answered});
  }
  std::size_t inverter_index = 0;
  std::size_t sub_meters = 0;
  for (const auto& line : cfg.rs485_lines)
    for (const auto& dev : line.devices)
      sub_meters += dev.role == plant::device_role::sub_meter ? 1 : 0;
  for (const auto& line : cfg.rs485_lines) {
    std::size_t ep = 0;
    if (line.tcp_gateway) {
      ep = tcp_endpoint(std::string(plant::to_string(line.port)), *line.tcp_gateway, true);
    } else if (opts.rtu) {
      auto sim_side = line.device + ".sim";
      socat_pids_.push_back(start_socat(sim_side, line.device));
      ep = server_.add_rtu(sim_side, line.baud, parity_char(line.parity),
                           static_cast<int>(line.data_bits), static_cast<int>(line.stop_bits));
      endpoints_.push_back({std::string(plant::to_string(line.port)), line.device, "rtu"});
    } else {
      throw std::runtime_error(
        fmt::format("{} uses the serial device {}: run plant-sim with --rtu, or give the line a "
                    "tcp_gateway",
                    std::string(plant::to_string(line.port)), line.device));
    }
    for (const auto& dev : line.devices) {
      device_kind kind = dev.role == plant::device_role::grid_meter  ? device_kind::grid_meter
                         : dev.role == plant::device_role::pv_meter  ? device_kind::pv_meter
                         : dev.role == plant::device_role::sub_meter ? device_kind::sub_meter
                                                                     : device_kind::inverter;
      auto* d = add_device(dev.id, kind, kind == device_kind::inverter ? inverter_index++ : 0,
                           table(dev.point_table));
      // Sub-meters split the load: n of them measure 1/(n+1) each (the
      // rest is unmetered).
      if (kind == device_kind::sub_meter)
        d->share = 1.0 / (sub_meters + 1);
      d->serial = dev.serial.empty() ? "SIM-" + dev.id : dev.serial;
      d->image->set_text("serial_number", d->serial);
      if (kind == device_kind::inverter) {
        d->image->set("power_limit", 100);
        d->image->set("rated_power", dev.rated_power_w);
      }
      server_.attach(ep, static_cast<uint8_t>(dev.unit_id),
                     {d->image.get(), &d->faults, &d->answered});
    }
  }
  if (cfg.io.modbus_gateway) {
    auto* d = add_device("io", device_kind::io, 0, table("plantd-io"));
    auto ep = tcp_endpoint("io", *cfg.io.modbus_gateway, false);
    server_.attach(ep, static_cast<uint8_t>(cfg.io.modbus_gateway->unit_id),
                   {d->image.get(), &d->faults});
  }
  // At rest a normally-closed input loop (an E-stop chain) is closed.
  for (const auto& in : cfg.io.inputs)
    if (in.channel >= 1 && in.channel <= 2)
      inputs_.di[in.channel - 1] = in.normally_closed;
  update_registers();
}

plant_sim::~plant_sim() {
  for (int pid : socat_pids_) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
}

std::vector<endpoint_info> plant_sim::endpoints() const {
  std::lock_guard guard{mtx_};
  return endpoints_;
}

plant_sim::device* plant_sim::find(const std::string& id) {
  for (auto& d : devices_)
    if (d->id == id)
      return d.get();
  return nullptr;
}

void plant_sim::read_commands() {
  auto& st = physics_->state();
  for (auto& d : devices_) {
    auto& img = *d->image;
    switch (d->kind) {
      case device_kind::cabinet: {
        auto& c = st.cabinets[d->index];
        if (d->foreign_master)  // its write lands after plantd's
          img.set("power_setpoint", -0.2 * c.rated_power_w);
        c.setpoint_w = img.get("power_setpoint").value_or(0);
        c.run = img.get("run_command").value_or(1) != 0;
        auto beat = static_cast<uint16_t>(img.get("heartbeat").value_or(0));
        auto real_now = std::chrono::steady_clock::now();
        if (beat != c.heartbeat) {
          c.heartbeat = beat;
          d->watchdog_armed = true;
          d->last_beat = real_now;
        }
        auto timeout = img.get("watchdog_timeout").value_or(0);
        c.watchdog_expired = d->watchdog_armed
                             && real_now - d->last_beat > std::chrono::seconds{
                                  timeout > 0 ? static_cast<int64_t>(timeout) : 10};
        break;
      }
      case device_kind::inverter: {
        double limit = img.get("power_limit").value_or(100);
        auto timeout = img.get("comm_loss_timeout").value_or(0);
        auto real_now = std::chrono::steady_clock::now();
        if (auto n = d->answered.load(); n != d->seen_answered) {
          d->seen_answered = n;
          d->last_request = real_now;
        }
        if (timeout > 0
            && real_now - d->last_request > std::chrono::seconds{static_cast<int64_t>(timeout)})
          limit = std::min(limit, img.get("comm_loss_limit").value_or(0));
        st.inverters[d->index].limit_percent = limit;
        break;
      }
      case device_kind::io:
        outputs_[0] = img.get("do1").value_or(0) != 0;
        outputs_[1] = img.get("do2").value_or(0) != 0;
        break;
      default: break;
    }
  }
}

void plant_sim::update_registers() {
  const auto& st = physics_->state();
  for (auto& d : devices_) {
    if (d->frozen)
      continue;
    auto& img = *d->image;
    switch (d->kind) {
      case device_kind::cabinet: {
        const auto& c = st.cabinets[d->index];
        img.set("pcs_state", c.pcs_state());
        img.set("pcs_fault_word", c.pcs_fault_word());
        img.set("active_power", c.power_w);
        img.set("reactive_power", 0);
        img.set("allowed_charge_power", c.allowed_charge_w());
        img.set("allowed_discharge_power", c.allowed_discharge_w());
        img.set("rated_power", c.rated_power_w);
        img.set("grid_frequency", 50.0);
        img.set("dc_voltage", 240 * c.cell_voltage(0));
        img.set("charged_energy", c.charged_wh);
        img.set("discharged_energy", c.discharged_wh);
        img.set("bms_state", c.bms_state());
        img.set("soc", c.soc);
        img.set("soh", c.soh);
        double v = 240 * c.cell_voltage(0);
        img.set("battery_voltage", v);
        img.set("battery_current", c.power_w / v);
        img.set("cell_voltage_max", c.cell_voltage(0.012));
        img.set("cell_voltage_min", c.cell_voltage(-0.012));
        img.set("cell_temperature_max", c.cell_temp_c + 1.5);
        img.set("cell_temperature_min", c.cell_temp_c - 1.5);
        img.set("bms_alarm_word", c.bms_alarm_word());
        img.set("bms_fault_word", c.bms_fault_word());
        img.set("cycles", c.cycles);
        img.set("rated_energy", c.rated_energy_wh);
        img.set("contactor", c.contactor_closed() ? 1 : 0);
        img.set("cooling_state", c.cooling_fault ? 4 : 1);
        img.set("coolant_inlet_temperature", c.coolant_in_c);
        img.set("coolant_outlet_temperature", c.coolant_out_c);
        img.set("pump_running", c.cooling_fault ? 0 : 1);
        img.set("cooling_fault_word", c.cooling_fault ? 1 : 0);
        img.set("fire_state", c.fire ? 2 : 0);
        img.set("fire_alarm_word", c.fire ? 0b0011 : 0);
        break;
      }
      case device_kind::grid_meter:
      case device_kind::pv_meter:
      case device_kind::sub_meter: {
        bool grid = d->kind == device_kind::grid_meter;
        bool sub = d->kind == device_kind::sub_meter;
        double p = (sub ? st.load_w * d->share : grid ? st.grid_w : st.pv_w) * d->ct_factor;
        img.set("active_power", p);
        for (int ph = 1; ph <= 3; ++ph) {
          img.set(fmt::format("active_power_l{}", ph), p / 3);
          img.set(fmt::format("voltage_l{}", ph), 230.0);
          img.set(fmt::format("current_l{}", ph), std::abs(p) / 3 / 230.0);
          img.set(fmt::format("power_factor_l{}", ph), 0.99);
        }
        for (auto ll : {"voltage_l1_l2", "voltage_l2_l3", "voltage_l3_l1"})
          img.set(ll, 398.4);
        img.set("power_factor", 0.99);
        img.set("frequency", 50.0);
        img.set("ct_ratio", 1);
        img.set("pt_ratio", 1.0);
        double pv_energy = 0;
        for (const auto& inv : st.inverters)
          pv_energy += inv.energy_wh;
        img.set("import_energy", sub ? st.load_wh * d->share : grid ? st.import_wh : 0);
        img.set("export_energy", sub ? 0 : grid ? st.export_wh : pv_energy);
        break;
      }
      case device_kind::inverter: {
        const auto& inv = st.inverters[d->index];
        img.set("state", inv.power_w > 0 ? 2 : 1);
        img.set("pv1_power", inv.power_w / 2);
        img.set("pv2_power", inv.power_w / 2);
        img.set("pv1_voltage", inv.power_w > 0 ? 600 : 0);
        img.set("pv2_voltage", inv.power_w > 0 ? 600 : 0);
        img.set("pv1_current", inv.power_w / 2 / 600);
        img.set("pv2_current", inv.power_w / 2 / 600);
        img.set("ac_power", inv.power_w);
        for (int ph = 1; ph <= 3; ++ph) {
          img.set(fmt::format("voltage_l{}", ph), 230.0);
          img.set(fmt::format("frequency_l{}", ph), 50.0);
          img.set(fmt::format("power_l{}", ph), inv.power_w / 3);
          img.set(fmt::format("current_l{}", ph), inv.power_w / 3 / 230);
        }
        img.set("total_energy", inv.energy_wh);
        img.set("temperature", 35.0);
        break;
      }
      case device_kind::io: {
        img.set("di1", inputs_.di[0]);
        img.set("di2", inputs_.di[1]);
        static constexpr std::array<const char*, 4> to_com{"drm1_5_to_com", "drm2_6_to_com",
                                                           "drm3_7_to_com", "drm4_8_to_com"};
        static constexpr std::array<const char*, 4> to_ref{"drm1_5_to_refgen", "drm2_6_to_refgen",
                                                           "drm3_7_to_refgen", "drm4_8_to_refgen"};
        for (std::size_t i = 0; i < 4; ++i) {
          img.set(to_com[i], inputs_.dred.to_com[i]);
          img.set(to_ref[i], inputs_.dred.to_refgen[i]);
          img.set(fmt::format("rcr_din{}", i + 1), inputs_.rcr[i]);
        }
        img.set("refgen_to_com", inputs_.dred.refgen_to_com);
        break;
      }
    }
  }
}

void plant_sim::run_once(std::chrono::milliseconds max_wait) {
  std::unique_lock lock{mtx_};
  auto now = std::chrono::steady_clock::now();
  auto until_step =
    std::chrono::duration_cast<std::chrono::milliseconds>(last_step_ + opts_.step - now);
  auto wait = std::clamp(until_step, std::chrono::milliseconds{0}, max_wait);
  // Short waits keep the lock free for fault injection from other threads.
  wait = std::min(wait, std::chrono::milliseconds{20});
  server_.poll(wait);
  now = std::chrono::steady_clock::now();
  if (now - last_step_ < opts_.step)
    return;
  double real_ms = std::chrono::duration<double, std::milli>(now - last_step_).count();
  last_step_ = now;
  sim_carry_ms_ += real_ms * opts_.speed;
  auto dt = std::chrono::milliseconds{static_cast<int64_t>(sim_carry_ms_)};
  sim_carry_ms_ -= static_cast<double>(dt.count());
  sim_now_ += dt;
  read_commands();
  physics_->step(sim_now_, dt);
  update_registers();
}

expected<void, std::string> plant_sim::inject(const fault_request& f) {
  std::lock_guard guard{mtx_};
  if (!switch_id_.empty() && f.device_id == switch_id_) {
    if (f.kind != fault_kind::silent)
      return unexpected{fmt::format("\"{}\" is the EMS-Switch unit: its fault is silent "
                                    "(the uplink cut)",
                                    f.device_id)};
    for (const auto& id : switch_cabinets_)
      if (auto* d = find(id))
        d->faults.silent = true;
    return {};
  }
  auto* d = find(f.device_id);
  if (!d)
    return unexpected{fmt::format("no device \"{}\" in this plant", f.device_id)};
  bool cabinet_fault = f.kind == fault_kind::bms_derate || f.kind == fault_kind::fire_alarm
                       || f.kind == fault_kind::contactor_trip
                       || f.kind == fault_kind::cooling_fault
                       || f.kind == fault_kind::foreign_master;
  if (cabinet_fault && d->kind != device_kind::cabinet)
    return unexpected{fmt::format("\"{}\" is not a cabinet", f.device_id)};
  bool meter_fault = f.kind == fault_kind::ct_reversed || f.kind == fault_kind::ct_ratio;
  if (meter_fault && d->kind != device_kind::grid_meter && d->kind != device_kind::pv_meter
      && d->kind != device_kind::sub_meter)
    return unexpected{fmt::format("\"{}\" is not a meter", f.device_id)};
  if (f.kind == fault_kind::wrong_serial && d->kind != device_kind::cabinet
      && d->kind != device_kind::inverter)
    return unexpected{fmt::format("\"{}\" is not a cabinet or an inverter", f.device_id)};
  auto* cab = cabinet_fault ? &physics_->state().cabinets[d->index] : nullptr;
  switch (f.kind) {
    case fault_kind::silent: d->faults.silent = true; break;
    case fault_kind::slow: d->faults.delay = f.delay; break;
    case fault_kind::exception:
      if (f.exception_code < 1 || f.exception_code > 11)
        return unexpected{fmt::format("exception code {} is not 1..11", f.exception_code)};
      d->faults.exception = f.exception_code;
      break;
    case fault_kind::frozen: d->frozen = true; break;
    case fault_kind::crc_error: d->faults.crc_error = true; break;
    case fault_kind::bms_derate:
      if (!(f.derate >= 0 && f.derate <= 1))
        return unexpected{fmt::format("derate factor {} is not 0..1", f.derate)};
      cab->bms_derate = f.derate;
      break;
    case fault_kind::fire_alarm: cab->fire = true; break;
    case fault_kind::contactor_trip: cab->contactor_trip = true; break;
    case fault_kind::cooling_fault: cab->cooling_fault = true; break;
    case fault_kind::foreign_master: d->foreign_master = true; break;
    case fault_kind::ct_reversed: d->ct_factor = -1; break;
    case fault_kind::ct_ratio:
      if (!(f.ct_factor > 0 && f.ct_factor <= 100) || f.ct_factor == 1)
        return unexpected{fmt::format("ct_factor {} is not in (0, 100] or is 1", f.ct_factor)};
      d->ct_factor = f.ct_factor;
      break;
    case fault_kind::wrong_serial: {
      auto other = f.serial.empty() ? "OTHER-" + d->serial : f.serial;
      if (!d->image->set_text("serial_number", other))
        return unexpected{fmt::format("\"{}\"'s point table has no serial_number", f.device_id)};
      break;
    }
  }
  return {};
}

expected<void, std::string> plant_sim::clear(const std::string& device_id) {
  std::lock_guard guard{mtx_};
  if (!switch_id_.empty() && device_id == switch_id_) {
    for (const auto& id : switch_cabinets_)
      if (auto* d = find(id))
        d->faults.silent = false;
    return {};
  }
  bool found = false;
  for (auto& d : devices_) {
    if (!device_id.empty() && d->id != device_id)
      continue;
    found = true;
    d->faults = wire_faults{};
    d->frozen = false;
    d->foreign_master = false;
    d->ct_factor = 1;
    d->image->set_text("serial_number", d->serial);
    if (d->kind == device_kind::cabinet) {
      auto& c = physics_->state().cabinets[d->index];
      c.bms_derate = 1.0;
      c.fire = false;
      c.contactor_trip = false;
      c.cooling_fault = false;
    }
  }
  if (!found)
    return unexpected{fmt::format("no device \"{}\" in this plant", device_id)};
  return {};
}

void plant_sim::set_inputs(const io_inputs& in) {
  std::lock_guard guard{mtx_};
  inputs_ = in;
}

io_inputs plant_sim::inputs() const {
  std::lock_guard guard{mtx_};
  return inputs_;
}

void plant_sim::set_load(double watts) {
  std::lock_guard guard{mtx_};
  physics_->state().load_override_w = watts;
}

sim_snapshot plant_sim::snapshot() const {
  std::lock_guard guard{mtx_};
  return {sim_now_, physics_->state(), outputs_, server_.answered()};
}

}  // namespace plantd::sim
