// PlantService.Commission: the checks an installer runs before handing a
// site over (reachable devices, the grid meter's CT direction and ratio, the
// PV sign, the clock), streamed as they finish and kept as a report.
//
// A run is a thread of its own (it waits on the plant for seconds); one at
// a time. The CT test commands the battery through the supervisor's manual
// setpoint, bounded in time, and clears it when the run ends or the call
// is cancelled.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <grpcpp/support/server_callback.h>

#include "actors/config_view.hpp"
#include "actors/state_hub.hpp"
#include "actors/supervisor.hpp"
#include "drivers/store/store.hpp"
#include "model/common/expected.hpp"
#include "plantd/v1/plant_service.pb.h"

namespace plantd::services {

struct commissioning_args {
  caf::actor_system* sys = nullptr;
  actors::supervisor_api supervisor;
  std::shared_ptr<actors::state_hub> hub;
  std::shared_ptr<const actors::config_view> view;
  std::shared_ptr<store::store> db;
  // Timings of the CT test (tests shorten nothing: the plant needs them).
  std::chrono::milliseconds settle{3000};   // after each battery change
  std::chrono::milliseconds measure{3000};  // averaged
};

class commissioning {
public:
  explicit commissioning(commissioning_args args);
  // Stops a run (its battery hold cleared) and waits for it.
  ~commissioning();
  void shutdown();

  // Starts a run for the call (ABORTED while one runs).
  grpc::ServerWriteReactor<v1::CommissionUpdate>*
  start(grpc::CallbackServerContext* ctx, const v1::CommissionRequest& req, std::string by);
  // The last report (config_version 0), or the last one made under that
  // config version; nullopt when there is none.
  std::optional<v1::CommissionReport> report(uint64_t config_version = 0) const;

  // The documents the reports are kept in (JSON): the last one, and the
  // last one of each config version.
  static constexpr const char* report_document = "commissioning-report.json";
  static std::string report_document_of(uint64_t config_version);

private:
  friend struct commission_run;
  commissioning_args a_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::mutex worker_mtx_;
  std::thread worker_;  // the run in progress (or the last one, finished)
};

// A report as a file: "json" or "xlsx" (the site's name, the config version,
// who ran it and when in the site's time zone, then one row per check with
// its values). An unknown format is an error naming the ones there are.
expected<v1::CommissionReportFile, std::string> commission_file(const v1::CommissionReport& r,
                                                                const std::string& site,
                                                                const std::string& time_zone,
                                                                const std::string& format);

}  // namespace plantd::services
