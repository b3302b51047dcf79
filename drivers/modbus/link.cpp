#include "drivers/modbus/link.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <modbus.h>

namespace plantd::modbus {

struct link::impl {
  modbus_t* ctx = nullptr;
  bool is_open = false;
  bool is_rtu = false;
  std::string name;
  link_options opts;
  const clock* clk;
  backoff retry;

  impl(link_options o, const clock& c)
    : opts(o),
      clk(&c),
      retry(o.backoff_initial, o.backoff_max) {}

  ~impl() {
    if (ctx) {
      modbus_close(ctx);
      modbus_free(ctx);
    }
  }

  // Classifies errno after a failed libmodbus call.
  failure classify(const char* what) {
    int e = errno;
    failure f;
    f.message = fmt::format("{} on {}: {}", what, name, modbus_strerror(e));
    if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET) {
      f.fault = fault::exception;
      f.exception_code = static_cast<uint8_t>(e - MODBUS_ENOBASE);
      f.message = fmt::format("{} on {}", what, name);
    } else if (e == ETIMEDOUT) {
      f.fault = fault::timeout;
    } else if (e == EMBBADCRC) {
      f.fault = fault::crc;
    } else if (e == EMBBADDATA || e == EMBBADEXC || e == EMBMDATA || e == EMBBADSLAVE
               || e == EMBUNKEXC) {
      f.fault = fault::malformed;
    } else {
      f.fault = fault::disconnected;
    }
    return f;
  }

  result<void> ensure_open() {
    if (is_open)
      return {};
    auto now = clk->now();
    if (!retry.ready(now))
      return unexpected{failure{fault::disconnected, 0,
                                fmt::format("{}: not connected; next attempt in {} ms", name,
                                            (retry.not_before() - now).count())}};
    if (modbus_connect(ctx) != 0) {
      auto f = classify("connect");
      f.fault = fault::disconnected;
      retry.failed(now);
      return unexpected{std::move(f)};
    }
    is_open = true;
    retry.succeeded();
    return {};
  }

  // After a failure: drop a broken connection, flush after a timeout.
  void after_failure(const failure& f) {
    if (f.fault == fault::disconnected || (f.fault == fault::timeout && !is_rtu)) {
      // A TCP timeout leaves an unknown state (a half-read frame, a late
      // answer): start clean.
      modbus_close(ctx);
      is_open = false;
    } else if (f.fault == fault::timeout || f.fault == fault::crc || f.fault == fault::malformed) {
      modbus_flush(ctx);
    }
  }

  template <class F>
  auto request(uint8_t unit, const char* what, F&& call) -> result<void> {
    if (auto ok = ensure_open(); !ok)
      return ok;
    modbus_set_slave(ctx, unit);
    if (call() < 0) {
      auto f = classify(what);
      after_failure(f);
      return unexpected{std::move(f)};
    }
    return {};
  }

  void set_timeout() {
    auto ms = opts.timeout.count();
    modbus_set_response_timeout(ctx, static_cast<uint32_t>(ms / 1000),
                                static_cast<uint32_t>((ms % 1000) * 1000));
  }
};

link::link(const tcp_params& tcp, link_options opts, const clock& clk)
  : impl_(std::make_unique<impl>(opts, clk)) {
  auto port = std::to_string(tcp.port);
  impl_->ctx = modbus_new_tcp_pi(tcp.host.c_str(), port.c_str());
  impl_->name = fmt::format("tcp {}:{}", tcp.host, tcp.port);
  if (impl_->ctx)
    impl_->set_timeout();
}

link::link(const rtu_params& rtu, link_options opts, const clock& clk)
  : impl_(std::make_unique<impl>(opts, clk)) {
  impl_->is_rtu = true;
  impl_->ctx = modbus_new_rtu(rtu.device.c_str(), static_cast<int>(rtu.baud), rtu.parity,
                              rtu.data_bits, rtu.stop_bits);
  impl_->name =
    fmt::format("rtu {} {} {}{}{}", rtu.device, rtu.baud, rtu.data_bits, rtu.parity, rtu.stop_bits);
  if (impl_->ctx)
    impl_->set_timeout();
}

link::~link() = default;
link::link(link&&) noexcept = default;
link& link::operator=(link&&) noexcept = default;

const std::string& link::name() const noexcept {
  return impl_->name;
}

bool link::connected() const noexcept {
  return impl_->is_open;
}

void link::close() {
  if (impl_->ctx && impl_->is_open)
    modbus_close(impl_->ctx);
  impl_->is_open = false;
}

namespace {

failure bad_request(std::string text) {
  return {fault::bad_request, 0, std::move(text)};
}

failure no_context(const std::string& name) {
  return {fault::bad_request, 0, fmt::format("{}: invalid parameters", name)};
}

}  // namespace

result<registers> link::read_registers(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count) {
  if (!impl_->ctx)
    return unexpected{no_context(impl_->name)};
  if (fc != 3 && fc != 4)
    return unexpected{bad_request(fmt::format("function code {} does not read registers", fc))};
  if (count < 1 || count > MODBUS_MAX_READ_REGISTERS)
    return unexpected{bad_request(fmt::format("cannot read {} registers (1..125)", count))};
  registers out(count);
  auto r = impl_->request(unit, fc == 3 ? "read holding registers" : "read input registers", [&] {
    return fc == 3 ? modbus_read_registers(impl_->ctx, address, count, out.data())
                   : modbus_read_input_registers(impl_->ctx, address, count, out.data());
  });
  if (!r)
    return unexpected{r.error()};
  return out;
}

result<bits> link::read_bits(uint8_t unit, uint8_t fc, uint16_t address, uint16_t count) {
  if (!impl_->ctx)
    return unexpected{no_context(impl_->name)};
  if (fc != 1 && fc != 2)
    return unexpected{bad_request(fmt::format("function code {} does not read bits", fc))};
  if (count < 1 || count > MODBUS_MAX_READ_BITS)
    return unexpected{bad_request(fmt::format("cannot read {} bits (1..2000)", count))};
  bits out(count);
  auto r = impl_->request(unit, fc == 1 ? "read coils" : "read discrete inputs", [&] {
    return fc == 1 ? modbus_read_bits(impl_->ctx, address, count, out.data())
                   : modbus_read_input_bits(impl_->ctx, address, count, out.data());
  });
  if (!r)
    return unexpected{r.error()};
  return out;
}

result<void> link::write_registers(uint8_t unit, uint16_t address, const registers& values,
                                   uint8_t fc) {
  if (!impl_->ctx)
    return unexpected{no_context(impl_->name)};
  if (values.empty() || values.size() > MODBUS_MAX_WRITE_REGISTERS)
    return unexpected{
      bad_request(fmt::format("cannot write {} registers (1..123)", values.size()))};
  if (fc != 16 && !(fc == 6 && values.size() == 1))
    return unexpected{
      bad_request(fmt::format("function code {} cannot write {} registers", fc, values.size()))};
  return impl_->request(unit, "write registers", [&] {
    return fc == 6 ? modbus_write_register(impl_->ctx, address, values[0])
                   : modbus_write_registers(impl_->ctx, address, static_cast<int>(values.size()),
                                            values.data());
  });
}

result<void> link::write_coil(uint8_t unit, uint16_t address, bool on) {
  if (!impl_->ctx)
    return unexpected{no_context(impl_->name)};
  return impl_->request(unit, "write coil",
                        [&] { return modbus_write_bit(impl_->ctx, address, on ? 1 : 0); });
}

}  // namespace plantd::modbus
