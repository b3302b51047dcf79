// plantctl commission: runs PlantService.Commission and prints each check as
// it finishes, then a pass/fail table; --report shows the last one kept.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

struct commission_args {
  double test_kw = 0;  // 0: 10 % of the reachable cabinets' rated power
  bool skip_ct = false;
  bool last = false;     // print the last report instead of running
  uint64_t version = 0;  // with last: the last report of this config version
  std::string out;       // write the report here too: .xlsx, or JSON
};

// Exit 0 when every check passed (or was skipped / warned), 1 when one failed.
int commission(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
               const commission_args& a);

// plantctl time set [--at TIME]: sets plantd's system clock (SetTime) to
// TIME (RFC 3339), or to this machine's clock now.
int set_time(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
             const std::string& at);

}  // namespace plantd::apps
