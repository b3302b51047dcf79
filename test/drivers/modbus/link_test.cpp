// Real Modbus over loopback TCP and over an RTU pty pair: round trips, every
// failure class, and recovery when the fault clears.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drivers/modbus/bus.hpp"
#include "drivers/pointtables/registry.hpp"
#include "test/support/sim_server.hpp"

using namespace plantd;
using namespace std::chrono_literals;

namespace {

const pointtables::table& cabinet_table() {
  static auto reg = pointtables::registry::builtin();
  return *reg.find("cm2-cabinet");
}

modbus::link_options fast(std::chrono::milliseconds timeout = 200ms) {
  modbus::link_options o;
  o.timeout = timeout;
  o.backoff_initial = 1000ms;
  o.backoff_max = 8000ms;
  return o;
}

struct tcp_fixture {
  test::threaded_server srv;
  sim::register_image image{cabinet_table()};
  sim::wire_faults faults;
  uint16_t port = 0;
  manual_clock clk{time_point{std::chrono::milliseconds{1'000'000}}};

  tcp_fixture() {
    auto ep = srv.server().add_tcp("127.0.0.1", 0, true);
    srv.server().attach(ep, 1, {&image, &faults});
    port = srv.server().port(ep);
    image.set("soc", 65.5);
    image.set("active_power", -42'000);
    srv.start();
  }

  modbus::link client(std::chrono::milliseconds timeout = 200ms) {
    return modbus::link{modbus::tcp_params{"127.0.0.1", port}, fast(timeout), clk};
  }
};

}  // namespace

TEST_CASE("registers round-trip over loopback Modbus TCP", "[modbus][tcp]") {
  tcp_fixture f;
  auto link = f.client();
  auto soc = link.read_registers(1, 3, 0x0101, 1);
  REQUIRE(soc);
  CHECK((*soc)[0] == 655);
  auto power = link.read_registers(1, 3, 0x0002, 2);
  REQUIRE(power);
  CHECK(static_cast<int32_t>((uint32_t{(*power)[0]} << 16) | (*power)[1]) == -42'000);
  REQUIRE(link.write_registers(1, 0x0006, {0xFFFF, 0x3CB0}));
  {
    auto guard = f.srv.lock();
    CHECK(f.image.get("power_setpoint") == -50'000);
  }
  REQUIRE(link.write_registers(1, 0x000D, {9}, 6));
  auto beat = link.read_registers(1, 3, 0x000D, 1);
  REQUIRE(beat);
  CHECK((*beat)[0] == 9);
  CHECK(link.connected());
}

TEST_CASE("a silent device is a timeout, and answers again once the fault clears",
          "[modbus][tcp][faults]") {
  tcp_fixture f;
  auto link = f.client(150ms);
  {
    auto guard = f.srv.lock();
    f.faults.silent = true;
  }
  auto r = link.read_registers(1, 3, 0x0101, 1);
  REQUIRE_FALSE(r);
  CHECK(r.error().fault == modbus::fault::timeout);
  {
    auto guard = f.srv.lock();
    f.faults.silent = false;
  }
  // A TCP timeout drops the connection; the reconnect waits for the backoff.
  f.clk.advance(1001ms);
  auto again = link.read_registers(1, 3, 0x0101, 1);
  REQUIRE(again);
  CHECK((*again)[0] == 655);
}

TEST_CASE("exception responses are classified with their code", "[modbus][tcp][faults]") {
  tcp_fixture f;
  auto link = f.client();
  SECTION("injected server device failure") {
    {
      auto guard = f.srv.lock();
      f.faults.exception = 4;
    }
    auto r = link.read_registers(1, 3, 0x0101, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().fault == modbus::fault::exception);
    CHECK(r.error().exception_code == 4);
    CHECK_THAT(modbus::describe(r.error()), Catch::Contains("server device failure"));
  }
  SECTION("an address outside the map") {
    auto r = link.read_registers(1, 3, 0x7000, 2);
    REQUIRE_FALSE(r);
    CHECK(r.error().exception_code == 2);
  }
  SECTION("a unit id the gateway does not know") {
    auto r = link.read_registers(9, 3, 0x0101, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().fault == modbus::fault::exception);
    CHECK(r.error().exception_code == 11);
  }
  // Exceptions keep the connection.
  CHECK(link.connected());
}

TEST_CASE("a slow device: late beyond the timeout fails, within it succeeds",
          "[modbus][tcp][faults]") {
  tcp_fixture f;
  {
    auto guard = f.srv.lock();
    f.faults.delay = 300ms;
  }
  auto impatient = f.client(100ms);
  auto r = impatient.read_registers(1, 3, 0x0101, 1);
  REQUIRE_FALSE(r);
  CHECK(r.error().fault == modbus::fault::timeout);
  auto patient = f.client(1000ms);
  auto ok = patient.read_registers(1, 3, 0x0101, 1);
  REQUIRE(ok);
  CHECK((*ok)[0] == 655);
}

TEST_CASE("no server: disconnected, with exponential backoff between attempts",
          "[modbus][tcp][faults]") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  uint16_t port = ntohs(addr.sin_port);
  close(fd);  // nothing listens there now

  manual_clock clk{time_point{std::chrono::milliseconds{0}}};
  modbus::link link{modbus::tcp_params{"127.0.0.1", port}, fast(), clk};
  auto first = link.read_registers(1, 3, 0, 1);
  REQUIRE_FALSE(first);
  CHECK(first.error().fault == modbus::fault::disconnected);
  CHECK_THAT(first.error().message, Catch::Contains("refused"));
  // Within the backoff no attempt is made at all.
  auto second = link.read_registers(1, 3, 0, 1);
  REQUIRE_FALSE(second);
  CHECK_THAT(second.error().message, Catch::Contains("next attempt in 1000 ms"));
  clk.advance(1000ms);
  auto third = link.read_registers(1, 3, 0, 1);
  REQUIRE_FALSE(third);
  CHECK_THAT(third.error().message, Catch::Contains("refused"));
  // The delay doubled.
  auto fourth = link.read_registers(1, 3, 0, 1);
  CHECK_THAT(fourth.error().message, Catch::Contains("next attempt in 2000 ms"));
}

TEST_CASE("a server that goes away and comes back is reconnected", "[modbus][tcp][faults]") {
  manual_clock clk{time_point{std::chrono::milliseconds{0}}};
  sim::register_image image{cabinet_table()};
  image.set("soc", 40);
  uint16_t port = 0;
  auto srv = std::make_unique<test::threaded_server>();
  auto ep = srv->server().add_tcp("127.0.0.1", 0, true);
  srv->server().attach(ep, 1, {&image, nullptr});
  port = srv->server().port(ep);
  srv->start();
  modbus::link link{modbus::tcp_params{"127.0.0.1", port}, fast(), clk};
  REQUIRE(link.read_registers(1, 3, 0x0101, 1));
  srv.reset();  // closes the listener and every client connection
  auto lost = link.read_registers(1, 3, 0x0101, 1);
  REQUIRE_FALSE(lost);
  CHECK((lost.error().fault == modbus::fault::disconnected
         || lost.error().fault == modbus::fault::timeout));
  srv = std::make_unique<test::threaded_server>();
  auto ep2 = srv->server().add_tcp("127.0.0.1", port, true);
  srv->server().attach(ep2, 1, {&image, nullptr});
  srv->start();
  clk.advance(10'000ms);
  auto back = link.read_registers(1, 3, 0x0101, 1);
  REQUIRE(back);
  CHECK((*back)[0] == 400);
}

TEST_CASE("garbage from a device is malformed, never a crash", "[modbus][tcp][faults]") {
  // A raw TCP peer that answers every request with a wrong byte count.
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(lfd, 1);
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread peer{[lfd] {
    int c = accept(lfd, nullptr, nullptr);
    uint8_t req[260];
    auto n = read(c, req, sizeof req);
    if (n >= 12) {
      // MBAP of the request, then fc 3 with a byte count of 4 for 1 register.
      uint8_t rsp[] = {req[0], req[1], 0, 0, 0, 7, req[6], 3, 4, 0, 1, 0, 2};
      [[maybe_unused]] auto w = write(c, rsp, sizeof rsp);
    }
    std::this_thread::sleep_for(300ms);
    close(c);
  }};
  manual_clock clk{time_point{std::chrono::milliseconds{0}}};
  modbus::link link{modbus::tcp_params{"127.0.0.1", ntohs(addr.sin_port)}, fast(), clk};
  auto r = link.read_registers(1, 3, 0, 1);
  peer.join();
  close(lfd);
  REQUIRE_FALSE(r);
  CHECK(r.error().fault == modbus::fault::malformed);
}

TEST_CASE("bad requests are refused before they reach the wire", "[modbus]") {
  manual_clock clk{time_point{std::chrono::milliseconds{0}}};
  modbus::link link{modbus::tcp_params{"127.0.0.1", 1}, fast(), clk};
  CHECK(link.read_registers(1, 3, 0, 126).error().fault == modbus::fault::bad_request);
  CHECK(link.read_registers(1, 5, 0, 1).error().fault == modbus::fault::bad_request);
  CHECK(link.read_bits(1, 3, 0, 1).error().fault == modbus::fault::bad_request);
  CHECK(link.write_registers(1, 0, {1, 2}, 6).error().fault == modbus::fault::bad_request);
  CHECK_FALSE(link.connected());
}

TEST_CASE("one bus serves several threads one request at a time", "[modbus][bus]") {
  tcp_fixture f;
  modbus::bus bus{f.client(), 2ms};
  std::atomic<int> ok{0};
  auto worker = [&] {
    for (int i = 0; i < 25; ++i)
      if (auto r = bus.read_registers(1, 3, 0x0101, 1); r && (*r)[0] == 655)
        ++ok;
  };
  std::thread a{worker}, b{worker};
  a.join();
  b.join();
  CHECK(ok == 50);
}

namespace {

// A socat pty pair: `a` for the server, `b` for the client.
struct pty_pair {
  std::string dir = "/tmp/plantd-pty-" + std::to_string(getpid());
  std::string a = dir + "/server";
  std::string b = dir + "/client";
  pid_t pid = -1;

  pty_pair() {
    std::filesystem::create_directories(dir);
    pid = fork();
    if (pid == 0) {
      auto la = "pty,raw,echo=0,link=" + a;
      auto lb = "pty,raw,echo=0,link=" + b;
      execlp("socat", "socat", la.c_str(), lb.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300 && !(std::filesystem::exists(a) && std::filesystem::exists(b)); ++i)
      std::this_thread::sleep_for(10ms);
  }
  ~pty_pair() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    std::filesystem::remove_all(dir);
  }
};

}  // namespace

TEST_CASE("Modbus RTU over a pty pair: several units on one line, CRC errors", "[modbus][rtu]") {
  pty_pair pty;
  REQUIRE(std::filesystem::exists(pty.b));
  auto reg = pointtables::registry::builtin();
  sim::register_image meter{*reg.find("chint-dtsu666")};
  sim::register_image inverter{*reg.find("saj-r5-inverter")};
  sim::wire_faults meter_faults;
  meter.set("active_power", -1234.5);
  inverter.set("ac_power", 9700);
  test::threaded_server srv;
  auto ep = srv.server().add_rtu(pty.a, 9600, 'N', 8, 1);
  srv.server().attach(ep, 1, {&meter, &meter_faults});
  srv.server().attach(ep, 3, {&inverter, nullptr});
  srv.start();

  manual_clock clk{time_point{std::chrono::milliseconds{0}}};
  modbus::link link{modbus::rtu_params{pty.b, 9600, 'N', 8, 1}, fast(300ms), clk};
  modbus::bus bus{std::move(link), 5ms};
  auto p = bus.read_registers(1, 3, 0x2012, 2);
  REQUIRE(p);
  CHECK(std::bit_cast<float>((uint32_t{(*p)[0]} << 16) | (*p)[1]) == Approx(-12345.0f));
  auto ac = bus.read_registers(3, 3, 0x0113, 1);
  REQUIRE(ac);
  CHECK((*ac)[0] == 9700);
  SECTION("nobody at unit 5: silence, a timeout") {
    auto r = bus.read_registers(5, 3, 0x0113, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().fault == modbus::fault::timeout);
  }
  SECTION("a corrupt CRC, then clean again") {
    {
      auto guard = srv.lock();
      meter_faults.crc_error = true;
    }
    auto r = bus.read_registers(1, 3, 0x2012, 2);
    REQUIRE_FALSE(r);
    CHECK(r.error().fault == modbus::fault::crc);
    {
      auto guard = srv.lock();
      meter_faults.crc_error = false;
    }
    // The other unit on the line was never affected, and the meter recovers.
    CHECK(bus.read_registers(3, 3, 0x0113, 1));
    CHECK(bus.read_registers(1, 3, 0x2012, 2));
  }
}
