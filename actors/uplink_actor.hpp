// uplink actor: pushes the stored telemetry and alarm states to the fleet's
// time-series store (Prometheus remote-write, drivers/uplink).
//
// The store is the buffer. The actor keeps a cursor in it (state record
// "uplink/cursor": everything stored before it was acknowledged by the
// receiver) and sends [cursor, end) windows read from the stored series, in
// time order, one request per window; the cursor moves only past what the
// receiver answered 2xx. A link down for hours is caught up afterwards at
// uplink.max_samples_per_s; a stop in the middle of a request sends that
// window again (at least once: receivers drop the duplicate samples).
//
// Faults: no answer, 429 and 5xx are retried with backoff (1 s doubling to
// 60 s, or the Retry-After); 401/403/404/405 (the config is wrong: address,
// credentials) are retried every 5 minutes and the window kept; 400, 413 and
// 422 (the receiver refuses this data) drop the window, counted as rejected
// (413 halves the window first). Raw points that retention removed before
// they were sent are counted as lost (the store actor counts them).
//
// Spawned detached at a low priority (nice 10): HTTP calls block, and a
// catch-up never takes a core from the control loop. Reads the uplink
// section of the config in force at every round: changes apply live.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/config_view.hpp"
#include "actors/type_ids.hpp"
#include "drivers/store/store.hpp"
#include "drivers/uplink/remote_write.hpp"
#include "model/alarms/alarm_book.hpp"
#include "model/common/clock.hpp"

namespace plantd::actors {

struct uplink_status {
  bool enabled = false;
  bool connected = false;        // the last request was acknowledged
  int64_t cursor_ms = 0;         // everything stored before it was acknowledged
  int64_t lag_ms = 0;            // now - cursor (0 when disabled)
  uint64_t backlog_samples = 0;  // estimated samples still to send
  uint64_t sent_samples = 0;     // since start
  uint64_t sent_requests = 0;
  uint64_t failed_requests = 0;
  uint64_t rejected_samples = 0;  // refused by the receiver (400/413/422), kept across restarts
  uint64_t lost_samples = 0;  // removed by retention before they were sent, kept across restarts
  int64_t last_success_ms = 0;
  std::string last_error;
  int64_t last_error_ms = 0;
};

// The uplink's state, for readers outside the actor (GetInfo, /metrics).
class uplink_monitor {
public:
  uplink_status get() const {
    std::lock_guard lock{mutex_};
    return status_;
  }
  void set(uplink_status s) {
    std::lock_guard lock{mutex_};
    status_ = std::move(s);
  }

private:
  mutable std::mutex mutex_;
  uplink_status status_;
};

struct uplink_actor_args {
  std::shared_ptr<store::store> db;
  std::shared_ptr<const config_view> view;
  const clock* clk = nullptr;
  std::shared_ptr<uplink_monitor> monitor;
  // The store actor's watermark: every point recorded before it is in the
  // store (or was dropped by a failing disk). A window never ends after it.
  // Null: no bound but `settle` (tests of the uplink alone).
  std::shared_ptr<const std::atomic<int64_t>> stored_through;
  // Alarm records are written as their conditions change: a window ends
  // this long before now.
  std::chrono::milliseconds settle{3000};
};

using uplink_api = caf::typed_actor<
  // Its own tick: one round (a window sent, or a wait).
  caf::reacts_to<tick_atom>,
  // The cursor: everything stored before it was acknowledged (ms).
  caf::replies_to<caf::get_atom, state_atom>::with<int64_t>>;

uplink_api::behavior_type uplink_actor(uplink_api::pointer self, uplink_actor_args args);

// State records in the store (the store actor adds to the lost count).
inline constexpr auto uplink_cursor_key = store::store::state_record::uplink_cursor;
inline constexpr auto uplink_lost_key = store::store::state_record::uplink_lost;
inline constexpr auto uplink_rejected_key = store::store::state_record::uplink_rejected;

// The alarm states in [from, to) as plantd_alarm_active{code,device,
// severity,site} series: 1 at the raise, 0 at the clear, and 1 at every
// minute boundary while open (a query's lookback always finds an open
// alarm). Made from the alarm records only: a window sent again gives the
// same samples.
std::vector<uplink::series> alarm_series(const std::vector<alarms::alarm>& all, int64_t from_ms,
                                         int64_t to_ms, std::string_view site);

// Counters kept in state records as decimal text (0 when never put; nullopt
// when the store cannot read it).
std::optional<uint64_t> read_counter(const store::store& db, store::store::state_record r);
// The raw points stored in [from, to) across every series that the uplink
// would send (not missing or invalid): retention counts what it removes
// before the uplink sent it.
uint64_t count_raw(const store::store& db, int64_t from_ms, int64_t to_ms);

}  // namespace plantd::actors
