// plantctl curve / stats: energy curves and plant statistics.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

// period: day, week, month, year or total; since like "7d".
int curve(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
          const std::string& period, const std::string& since);

// Overview, revenue (per `period` since `since`) and social contribution.
int stats(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
          const std::string& period, const std::string& since);

}  // namespace plantd::apps
