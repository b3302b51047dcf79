// A Modbus server for simulated devices: TCP endpoints (each may host several
// unit ids, as an RS485-to-Ethernet gateway does) and RTU endpoints on serial
// lines (a pty of a socat pair in tests). Each unit is a register image
// (libmodbus mapping) plus the faults injected into it.
//
// Thread: not thread-safe; one thread runs poll() and owns the images. Other
// threads change images and faults under the caller's own lock, between polls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "drivers/pointtables/point_table.hpp"

typedef struct _modbus modbus_t;
typedef struct _modbus_mapping_t modbus_mapping_t;

namespace plantd::sim {

// Faults a simulated device can show on the wire.
struct wire_faults {
  bool silent = false;                 // no answer at all
  std::chrono::milliseconds delay{0};  // answer late
  uint8_t exception = 0;               // answer with this exception code
  bool crc_error = false;              // RTU: answer with a corrupt CRC
};

// The registers of one device, laid out by its point table.
class register_image {
public:
  explicit register_image(const pointtables::table& t);
  ~register_image();
  register_image(const register_image&) = delete;
  register_image& operator=(const register_image&) = delete;

  // Engineering value of point `name`; false when the table has no such point.
  bool set(std::string_view name, double value);
  // Text of the string point `name`; false when the table has no such point.
  bool set_text(std::string_view name, std::string_view text);
  // Current engineering value of `name` (what a client wrote, for rw points).
  std::optional<double> get(std::string_view name) const;

  const pointtables::table& table() const noexcept { return *table_; }
  modbus_mapping_t* mapping() noexcept { return map_; }

private:
  uint16_t* slot(const pointtables::point& p) const;

  const pointtables::table* table_;
  modbus_mapping_t* map_ = nullptr;
};

struct unit_slot {
  register_image* image = nullptr;
  wire_faults* faults = nullptr;
  // Requests answered for this unit (a device's communication-loss
  // fallback watches it); optional.
  std::atomic<uint64_t>* answered = nullptr;
};

class modbus_server {
public:
  modbus_server();
  ~modbus_server();

  // Listens on host:port (port 0: any free port); returns the endpoint index.
  // A gateway answers only the unit ids attached to it (others get exception
  // 0x0B); a device endpoint answers any unit id, as a device behind its own
  // IP address does.
  std::size_t add_tcp(const std::string& host, uint16_t port, bool gateway);
  // Serves RTU on a serial device; returns the endpoint index.
  std::size_t add_rtu(const std::string& device, uint32_t baud, char parity, int data_bits,
                      int stop_bits);

  // Serves `image` as unit `unit` at endpoint `ep`.
  void attach(std::size_t ep, uint8_t unit, unit_slot slot);

  uint16_t port(std::size_t ep) const;

  // Waits up to `timeout` for requests and answers them (and any delayed
  // answers that fall due).
  void poll(std::chrono::milliseconds timeout);

  // Requests answered so far (for tests and statistics).
  uint64_t answered() const noexcept { return answered_; }

private:
  struct endpoint;
  struct pending;
  void handle_tcp(endpoint& ep, int fd);
  void handle_rtu(endpoint& ep);
  void answer(endpoint& ep, int fd, const uint8_t* req, int len);
  void send_reply(endpoint& ep, int fd, const std::vector<uint8_t>& req, unit_slot slot);

  std::vector<std::unique_ptr<endpoint>> endpoints_;
  std::deque<std::unique_ptr<pending>> pending_;
  uint64_t answered_ = 0;
};

}  // namespace plantd::sim
