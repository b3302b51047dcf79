// Whether another Modbus master writes a cabinet's setpoint: plantd reads
// the setpoint register back and compares it with what it sent. Twice in a
// row not what plantd wrote (once plantd has seen its own value there) means
// another controller writes it; plantd then stops commanding that cabinet
// until an installer acknowledges the alarm (release()).
#pragma once

#include <chrono>
#include <deque>
#include <utility>

#include "model/common/clock.hpp"

namespace plantd::plant {

class setpoint_watch {
public:
  // How many commands are kept: 12 s at the fast path's pace.
  static constexpr std::size_t kept = 64;

  // A command plantd sent at `t`.
  void sent(time_point t, double power_w);
  bool any_sent() const noexcept { return !sent_.empty(); }

  // What the cabinet reports as its setpoint at `time`. Only a read-back of
  // a register plantd has written since the cabinet (re)connected says
  // anything (`wrote_since_connect`).
  struct read_back {
    time_point time{};
    double setpoint_w = 0;
    bool wrote_since_connect = false;
  };
  // Compares a read-back with the commands sent over the last poll period
  // and a half before it (the cabinet actor writes only the newest of a
  // burst, and a read may come just before a write) and the one in force
  // before them, within the larger of 1 kW and 2 % of `rated_w`.
  // `commanded_w` is what plantd commands now (named in the alarm). Whether
  // the cabinet is locked after it.
  bool read(const read_back& r, std::chrono::milliseconds poll, double rated_w, double commanded_w);

  bool locked() const noexcept { return locked_; }
  double seen_w() const noexcept { return seen_w_; }    // the foreign value
  double wrote_w() const noexcept { return wrote_w_; }  // plantd's, then

  // Acknowledged: commanded again, watched as before (a controller still
  // there locks it again).
  void release();

private:
  bool confirmed_ = false;  // a read-back has matched what plantd wrote
  int mismatches_ = 0;      // read-backs in a row that did not
  bool locked_ = false;
  double seen_w_ = 0;
  double wrote_w_ = 0;
  std::deque<std::pair<time_point, double>> sent_;  // newest last
};

}  // namespace plantd::plant
