// Prometheus remote-write 1.0: the wire of the uplink to the fleet's
// time-series store (VictoriaMetrics, Prometheus, Mimir, ...).
//
// A request body is a prometheus.WriteRequest protobuf, compressed with
// snappy's block format, POSTed with
//   Content-Encoding: snappy
//   Content-Type: application/x-protobuf
//   X-Prometheus-Remote-Write-Version: 0.1.0
// The message is encoded here directly (four small messages, two of them
// per sample): a day of backlog is tens of millions of samples, and one
// allocation per sample would cost more than the encoding.
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }  // ms since epoch
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plantd::uplink {

struct label {
  std::string name;
  std::string value;
  bool operator==(const label&) const = default;
};

struct series {
  std::vector<label> labels;                        // sorted by name (the receiver expects it)
  std::vector<std::pair<int64_t, double>> samples;  // (ms since epoch, value), in time order
};

// The serialized WriteRequest.
std::string encode_write_request(const std::vector<series>& batch);
// snappy's block format, as remote-write bodies are.
std::string snappy_compress(std::string_view raw);

// The labels of a stored series: "plant.grid_w" -> plantd_plant_grid_w;
// "cabinet.C01.power_w" -> plantd_cabinet_power_w{device="C01"};
// "meter.grid.import_wh" -> plantd_meter_import_wh{device="grid"}. Every
// series carries site="<site>". Characters a metric name cannot hold become
// '_'. Sorted by name.
std::vector<label> labels_of(std::string_view series_name, std::string_view site);
// A metric name made of [a-zA-Z0-9_:] (others become '_'; a leading digit
// gets a '_' before it).
std::string metric_name(std::string_view raw);

struct endpoint {
  std::string url;           // https://host:port/api/v1/write
  std::string bearer_token;  // Authorization: Bearer <token>, when set
  std::string username;      // basic auth, when set
  std::string password;
  std::string ca_file;  // PEM bundle the receiver's certificate must chain to (empty: the system's)
  // A request is abandoned when it moves slower than 1 kB/s for this long
  // (a 4G link may take minutes for a large one; a dead one is cut).
  std::chrono::milliseconds timeout{30'000};
};

struct post_result {
  long status = 0;                                  // the HTTP status; 0 when no answer came
  std::string error;                                // transport error or the answer's first bytes
  std::optional<std::chrono::seconds> retry_after;  // a 429/503's Retry-After
  bool timed_out = false;                           // the link was too slow for this request
  bool ok() const noexcept { return status >= 200 && status < 300; }
};

// One HTTP(S) connection to the receiver, kept alive between posts.
// Blocking: use it from a thread of its own (the uplink actor is detached).
class client {
public:
  explicit client(endpoint ep);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // POSTs one snappy-compressed WriteRequest.
  post_result post(std::string_view body);
  const endpoint& target() const noexcept { return ep_; }

private:
  struct impl;
  endpoint ep_;
  std::unique_ptr<impl> impl_;
};

}  // namespace plantd::uplink
