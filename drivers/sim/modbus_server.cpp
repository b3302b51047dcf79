#include "drivers/sim/modbus_server.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <modbus.h>

namespace plantd::sim {

using steady = std::chrono::steady_clock;

// -- register_image ----------------------------------------------------------------

register_image::register_image(const pointtables::table& t)
  : table_(&t) {
  // One contiguous range per function code, covering every point.
  struct range {
    int lo = INT_MAX;
    int hi = 0;
  };
  range r[5];
  for (const auto& p : t.points) {
    r[p.fc].lo = std::min<int>(r[p.fc].lo, p.address);
    r[p.fc].hi = std::max<int>(r[p.fc].hi, p.end());
  }
  auto start = [&](int fc) { return r[fc].lo == INT_MAX ? 0 : r[fc].lo; };
  auto count = [&](int fc) { return r[fc].lo == INT_MAX ? 0 : r[fc].hi - r[fc].lo; };
  map_ = modbus_mapping_new_start_address(
    static_cast<unsigned>(start(1)), static_cast<unsigned>(count(1)),
    static_cast<unsigned>(start(2)), static_cast<unsigned>(count(2)),
    static_cast<unsigned>(start(3)), static_cast<unsigned>(count(3)),
    static_cast<unsigned>(start(4)), static_cast<unsigned>(count(4)));
  if (!map_)
    throw std::runtime_error(fmt::format("cannot allocate registers for {}", t.name));
}

register_image::~register_image() {
  modbus_mapping_free(map_);
}

uint16_t* register_image::slot(const pointtables::point& p) const {
  if (p.fc == 3)
    return map_->tab_registers + (p.address - map_->start_registers);
  return map_->tab_input_registers + (p.address - map_->start_input_registers);
}

bool register_image::set(std::string_view name, double value) {
  auto i = table_->index_of(name);
  if (!i)
    return false;
  const auto& p = table_->points[*i];
  if (p.fc == 1 || p.fc == 2) {
    auto* bits = p.fc == 1 ? map_->tab_bits + (p.address - map_->start_bits)
                           : map_->tab_input_bits + (p.address - map_->start_input_bits);
    *bits = value != 0 ? 1 : 0;
    return true;
  }
  auto regs = pointtables::encode(p, value);
  std::copy(regs.begin(), regs.end(), slot(p));
  return true;
}

bool register_image::set_text(std::string_view name, std::string_view text) {
  auto i = table_->index_of(name);
  if (!i || table_->points[*i].type != pointtables::value_type::text)
    return false;
  auto regs = pointtables::encode_text(table_->points[*i], text);
  std::copy(regs.begin(), regs.end(), slot(table_->points[*i]));
  return true;
}

std::optional<double> register_image::get(std::string_view name) const {
  auto i = table_->index_of(name);
  if (!i)
    return std::nullopt;
  const auto& p = table_->points[*i];
  if (p.fc == 1 || p.fc == 2) {
    auto* bits = p.fc == 1 ? map_->tab_bits + (p.address - map_->start_bits)
                           : map_->tab_input_bits + (p.address - map_->start_input_bits);
    return *bits != 0 ? 1.0 : 0.0;
  }
  auto r = pointtables::decode(p, slot(p));
  if (r.quality != quality::measured)
    return std::nullopt;
  return r.value;
}

// -- server ------------------------------------------------------------------------

struct modbus_server::endpoint {
  bool rtu = false;
  bool gateway = true;
  modbus_t* ctx = nullptr;
  int listen_fd = -1;
  uint16_t port = 0;
  std::vector<int> clients;
  std::map<uint8_t, unit_slot> units;
  // RTU framing.
  std::vector<uint8_t> buffer;
  steady::time_point last_byte{};

  ~endpoint() {
    for (int fd : clients)
      ::close(fd);
    if (listen_fd >= 0)
      ::close(listen_fd);
    if (ctx) {
      if (rtu)
        modbus_close(ctx);
      modbus_free(ctx);
    }
  }
};

struct modbus_server::pending {
  endpoint* ep;
  int fd;
  std::vector<uint8_t> request;
  unit_slot slot;
  steady::time_point due;
};

modbus_server::modbus_server() = default;
modbus_server::~modbus_server() = default;

std::size_t modbus_server::add_tcp(const std::string& host, uint16_t port, bool gateway) {
  auto ep = std::make_unique<endpoint>();
  ep->gateway = gateway;
  ep->ctx = modbus_new_tcp(host.c_str(), port);
  if (!ep->ctx)
    throw std::runtime_error(fmt::format("cannot serve Modbus TCP on {}:{}", host, port));
  ep->listen_fd = modbus_tcp_listen(ep->ctx, 16);
  if (ep->listen_fd < 0)
    throw std::runtime_error(
      fmt::format("cannot listen on {}:{}: {}", host, port, modbus_strerror(errno)));
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(ep->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ep->port = ntohs(addr.sin_port);
  endpoints_.push_back(std::move(ep));
  return endpoints_.size() - 1;
}

std::size_t modbus_server::add_rtu(const std::string& device, uint32_t baud, char parity,
                                   int data_bits, int stop_bits) {
  auto ep = std::make_unique<endpoint>();
  ep->rtu = true;
  ep->ctx = modbus_new_rtu(device.c_str(), static_cast<int>(baud), parity, data_bits, stop_bits);
  if (!ep->ctx || modbus_connect(ep->ctx) != 0)
    throw std::runtime_error(
      fmt::format("cannot open {} for Modbus RTU: {}", device, modbus_strerror(errno)));
  endpoints_.push_back(std::move(ep));
  return endpoints_.size() - 1;
}

void modbus_server::attach(std::size_t ep, uint8_t unit, unit_slot slot) {
  endpoints_.at(ep)->units[unit] = slot;
}

uint16_t modbus_server::port(std::size_t ep) const {
  return endpoints_.at(ep)->port;
}

namespace {

uint16_t crc16(const uint8_t* data, std::size_t n) {
  uint16_t crc = 0xFFFF;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b)
      crc =
        (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0xA001) : static_cast<uint16_t>(crc >> 1);
  }
  return crc;
}

}  // namespace

void modbus_server::send_reply(endpoint& ep, int fd, const std::vector<uint8_t>& req,
                               unit_slot slot) {
  if (!ep.rtu)
    modbus_set_socket(ep.ctx, fd);
  int len = static_cast<int>(req.size());
  if (slot.faults && slot.faults->exception != 0) {
    modbus_reply_exception(ep.ctx, req.data(), slot.faults->exception);
  } else if (slot.faults && slot.faults->crc_error && ep.rtu) {
    uint8_t frame[7] = {req[0], req[1], 2, 0, 0, 0, 0};
    auto crc = crc16(frame, 5) ^ 0x5A5A;  // deliberately wrong
    frame[5] = static_cast<uint8_t>(crc & 0xFF);
    frame[6] = static_cast<uint8_t>(crc >> 8);
    [[maybe_unused]] auto n = ::write(modbus_get_socket(ep.ctx), frame, sizeof frame);
  } else {
    modbus_reply(ep.ctx, req.data(), len, slot.image->mapping());
  }
  ++answered_;
  if (slot.answered)
    ++*slot.answered;
}

void modbus_server::answer(endpoint& ep, int fd, const uint8_t* req, int len) {
  uint8_t unit = ep.rtu ? req[0] : req[6];
  unit_slot slot;
  if (!ep.rtu && !ep.gateway && !ep.units.empty()) {
    slot = ep.units.begin()->second;
  } else if (auto it = ep.units.find(unit); it != ep.units.end()) {
    slot = it->second;
  } else {
    if (!ep.rtu) {  // a gateway with nobody at that unit id
      modbus_set_socket(ep.ctx, fd);
      modbus_reply_exception(ep.ctx, req, MODBUS_EXCEPTION_GATEWAY_TARGET);
    }
    return;  // RTU: nobody answers
  }
  if (slot.faults && slot.faults->silent)
    return;
  std::vector<uint8_t> copy(req, req + len);
  if (slot.faults && slot.faults->delay.count() > 0) {
    pending_.push_back(std::make_unique<pending>(
      pending{&ep, fd, std::move(copy), slot, steady::now() + slot.faults->delay}));
    return;
  }
  send_reply(ep, fd, copy, slot);
}

void modbus_server::handle_tcp(endpoint& ep, int fd) {
  uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
  modbus_set_socket(ep.ctx, fd);
  int rc = modbus_receive(ep.ctx, req);
  if (rc > 0) {
    answer(ep, fd, req, rc);
    return;
  }
  if (rc < 0) {  // closed or broken: forget the client
    ::close(fd);
    ep.clients.erase(std::remove(ep.clients.begin(), ep.clients.end(), fd), ep.clients.end());
  }
}

void modbus_server::handle_rtu(endpoint& ep) {
  int fd = modbus_get_socket(ep.ctx);
  uint8_t chunk[512];
  auto n = ::read(fd, chunk, sizeof chunk);
  if (n <= 0)
    return;
  auto now = steady::now();
  // Silence of more than 3.5 characters ends a frame; be generous on ptys.
  if (!ep.buffer.empty() && now - ep.last_byte > std::chrono::milliseconds{50})
    ep.buffer.clear();
  ep.last_byte = now;
  ep.buffer.insert(ep.buffer.end(), chunk, chunk + n);
  auto& b = ep.buffer;
  while (b.size() >= 4) {
    uint8_t fc = b[1];
    std::size_t need = 0;
    if (fc >= 1 && fc <= 6)
      need = 8;
    else if (fc == 15 || fc == 16)
      need = b.size() >= 7 ? 9 + static_cast<std::size_t>(b[6]) : 0;
    else {
      b.clear();  // not a request we know: resynchronize on the next frame
      break;
    }
    if (need == 0 || b.size() < need)
      break;
    uint16_t crc = crc16(b.data(), need - 2);
    if (b[need - 2] != (crc & 0xFF) || b[need - 1] != (crc >> 8)) {
      b.erase(b.begin());  // bad CRC: slide and look for a frame start
      continue;
    }
    answer(ep, fd, b.data(), static_cast<int>(need));
    b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(need));
  }
}

void modbus_server::poll(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  struct source {
    endpoint* ep;
    int kind;  // 0 listen, 1 client, 2 rtu
    int fd;
  };
  std::vector<source> sources;
  for (auto& ep : endpoints_) {
    if (ep->rtu) {
      fds.push_back({modbus_get_socket(ep->ctx), POLLIN, 0});
      sources.push_back({ep.get(), 2, fds.back().fd});
      continue;
    }
    fds.push_back({ep->listen_fd, POLLIN, 0});
    sources.push_back({ep.get(), 0, ep->listen_fd});
    for (int c : ep->clients) {
      fds.push_back({c, POLLIN, 0});
      sources.push_back({ep.get(), 1, c});
    }
  }
  auto now = steady::now();
  for (const auto& p : pending_)
    timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::max(p->due - now, steady::duration::zero())));
  int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  for (std::size_t i = 0; ready > 0 && i < fds.size(); ++i) {
    if (fds[i].revents == 0)
      continue;
    auto& src = sources[i];
    if (src.kind == 0) {
      int c = ::accept(src.fd, nullptr, nullptr);
      if (c >= 0)
        src.ep->clients.push_back(c);
    } else if (src.kind == 1) {
      handle_tcp(*src.ep, src.fd);
    } else {
      handle_rtu(*src.ep);
    }
  }
  now = steady::now();
  while (!pending_.empty()) {
    auto it = std::min_element(pending_.begin(), pending_.end(),
                               [](const auto& a, const auto& b) { return a->due < b->due; });
    if ((*it)->due > now)
      break;
    auto p = std::move(*it);
    pending_.erase(it);
    auto& ep = *p->ep;
    bool alive =
      ep.rtu || std::find(ep.clients.begin(), ep.clients.end(), p->fd) != ep.clients.end();
    if (alive)
      send_reply(ep, p->fd, p->request, p->slot);
  }
}

}  // namespace plantd::sim
