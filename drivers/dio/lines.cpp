#include "drivers/dio/lines.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/gpio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "drivers/devices/device.hpp"

namespace plantd::dio {

namespace {

constexpr std::size_t input_count = 15;

line_state from_bits(const std::array<bool, input_count>& b) {
  line_state s;
  s.di = {b[0], b[1]};
  for (std::size_t i = 0; i < 4; ++i) {
    s.dred.to_com[i] = b[2 + i];
    s.dred.to_refgen[i] = b[6 + i];
    s.rcr[i] = b[11 + i];
  }
  s.dred.refgen_to_com = b[10];
  return s;
}

class modbus_source final : public line_source {
public:
  modbus_source(const pointtables::table& t, std::shared_ptr<modbus::register_bus> bus,
                uint8_t unit)
    : bus_(std::move(bus)),
      dev_(t, *bus_, unit) {}

  expected<line_state, std::string> read() override {
    static constexpr std::array<const char*, input_count> names{"di1",
                                                                "di2",
                                                                "drm1_5_to_com",
                                                                "drm2_6_to_com",
                                                                "drm3_7_to_com",
                                                                "drm4_8_to_com",
                                                                "drm1_5_to_refgen",
                                                                "drm2_6_to_refgen",
                                                                "drm3_7_to_refgen",
                                                                "drm4_8_to_refgen",
                                                                "refgen_to_com",
                                                                "rcr_din1",
                                                                "rcr_din2",
                                                                "rcr_din3",
                                                                "rcr_din4"};
    auto snap = dev_.read_all();
    if (snap.failure)
      return unexpected{modbus::describe(*snap.failure)};
    std::array<bool, input_count> bits{};
    for (std::size_t i = 0; i < input_count; ++i) {
      auto v = dev_.value(snap, names[i]);
      if (!v.usable())
        return unexpected{
          fmt::format("point table {} has no point \"{}\"", dev_.table().name, names[i])};
      bits[i] = v.value != 0;
    }
    return from_bits(bits);
  }

  expected<void, std::string> set_output(int channel, bool closed) override {
    if (channel != 1 && channel != 2)
      return unexpected{fmt::format("DO{} does not exist (DO1, DO2)", channel)};
    auto r = dev_.write(channel == 1 ? "do1" : "do2", closed ? 1 : 0);
    if (!r)
      return unexpected{modbus::describe(r.error())};
    return {};
  }

private:
  std::shared_ptr<modbus::register_bus> bus_;  // declared first: dev_ refers to it
  devices::device dev_;
};

class gpio_source final : public line_source {
public:
  gpio_source(int in_fd, int out_fd)
    : in_(in_fd),
      out_(out_fd) {}
  ~gpio_source() override {
    ::close(in_);
    ::close(out_);
  }

  expected<line_state, std::string> read() override {
    gpiohandle_data data{};
    if (ioctl(in_, GPIOHANDLE_GET_LINE_VALUES_IOCTL, &data) < 0)
      return unexpected{fmt::format("reading GPIO lines: {}", std::strerror(errno))};
    std::array<bool, input_count> bits{};
    for (std::size_t i = 0; i < input_count; ++i)
      bits[i] = data.values[i] != 0;
    return from_bits(bits);
  }

  expected<void, std::string> set_output(int channel, bool closed) override {
    if (channel != 1 && channel != 2)
      return unexpected{fmt::format("DO{} does not exist (DO1, DO2)", channel)};
    outputs_[static_cast<std::size_t>(channel - 1)] = closed ? 1 : 0;
    gpiohandle_data data{};
    data.values[0] = outputs_[0];
    data.values[1] = outputs_[1];
    if (ioctl(out_, GPIOHANDLE_SET_LINE_VALUES_IOCTL, &data) < 0)
      return unexpected{fmt::format("setting DO{}: {}", channel, std::strerror(errno))};
    return {};
  }

private:
  int in_;
  int out_;
  std::array<uint8_t, 2> outputs_{};
};

}  // namespace

std::unique_ptr<line_source> modbus_lines(const pointtables::table& io_table,
                                          std::shared_ptr<modbus::register_bus> bus, uint8_t unit) {
  return std::make_unique<modbus_source>(io_table, std::move(bus), unit);
}

expected<std::unique_ptr<line_source>, std::string> gpio_lines(const std::string& chip) {
  int fd = ::open(chip.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return unexpected{fmt::format("cannot open GPIO chip {}: {}", chip, std::strerror(errno))};
  gpiohandle_request in{};
  for (uint32_t i = 0; i < input_count; ++i)
    in.lineoffsets[i] = i;
  in.lines = input_count;
  in.flags = GPIOHANDLE_REQUEST_INPUT;
  std::strncpy(in.consumer_label, "plantd-in", sizeof in.consumer_label - 1);
  gpiohandle_request out{};
  out.lineoffsets[0] = 15;
  out.lineoffsets[1] = 16;
  out.lines = 2;
  out.flags = GPIOHANDLE_REQUEST_OUTPUT;
  std::strncpy(out.consumer_label, "plantd-out", sizeof out.consumer_label - 1);
  if (ioctl(fd, GPIO_GET_LINEHANDLE_IOCTL, &in) < 0) {
    auto err = fmt::format("cannot take GPIO lines 0..14 of {}: {}", chip, std::strerror(errno));
    ::close(fd);
    return unexpected{err};
  }
  if (ioctl(fd, GPIO_GET_LINEHANDLE_IOCTL, &out) < 0) {
    auto err = fmt::format("cannot take GPIO lines 15..16 of {}: {}", chip, std::strerror(errno));
    ::close(in.fd);
    ::close(fd);
    return unexpected{err};
  }
  ::close(fd);  // the line handles stay valid
  return std::unique_ptr<line_source>{std::make_unique<gpio_source>(in.fd, out.fd)};
}

}  // namespace plantd::dio
