// plantctl commands that change the configuration and read its history:
// config apply / set / history / diff / rollback (PlantService).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

// The whole config in FILE (JSON), live. base: the version it was made
// from (0: whatever runs).
int config_apply(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                 const std::string& file, uint64_t base, const std::string& comment);

// One field: PATH as in the config file ("policies.export_limit.limit_w",
// "cabinets[2].modbus.host"); VALUE a number, true/false, text, an enum
// name ("time_of_use") or, for a list or a group of fields, JSON.
int config_set(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
               const std::string& path, const std::string& value, const std::string& comment);

int config_history(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, int last);

// to = 0: the version in force.
int config_diff(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, uint64_t from,
                uint64_t to);

int config_rollback(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                    uint64_t version, const std::string& comment);

}  // namespace plantd::apps
