// plantctl commands of the ControlService: status (plant part), watch, mode
// set, setpoint.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace plantd::apps {

struct control_opts {
  std::string target;
  bool json = false;
  double timeout_s = 3;
};

// Prints the plant state lines of `plantctl status`; false when plantd has
// no ControlService or no decision yet (the caller prints identity only).
bool print_plant_state(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch);

// Streams the plant state, one line per update; `count` > 0 stops after that
// many. Returns an exit code.
int watch(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, int count);

// mode: "self-consumption" or "tou"; template_file: optional TouTemplate JSON.
int set_mode(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
             const std::string& mode, const std::string& template_file);

// power: kW (> 0 discharge) or "clear"; duration like "15m", "90s", "2h".
int set_setpoint(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                 const std::string& power, const std::string& duration);

}  // namespace plantd::apps
