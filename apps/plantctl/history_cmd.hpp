// plantctl history: a recorded series over a time range.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

// since: "15m", "6h", "7d" back from now; resolution as the TelemetryService
// takes it. An empty series lists the series.
int history(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
            const std::string& series, const std::string& since, const std::string& resolution);

// Writes the series to `out_file` as CSV or .xlsx.
int export_series(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                  const std::vector<std::string>& series, const std::string& since,
                  const std::string& resolution, const std::string& format,
                  const std::string& out_file);

}  // namespace plantd::apps
