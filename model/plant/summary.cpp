#include "model/plant/summary.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "model/alarms/uplink.hpp"
#include "model/io/contacts.hpp"

namespace plantd::plant {

namespace {

// The grid meter's device id (as the alarms name it).
std::string grid_meter_id(const config& cfg) {
  std::string id = "grid-meter";
  for (const auto& line : cfg.rs485_lines)
    for (const auto& d : line.devices)
      if (d.role == device_role::grid_meter)
        id = d.id;
  return id;
}

void sum_sub_meters(const summary_input& in, plant_state& ps) {
  const auto now = in.snap->now;
  // A sub-meter is fresh for three of its polls (a poll may fail once).
  auto stale = 3 * std::chrono::milliseconds{in.cfg->polling.pv_meter_ms} + std::chrono::seconds{1};
  for (const auto& [id, s] : *in.sub_meters) {
    plant_state::sub_meter sm;
    sm.id = id;
    sm.error = s.error;
    // (Its time starts at the configuration: a new one is not silent yet.)
    bool fresh = s.time <= now && now - s.time <= stale;
    sm.available = fresh && s.error.empty() && s.import_wh.usable();
    if (sm.available) {
      sm.power_w = s.power_w;
      sm.import_wh = s.import_wh;
      sm.export_wh = s.export_wh;
    } else if (sm.error.empty()) {
      sm.error = fresh ? "no reading yet" : "no fresh reading";
    }
    // It feeds only the energy accounts: silent or failing, a warning (its
    // hours stay missing until it answers again).
    if (!fresh || !s.error.empty())
      ps.conditions.push_back({"comm_lost", id, alarms::severity::warning, sm.error});
    ps.sub_meters.push_back(std::move(sm));
  }
}

// Cabinets: their figures, the battery's power and energy-weighted SOC.
void sum_cabinets(const summary_input& in, plant_state& ps) {
  const auto& cfg = *in.cfg;
  double energy = 0;
  double soc_energy = 0;
  for (std::size_t i = 0; i < in.snap->cabinets.size(); ++i) {
    const auto& c = in.snap->cabinets[i];
    const auto& smp = (*in.cabinets)[i];
    plant_state::device d;
    d.id = cfg.cabinets[i].id;
    d.available = c.fresh;
    d.error = smp.error;
    d.serial = smp.serial;
    d.serial_error = smp.serial_error;
    d.serial_unsupported = smp.serial_unsupported;
    d.power_w = c.power_w;
    d.soc_percent = c.soc;
    d.setpoint_w = i < in.last->cabinet_w.size() ? in.last->cabinet_w[i] : 0;
    if (c.fresh) {
      ps.battery_w += c.power_w;
      energy += cfg.cabinets[i].rated_energy_wh;
      soc_energy += c.soc * cfg.cabinets[i].rated_energy_wh;
    }
    ps.cabinets.push_back(std::move(d));
    ps.cabinet_details.push_back({cfg.cabinets[i].id, smp.soh_percent, smp.cycles,
                                  smp.cell_voltage_max_v, smp.cell_voltage_min_v,
                                  smp.cell_temperature_max_c, smp.cell_temperature_min_c,
                                  smp.fire_state, smp.coolant_inlet_c, smp.coolant_outlet_c,
                                  smp.pump_running, smp.cooling_fault});
  }
  ps.soc_percent = energy > 0 ? reading{soc_energy / energy, quality::measured} : reading{};
}

void list_inverters(const summary_input& in, plant_state& ps) {
  std::size_t k = 0;
  for (const auto& line : in.cfg->rs485_lines)
    for (const auto& dev : line.devices) {
      if (dev.role != device_role::pv_inverter || k >= in.inverters->size())
        continue;
      const auto& s = (*in.inverters)[k];
      plant_state::device d;
      d.id = dev.id;
      d.available = in.snap->inverters[k].fresh;
      d.error = s.error;
      d.serial = s.serial;
      d.serial_error = s.serial_error;
      d.serial_unsupported = s.serial_unsupported;
      d.power_w = s.power_w;
      d.setpoint_w = in.last->pv_limit_fraction * 100;
      ps.inverters.push_back(std::move(d));
      ++k;
    }
}

// Cabinets that do not answer, or that another master writes. One behind
// the EMS-Switch unit is reported silent once it has been for a moment: the
// cabinets of a cut uplink go silent within a poll period of each other,
// and make one uplink alarm, not ten.
void cabinet_conditions(const summary_input& in, summary_memory& mem, plant_state& ps) {
  const auto now = in.snap->now;
  const auto* sw = in.cfg->ems.ems_switch ? &*in.cfg->ems.ems_switch : nullptr;
  for (std::size_t i = 0; i < ps.cabinets.size(); ++i) {
    const auto& c = ps.cabinets[i];
    bool behind_switch =
      sw
      && std::find(sw->cabinet_ids.begin(), sw->cabinet_ids.end(), c.id) != sw->cabinet_ids.end();
    if (c.available || !behind_switch)
      mem.silent_since.erase(c.id);
    else
      mem.silent_since.try_emplace(c.id, now);
    bool settled =
      !behind_switch || (!c.available && now - mem.silent_since.at(c.id) >= uplink_settle);
    if (auto f = in.foreign.find(c.id); f != in.foreign.end()) {
      ps.conditions.push_back(
        {"foreign_master", c.id, alarms::severity::critical,
         fmt::format("another controller is writing to {}: its setpoint reads {:.0f} W where "
                     "plantd wrote {:.0f} W; plantd no longer commands it until an installer "
                     "acknowledges this alarm",
                     c.id, f->second.seen_w, f->second.wrote_w)});
      settled = false;  // it answers: not silent
    }
    if (!c.available && settled)
      ps.conditions.push_back({"comm_lost", c.id, alarms::severity::major,
                               c.error.empty() ? "no fresh reading" : c.error});
    for (const auto& f : (*in.cabinets)[i].flags)
      ps.conditions.push_back(f);
  }
}

}  // namespace

plant_state summarize(const summary_input& in, summary_memory& mem) {
  const auto& cfg = *in.cfg;
  const auto& snap = *in.snap;
  const auto& last = *in.last;
  plant_state ps;
  ps.time = snap.calendar;
  bool meter_ok = snap.grid_w.usable()
                  && snap.now - snap.grid_time
                       <= std::chrono::milliseconds{cfg.policies.fail_safe.meter_stale_ms};
  ps.grid_meter_available = meter_ok;
  ps.grid_w = meter_ok ? snap.grid_w : reading{0, quality::stale};
  ps.grid_import_wh = in.grid->import_wh;
  ps.grid_export_wh = in.grid->export_wh;
  sum_sub_meters(in, ps);

  // PV: the inverters as read (dispatch may estimate a stale one from its
  // limit), or the PV meter where there are none.
  double pv = 0;
  bool pv_ok = !in.inverters->empty();
  for (std::size_t i = 0; i < snap.inverters.size(); ++i) {
    pv += snap.inverters[i].fresh ? (*in.inverters)[i].power_w : 0;
    pv_ok = pv_ok && snap.inverters[i].fresh;
  }
  if (snap.inverters.empty() && in.pv_meter && in.pv_meter->power_w.usable()) {
    pv = in.pv_meter->power_w.value;
    pv_ok = true;
  }
  ps.pv_w = {pv, pv_ok ? quality::measured : quality::missing};
  sum_cabinets(in, ps);
  ps.load_w = (meter_ok && pv_ok) ? reading{ps.grid_w.value + pv + ps.battery_w, quality::estimated}
                                  : reading{};
  list_inverters(in, ps);

  ps.battery_setpoint_w = last.battery_w;
  ps.mode = cfg.policies.mode;
  ps.binding = last.binding;
  ps.pv_binding = last.pv_binding;
  ps.explanation = last.explanation;
  ps.pv_limit_percent = last.pv_limit_fraction * 100;
  ps.export_trip = in.dstate->export_trip;
  ps.manual_active = in.dstate->manual.has_value();
  ps.manual_setpoint_w = in.dstate->manual ? in.dstate->manual->power_w : 0;
  ps.io_available = in.io_present && in.io_ok;
  ps.decisions = in.decisions;

  // Conditions for the alarm actor.
  auto& conds = ps.conditions;
  cabinet_conditions(in, mem, ps);
  for (const auto& inv : ps.inverters)
    if (!inv.available)
      conds.push_back({"comm_lost", inv.id, alarms::severity::major,
                       inv.error.empty() ? "no fresh reading" : inv.error});
  // A meter that answers with impossible values is not silent, but its
  // readings are dropped the same way (fail-safe once the last good one is
  // stale): say which it is.
  const auto& grid = *in.grid;
  bool meter_invalid = grid.power_w.quality == quality::invalid;
  if (meter_invalid)
    conds.push_back({"invalid_reading", grid_meter_id(cfg), alarms::severity::critical,
                     grid.error.empty() ? "invalid reading" : grid.error});
  else if (!meter_ok)
    conds.push_back({"comm_lost", grid_meter_id(cfg), alarms::severity::critical,
                     grid.error.empty() ? "no fresh reading" : grid.error});
  if (in.io_present && !in.io_ok)
    conds.push_back({"comm_lost", "io", alarms::severity::major,
                     in.io_error.empty() ? "no reading" : in.io_error});
  if (last.binding == dispatch::rule::safety)
    conds.push_back({"plant_stopped", "plant", alarms::severity::critical, last.explanation});
  if (last.binding == dispatch::rule::fail_safe)
    conds.push_back({"fail_safe", "plant", alarms::severity::major, last.explanation});
  if (in.dstate->export_trip)
    conds.push_back({"export_trip", "plant", alarms::severity::critical,
                     "export limit exceeded beyond the protection time: trip output open"});
  // An uplink that comes back brings its cabinets back one by one, each at
  // its link's next retry: the ones not back yet stay part of the uplink
  // alarm meanwhile (uplink_return), so they do not raise alarms of their own.
  if (alarms::fold_uplink_loss(cfg, conds)) {  // every one silent
    mem.uplink_cut = true;
    mem.uplink_back_by = snap.now + uplink_return;
  } else if (!(mem.uplink_cut && snap.now < mem.uplink_back_by
               && alarms::fold_uplink_loss(cfg, conds, true))) {
    mem.uplink_cut = false;
  }
  // The generic alarm inputs.
  if (in.io_present && in.io_ok)
    for (auto& c : plantd::io::input_alarms(cfg.io.inputs, in.di))
      conds.push_back(std::move(c));
  return ps;
}

}  // namespace plantd::plant
