// plant-sim's core: every device a plant config names, served over Modbus at
// the address the config gives, with physics behind the registers and faults
// that can be injected while it runs.
//
//   cabinets            Modbus TCP at cabinets[i].modbus (cm2-cabinet map)
//   RS485 lines         Modbus TCP at the line's tcp_gateway (several unit
//                       ids), or Modbus RTU on a pty pair created at the
//                       line's serial device path (rtu option)
//   DRED / RCR / DI/DO  Modbus at io.modbus_gateway (plantd-io map)
//
// Thread: run_once() on one thread; every other member may be called from
// any thread (they take the same lock).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "drivers/pointtables/registry.hpp"
#include "drivers/sim/modbus_server.hpp"
#include "drivers/sim/physics.hpp"
#include "model/common/expected.hpp"
#include "model/io/demand_response.hpp"
#include "model/plant/config.hpp"

namespace plantd::sim {

struct sim_options {
  double speed = 1.0;  // simulated seconds per real second
  uint64_t seed = 1;
  bool rtu = false;                     // serve lines that name a serial device over pty pairs
  time_point start{};                   // simulated start time (UTC)
  std::chrono::milliseconds step{100};  // real time between physics steps
  double initial_soc = 50;
};

enum class fault_kind {
  silent,
  slow,
  exception,
  frozen,
  crc_error,
  bms_derate,
  fire_alarm,
  contactor_trip,
  cooling_fault,
  foreign_master,  // cabinet: another master writes its setpoint
  ct_reversed,     // grid or PV meter: the CT fitted backwards
  ct_ratio,        // grid or PV meter: reads ct_factor times the power
  wrong_serial,    // cabinet or inverter: another device at its address
};

struct fault_request {
  std::string device_id;
  fault_kind kind = fault_kind::silent;
  std::chrono::milliseconds delay{0};  // slow
  uint8_t exception_code = 4;          // exception
  double derate = 0.5;                 // bms_derate: factor 0..1
  double ct_factor = 0.5;              // ct_ratio: > 0, not 1
  std::string serial;                  // wrong_serial: what it reports (empty: made up)
};

struct io_inputs {
  std::array<bool, 2> di{};
  io::dred_contacts dred;
  std::array<bool, 4> rcr{};
};

struct endpoint_info {
  std::string device_id;
  std::string address;   // "127.0.0.1:15001" or a pty path
  std::string protocol;  // "tcp" or "rtu"
};

struct sim_snapshot {
  time_point now{};
  plant_state plant;
  std::array<bool, 2> outputs{};
  uint64_t requests_answered = 0;
};

class plant_sim {
public:
  // Throws std::runtime_error when a device cannot be served (a port in use,
  // an unknown point table, a pty that cannot be made).
  plant_sim(const plant::config& cfg, const pointtables::registry& tables, sim_options opts);
  ~plant_sim();

  std::vector<endpoint_info> endpoints() const;

  // Serves requests for up to `max_wait` and advances the physics when a
  // step is due. Call in a loop.
  void run_once(std::chrono::milliseconds max_wait);

  // A fault on one device. The EMS-Switch unit's id with kind silent cuts
  // its uplink: every cabinet wired to it stops answering.
  expected<void, std::string> inject(const fault_request& f);
  // Clears the faults of one device (the EMS-Switch unit's id: of the
  // cabinets behind it), or of every device when id is empty.
  expected<void, std::string> clear(const std::string& device_id);
  void set_inputs(const io_inputs& in);
  io_inputs inputs() const;
  // Holds the load at `watts`; a negative value returns to the profile.
  void set_load(double watts);
  sim_snapshot snapshot() const;

private:
  struct device;
  void update_registers();
  void read_commands();
  device* find(const std::string& id);

  mutable std::mutex mtx_;
  sim_options opts_;
  std::unique_ptr<physics> physics_;
  modbus_server server_;
  std::vector<std::unique_ptr<device>> devices_;
  std::vector<endpoint_info> endpoints_;
  std::vector<int> socat_pids_;
  // The EMS-Switch unit and the cabinets wired to it (none: no switch).
  std::string switch_id_;
  std::vector<std::string> switch_cabinets_;
  io_inputs inputs_;
  std::array<bool, 2> outputs_{};
  time_point sim_now_{};
  std::chrono::steady_clock::time_point last_step_;
  double sim_carry_ms_ = 0;
};

}  // namespace plantd::sim
