// plantctl alarms / ack.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

// state: "all", "open" or "closed".
int list_alarms(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                const std::string& state, const std::string& device);
int ack_alarm(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, uint64_t id);

}  // namespace plantd::apps
