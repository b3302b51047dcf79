// A Modbus server running on its own thread for driver tests: the test sets
// registers and faults under lock(), the server answers on 127.0.0.1.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>

#include "drivers/sim/modbus_server.hpp"

namespace plantd::test {

class threaded_server {
public:
  threaded_server() = default;
  ~threaded_server() { stop(); }

  sim::modbus_server& server() { return server_; }
  std::unique_lock<std::mutex> lock() { return std::unique_lock{mtx_}; }

  void start() {
    running_ = true;
    thread_ = std::thread{[this] {
      while (running_) {
        std::unique_lock guard{mtx_};
        server_.poll(std::chrono::milliseconds{5});
      }
    }};
  }

  void stop() {
    running_ = false;
    if (thread_.joinable())
      thread_.join();
  }

private:
  std::mutex mtx_;
  sim::modbus_server server_;
  std::thread thread_;
  std::atomic<bool> running_{false};
};

}  // namespace plantd::test
