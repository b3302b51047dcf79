// The audit of every change made through the API: who (principal, role,
// address), what (method, the request without its secrets), when, and how
// it ended. Kept in the store, newest first on reading, bounded in count;
// refused calls are recorded at a bounded rate (a flood of bad logins is
// counted, not written one by one).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include "drivers/store/store.hpp"
#include "plantd/v1/access.grpc.pb.h"

namespace plantd::services {

class audit_log {
public:
  struct options {
    uint64_t keep = 100000;          // records kept
    double refused_per_second = 20;  // refusals written per second, at most
    double refused_burst = 100;
    std::function<int64_t()> now_ms;  // wall clock (tests inject one)
  };

  audit_log(std::shared_ptr<store::store> db, options opts);

  // Records one call. `refused` calls are rate-limited.
  void record(v1::ChangeRecord rec, bool refused);

  // A page, newest first.
  v1::AuditPage list(const v1::AuditQuery& q) const;

  // A request as one line without its secrets, cut to 1,000 characters
  // (large requests are named by type and size).
  static std::string summary(const google::protobuf::Message& m);
  static std::string result_text(const grpc::Status& s);

private:
  std::shared_ptr<store::store> db_;
  options opts_;
  std::mutex mtx_;
  uint64_t seq_ = 0;
  double tokens_ = 0;
  int64_t refill_ms_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace plantd::services
