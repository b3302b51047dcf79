#include "services/commissioning.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <absl/time/time.h>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include "actors/type_ids.hpp"
#include "model/dispatch/dispatch.hpp"
#include "services/access_gate.hpp"
#include "actors/errors.hpp"
#include "services/clock.hpp"
#include "services/status.hpp"
#include "services/workbook.hpp"

namespace plantd::services {

using google::protobuf::util::TimeUtil;
using namespace std::chrono_literals;

namespace {

// Writes what a run produces, one message at a time, from the run's
// thread; finishes when the run is done and everything is written.
class update_writer final : public grpc::ServerWriteReactor<v1::CommissionUpdate> {
public:
  void push(v1::CommissionUpdate m) {
    std::unique_lock lk{mtx_};
    if (finish_called_ || cancelled_)
      return;
    queue_.push_back(std::move(m));
    pump(lk);
  }
  // Once, at the end of the run; the writer is not touched afterwards.
  void done(grpc::Status s) {
    std::unique_lock lk{mtx_};
    finished_ = true;
    status_ = std::move(s);
    pump(lk);
  }
  bool cancelled() const noexcept { return cancelled_ || broken_; }

  void OnWriteDone(bool ok) override {
    std::unique_lock lk{mtx_};
    queue_.pop_front();
    writing_ = false;
    if (!ok) {  // the client is gone: the run stops
      queue_.clear();
      broken_ = true;
    }
    pump(lk);
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

private:
  // Starts the next write, or finishes; never holds the lock into gRPC.
  void pump(std::unique_lock<std::mutex>& lk) {
    if (writing_)
      return;
    if (!queue_.empty()) {
      writing_ = true;
      auto* m = &queue_.front();  // a deque keeps it in place while others are added
      lk.unlock();
      StartWrite(m);
      return;
    }
    if (finished_ && !finish_called_) {
      finish_called_ = true;
      auto s = status_;
      lk.unlock();
      Finish(s);
    }
  }

  std::mutex mtx_;
  std::deque<v1::CommissionUpdate> queue_;
  bool writing_ = false;
  bool finished_ = false;
  bool finish_called_ = false;
  grpc::Status status_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> broken_{false};
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct averages {
  double grid_w = 0;
  double battery_w = 0;
  double pv_w = 0;
  int n = 0;
  std::string overridden;  // a rule that moved the battery off the test's setpoint
};

}  // namespace

struct commission_run {
  commissioning* owner = nullptr;  // outlives the run (its shutdown joins it)
  update_writer* w = nullptr;
  v1::CommissionRequest req;
  v1::CommissionReport report;
  bool manual_set = false;

  const commissioning_args& a() const { return owner->a_; }
  bool stopped() const { return w->cancelled() || owner->stop_; }

  // The end of the run: the battery released, the next run allowed, then
  // the call finished (the client may start another at once).
  void end(grpc::Status s) {
    release();
    owner->running_ = false;
    w->done(std::move(s));
  }

  void check(std::string name, std::string device, v1::CheckResult result, std::string detail,
             std::map<std::string, double> values = {}) {
    auto* c = report.add_checks();
    c->set_name(std::move(name));
    c->set_device(std::move(device));
    c->set_result(result);
    c->set_detail(std::move(detail));
    *c->mutable_at() = TimeUtil::MillisecondsToTimestamp(now_ms());
    for (auto& [k, v] : values)
      (*c->mutable_values())[k] = v;
    v1::CommissionUpdate u;
    *u.mutable_check() = *c;
    w->push(std::move(u));
  }

  // Sleeps; false when the call was cancelled.
  bool wait(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (stopped())
        return false;
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(100ms, d));
    }
    return !stopped();
  }

  // Sets (or, with duration 0, clears) the battery hold; false with why
  // not in `refused` (an operator's setpoint in force, for one).
  bool manual(double power_w, int64_t duration_ms, std::string* refused = nullptr,
              errc* code = nullptr) {
    caf::scoped_actor self{*a().sys};
    bool ok = false;
    self
      ->request(a().supervisor, std::chrono::seconds{2}, actors::manual_atom_v, power_w,
                duration_ms, std::string{actors::commissioning_owner})
      .receive([&](bool) { ok = true; },
               [&](caf::error& e) {
                 auto why = actors::error_text(e);
                 spdlog::warn("commissioning: setpoint {} W not taken: {}", power_w, why);
                 if (refused)
                   *refused = std::move(why);
                 if (code)
                   *code = actors::to_errc(e);
               });
    return ok;
  }

  // The plant's grid and battery power averaged over `d` (new states only).
  std::optional<averages> measure(std::chrono::milliseconds d) {
    averages avg;
    uint64_t seen = 0;
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (stopped())
        return std::nullopt;
      auto [s, seq] = a().hub->latest();
      if (s && seq != seen && s->grid_w.quality == quality::measured) {
        seen = seq;
        avg.grid_w += s->grid_w.value;
        avg.battery_w += s->battery_w;
        avg.pv_w += s->pv_w.value;
        ++avg.n;
        if (s->binding != dispatch::rule::manual && avg.overridden.empty())
          avg.overridden = dispatch::to_string(s->binding);
      }
      std::this_thread::sleep_for(50ms);
    }
    if (avg.n == 0)
      return averages{};
    avg.grid_w /= avg.n;
    avg.battery_w /= avg.n;
    avg.pv_w /= avg.n;
    return avg;
  }

  void reachable(const actors::plant_state& s, const plant::config& cfg) {
    for (const auto& c : s.cabinets)
      check("reachable", c.id, c.available ? v1::CHECK_RESULT_PASS : v1::CHECK_RESULT_FAIL,
            c.available ? "answers" : fmt::format("does not answer: {}", c.error));
    for (const auto& i : s.inverters)
      check("reachable", i.id, i.available ? v1::CHECK_RESULT_PASS : v1::CHECK_RESULT_FAIL,
            i.available ? "answers" : fmt::format("does not answer: {}", i.error));
    std::string meter = "grid meter";
    for (const auto& line : cfg.rs485_lines)
      for (const auto& d : line.devices)
        if (d.role == plant::device_role::grid_meter)
          meter = d.id;
    check("reachable", meter,
          s.grid_meter_available ? v1::CHECK_RESULT_PASS : v1::CHECK_RESULT_FAIL,
          s.grid_meter_available ? "answers" : "does not answer: plantd cannot see the grid");
    bool has_io = cfg.io.modbus_gateway.has_value() || !cfg.io.gpio_chip.empty();
    if (has_io)
      check("reachable", "io", s.io_available ? v1::CHECK_RESULT_PASS : v1::CHECK_RESULT_FAIL,
            s.io_available ? "answers" : "does not answer: DRED and the dry contacts are unknown");
  }

  // Each cabinet's and inverter's serial number, as it reports it, against
  // the config: the device at each address is the one the config names.
  void serials(const actors::plant_state& s, const plant::config& cfg) {
    std::map<std::string, std::string> expected;  // id -> serial in the config
    for (const auto& c : cfg.cabinets)
      expected[c.id] = c.serial;
    for (const auto& line : cfg.rs485_lines)
      for (const auto& d : line.devices)
        expected[d.id] = d.serial;
    auto one = [&](const actors::plant_state::device& d) {
      const auto& want = expected[d.id];
      std::string in_config = want.empty() ? "" : fmt::format(" (config: {})", want);
      if (!d.available)
        return check("serial_number", d.id, v1::CHECK_RESULT_SKIPPED, "does not answer");
      if (d.serial.empty())
        return check(
          "serial_number", d.id,
          d.serial_unsupported ? v1::CHECK_RESULT_SKIPPED : v1::CHECK_RESULT_WARN,
          fmt::format("not read: {}; compare the nameplate{} by eye", d.serial_error, in_config));
      if (want.empty())
        return check("serial_number", d.id, v1::CHECK_RESULT_WARN,
                     fmt::format("reads \"{}\"; the config has no serial for {}: add it to tie "
                                 "this address to this device",
                                 d.serial, d.id));
      if (d.serial != want)
        return check("serial_number", d.id, v1::CHECK_RESULT_FAIL,
                     fmt::format("reads \"{}\", the config says \"{}\": another device "
                                 "answers at {}'s address (swapped cables, a wrong IP address "
                                 "or unit id)",
                                 d.serial, want, d.id));
      check("serial_number", d.id, v1::CHECK_RESULT_PASS, fmt::format("reads \"{}\"", d.serial));
    };
    for (const auto& c : s.cabinets)
      one(c);
    for (const auto& i : s.inverters)
      one(i);
  }

  void ct_test(const actors::plant_state& s, const plant::config& cfg) {
    const char* name = "grid_meter_ct";
    if (req.skip_ct_test())
      return check(name, "", v1::CHECK_RESULT_SKIPPED, "not asked for (skip_ct_test)");
    if (!s.grid_meter_available)
      return check(name, "", v1::CHECK_RESULT_SKIPPED, "the grid meter does not answer");
    if (s.manual_active)
      return check(name, "", v1::CHECK_RESULT_SKIPPED,
                   fmt::format("a manual setpoint of {:.0f} W is in force: clear it (plantctl "
                               "setpoint clear) to run the CT test",
                               s.manual_setpoint_w));
    double rated = 0;
    for (const auto& c : s.cabinets)
      if (c.available)
        for (const auto& cc : cfg.cabinets)
          if (cc.id == c.id)
            rated += cc.rated_power_w;
    if (rated <= 0)
      return check(name, "", v1::CHECK_RESULT_SKIPPED, "no cabinet answers");
    double p = req.test_power_w() > 0 ? std::min(req.test_power_w(), rated) : 0.1 * rated;
    double soc = s.soc_percent.value;
    const auto& bounds = cfg.policies.soc;
    double hold = std::clamp(s.battery_w, -rated, rated);
    if (p < 1000 && p < 0.02 * rated)
      return check(name, "", v1::CHECK_RESULT_SKIPPED,
                   fmt::format("a step of {:.0f} W is too small to tell from the load's noise", p));
    // Charging by preference; discharging when the SOC or the battery's
    // power leaves no room to charge by p.
    bool can_charge = soc < bounds.max_percent - 5 && hold - p >= -rated;
    bool can_discharge = soc > bounds.min_percent + 5 && hold + p <= rated;
    if (!can_charge && !can_discharge)
      return check(name, "", v1::CHECK_RESULT_SKIPPED,
                   fmt::format("the SOC ({:.0f} %) and the battery's power ({:.0f} W) leave no "
                               "room to move it by {:.0f} W",
                               soc, hold, p));
    bool charge = can_charge;
    // The battery held where it is, then moved by p: the grid must move by
    // -p. Each setpoint expires by itself shortly after the run would end
    // (a dead man: a run that dies leaves no hold behind for long).
    auto dead_man = (a().settle + a().measure).count() + 5000;
    if (stopped())
      return;
    manual_set = true;  // before sending: a late answer may still have been applied
    std::string refused;
    errc code = errc::ok;
    if (!manual(hold, dead_man, &refused, &code)) {
      if (code == errc::failed_precondition)  // certainly not applied: nothing to release
        manual_set = false;
      return check(name, "", v1::CHECK_RESULT_SKIPPED,
                   refused.empty() ? std::string{"the controller did not take the setpoint"}
                                   : refused);
    }
    if (!wait(a().settle))
      return;
    auto base = measure(a().measure);
    if (!base)
      return;
    double target = hold + (charge ? -p : p);
    manual(target, dead_man);
    if (!wait(a().settle))
      return;
    auto step = measure(a().measure);
    if (!step)
      return;
    release();
    double db = step->battery_w - base->battery_w;
    double dg = step->grid_w - base->grid_w;
    double dpv = step->pv_w - base->pv_w;  // PV released or curtailed meanwhile
    std::map<std::string, double> values{{"test_power_w", charge ? -p : p},
                                         {"base_grid_w", base->grid_w},
                                         {"step_grid_w", step->grid_w},
                                         {"battery_change_w", db},
                                         {"pv_change_w", dpv},
                                         {"grid_change_w", dg}};
    if (base->n == 0 || step->n == 0)
      return check(name, "", v1::CHECK_RESULT_SKIPPED, "no grid reading during the test", values);
    auto overridden = !base->overridden.empty() ? base->overridden : step->overridden;
    if (!overridden.empty())
      return check(name, "", v1::CHECK_RESULT_SKIPPED,
                   fmt::format("the rule \"{}\" moved the battery during the test: no "
                               "conclusion (run again, or lift the limit while commissioning)",
                               overridden),
                   values);
    if (std::abs(db) < 0.3 * p)
      return check(name, "", v1::CHECK_RESULT_SKIPPED,
                   fmt::format("the battery moved {:.0f} W of the {:.0f} W asked (limits, SOC or "
                               "BMS): no conclusion",
                               db, charge ? -p : p),
                   values);
    // grid = load - pv - battery: with the load steady, the grid moves by
    // minus what the battery and the PV moved.
    double ratio = dg / -(db + dpv);
    values["ratio"] = ratio;
    auto seen = fmt::format("the battery moved {:.0f} W and the grid meter {:.0f} W", db, dg);
    if (std::abs(ratio) < 0.3)
      return check(name, "", v1::CHECK_RESULT_FAIL,
                   fmt::format("{}: the grid meter does not see the battery: its CT is on another "
                               "conductor, or the battery is connected outside the metering point",
                               seen),
                   values);
    if (ratio >= 0.85 && ratio <= 1.15)
      return check(name, "", v1::CHECK_RESULT_PASS,
                   fmt::format("{}: direction and CT ratio right ({:.2f})", seen, ratio), values);
    if (ratio <= -0.85 && ratio >= -1.15)
      return check(name, "", v1::CHECK_RESULT_FAIL,
                   fmt::format("{}: the CT is reversed (the meter counts import as export): turn "
                               "the CT around or swap its S1/S2 wires",
                               seen),
                   values);
    if (ratio < 0)
      return check(name, "", v1::CHECK_RESULT_FAIL,
                   fmt::format("{}: the CT is reversed and its ratio is off by {:.2f}: turn it "
                               "around and check the CT ratio set in the meter",
                               seen, -ratio),
                   values);
    check(name, "", v1::CHECK_RESULT_FAIL,
          fmt::format("{}: the meter reads {:.2f} times the change: the CT ratio set in the meter "
                      "does not match the CT fitted",
                      seen, ratio),
          values);
  }

  void release() noexcept {
    if (!manual_set)
      return;
    try {
      for (int attempt = 0; attempt < 3; ++attempt)
        if (manual(0, 0)) {
          manual_set = false;
          return;
        }
      spdlog::error("commissioning: the battery hold could not be cleared; it expires by itself");
    } catch (...) {
    }
  }

  void pv_sign(const actors::plant_state& s) {
    if (s.pv_w.quality != quality::measured && s.pv_w.quality != quality::estimated)
      return check("pv_sign", "", v1::CHECK_RESULT_SKIPPED, "no PV reading");
    std::map<std::string, double> values{{"pv_w", s.pv_w.value}};
    if (s.pv_w.value < -100)
      return check("pv_sign", "", v1::CHECK_RESULT_FAIL,
                   fmt::format("PV reads {:.0f} W: the PV meter's CT is reversed", s.pv_w.value),
                   values);
    if (s.pv_w.value < 100)
      return check("pv_sign", "", v1::CHECK_RESULT_SKIPPED,
                   "no PV production now: run again in daylight", values);
    check("pv_sign", "", v1::CHECK_RESULT_PASS, fmt::format("PV produces {:.0f} W", s.pv_w.value),
          values);
  }

  void clock() {
    auto st = clock_state();
    std::map<std::string, double> values;
    if (st)
      values["max_error_us"] = static_cast<double>(st->max_error_us);
    if (st && st->synchronized)
      check("clock", "", v1::CHECK_RESULT_PASS,
            fmt::format("synchronized (estimated error {} us)", st->estimated_error_us), values);
    else
      check("clock", "", v1::CHECK_RESULT_WARN,
            fmt::format("{}: TOU slots, reports and alarms follow this clock; enable NTP "
                        "(timedatectl set-ntp true) or set the time (plantctl time set)",
                        st ? "not synchronized" : "its state cannot be read"),
            values);
  }

  void run() {
    auto snap = a().view->snapshot();
    report.set_config_version(snap.version);
    *report.mutable_started_at() = TimeUtil::MillisecondsToTimestamp(now_ms());
    std::shared_ptr<const actors::plant_state> s;
    for (int i = 0; i < 50 && !stopped(); ++i) {
      s = a().hub->latest().first;
      if (s && s->decisions > 0)
        break;
      std::this_thread::sleep_for(100ms);
    }
    if (!s || s->decisions == 0)
      return end(to_status(errc::unavailable, "the controller has not decided yet: try again"));
    reachable(*s, *snap.config);
    serials(*s, *snap.config);
    ct_test(*s, *snap.config);
    release();
    if (stopped())
      return end(grpc::Status::CANCELLED);
    pv_sign(*a().hub->latest().first);
    clock();
    *report.mutable_finished_at() = TimeUtil::MillisecondsToTimestamp(now_ms());
    bool passed = true;
    for (const auto& c : report.checks())
      passed = passed && c.result() != v1::CHECK_RESULT_FAIL;
    report.set_passed(passed);
    if (a().db) {
      std::string json;
      google::protobuf::util::JsonPrintOptions opts;
      opts.add_whitespace = true;
      (void)google::protobuf::util::MessageToJsonString(report, &json, opts);
      for (const auto& doc : {std::string{commissioning::report_document},
                              commissioning::report_document_of(report.config_version())})
        if (auto r = a().db->put_document(doc, json); !r)
          spdlog::warn("commissioning: the report is not kept in {}: {}", doc, r.error().message);
    }
    v1::CommissionUpdate u;
    *u.mutable_report() = report;
    w->push(std::move(u));
    end(grpc::Status::OK);
  }
};

commissioning::commissioning(commissioning_args args)
  : a_(std::move(args)) {}

grpc::ServerWriteReactor<v1::CommissionUpdate>*
commissioning::start(grpc::CallbackServerContext*, const v1::CommissionRequest& req,
                     std::string by) {
  if (!(std::isfinite(req.test_power_w()) && req.test_power_w() >= 0))
    return new refused_writer<v1::CommissionUpdate>(
      to_status(errc::invalid_argument,
                fmt::format("test_power_w: a power >= 0 W, got {}", req.test_power_w())));
  if (running_.exchange(true))
    return new refused_writer<v1::CommissionUpdate>(
      to_status(errc::aborted, "a commissioning run is in progress: wait for its report"));
  auto* w = new update_writer();
  auto run = std::make_shared<commission_run>();
  run->owner = this;
  run->w = w;
  run->req = req;
  run->report.set_by(std::move(by));
  std::lock_guard lock{worker_mtx_};
  if (worker_.joinable())
    worker_.join();  // the last run, finished (running_ was false)
  try {
    worker_ = std::thread{[run] {
      try {
        run->run();
      } catch (const std::exception& e) {
        run->end(to_status(errc::internal, e.what()));
      } catch (...) {
        run->end(to_status(errc::internal, "commissioning failed"));
      }
    }};
  } catch (const std::system_error& e) {
    running_ = false;
    w->done(to_status(errc::resource_exhausted, e.what()));
  }
  return w;
}

commissioning::~commissioning() {
  shutdown();
}

void commissioning::shutdown() {
  stop_ = true;
  std::lock_guard lock{worker_mtx_};
  if (worker_.joinable())
    worker_.join();
}

std::string commissioning::report_document_of(uint64_t config_version) {
  return fmt::format("commissioning-report-v{}.json", config_version);
}

std::optional<v1::CommissionReport> commissioning::report(uint64_t config_version) const {
  if (!a_.db)
    return std::nullopt;
  auto doc = a_.db->get_document(config_version == 0 ? std::string{report_document}
                                                     : report_document_of(config_version));
  if (!doc || !*doc)
    return std::nullopt;
  v1::CommissionReport r;
  if (!google::protobuf::util::JsonStringToMessage(**doc, &r).ok())
    return std::nullopt;
  return r;
}

namespace {

const char* result_word(v1::CheckResult r) {
  switch (r) {
    case v1::CHECK_RESULT_PASS: return "PASS";
    case v1::CHECK_RESULT_FAIL: return "FAIL";
    case v1::CHECK_RESULT_WARN: return "WARN";
    case v1::CHECK_RESULT_SKIPPED: return "SKIP";
    default: return "";
  }
}

// "2026-11-30 14:05:09 +08:00" in the site's time zone.
std::string local_text(const google::protobuf::Timestamp& t, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Ez",
                          absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(t)), tz);
}

}  // namespace

expected<v1::CommissionReportFile, std::string> commission_file(const v1::CommissionReport& r,
                                                                const std::string& site,
                                                                const std::string& time_zone,
                                                                const std::string& format) {
  v1::CommissionReportFile f;
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(time_zone, &tz))
    tz = absl::UTCTimeZone();
  // The site's date of the run, as the workbook's times are.
  auto day = absl::FormatTime(
    "%Y%m%d", absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(r.started_at())), tz);
  auto stem = fmt::format("commissioning-v{}-{}", r.config_version(), day);
  if (format == "json" || format.empty()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions opts;
    opts.add_whitespace = true;
    if (!google::protobuf::util::MessageToJsonString(r, &json, opts).ok())
      return unexpected{std::string{"the report cannot be written as JSON"}};
    f.set_data(std::move(json));
    f.set_filename(stem + ".json");
    return f;
  }
  if (format != "xlsx")
    return unexpected{fmt::format("format \"{}\": json or xlsx", format)};
  auto book = write_workbook("Commissioning", [&](lxw_worksheet* ws, lxw_format* bold) {
    lxw_row_t row = 0;
    auto pair = [&](const char* k, const std::string& v) {
      worksheet_write_string(ws, row, 0, k, bold);
      worksheet_write_string(ws, row, 1, v.c_str(), nullptr);
      ++row;
    };
    pair("Site", site);
    pair("Config version", std::to_string(r.config_version()));
    pair("Started", local_text(r.started_at(), tz));
    pair("Finished", local_text(r.finished_at(), tz));
    pair("Run by", r.by());
    pair("Result", r.passed() ? "PASSED" : "FAILED");
    ++row;
    const char* headers[] = {"Check", "Device", "Result", "Detail", "Values"};
    for (lxw_col_t c = 0; c < 5; ++c)
      worksheet_write_string(ws, row, c, headers[c], bold);
    ++row;
    for (const auto& c : r.checks()) {
      worksheet_write_string(ws, row, 0, c.name().c_str(), nullptr);
      worksheet_write_string(ws, row, 1, c.device().c_str(), nullptr);
      worksheet_write_string(ws, row, 2, result_word(c.result()), nullptr);
      worksheet_write_string(ws, row, 3, c.detail().c_str(), nullptr);
      std::string values;
      std::map<std::string, double> sorted(c.values().begin(), c.values().end());
      for (const auto& [k, v] : sorted)
        values += fmt::format("{}{}={:g}", values.empty() ? "" : ", ", k, v);
      worksheet_write_string(ws, row, 4, values.c_str(), nullptr);
      ++row;
    }
    worksheet_set_column(ws, 0, 0, 16, nullptr);
    worksheet_set_column(ws, 1, 1, 14, nullptr);
    worksheet_set_column(ws, 3, 3, 80, nullptr);
    worksheet_set_column(ws, 4, 4, 40, nullptr);
  });
  if (!book)
    return unexpected{book.error()};
  f.set_data(std::move(*book));
  f.set_filename(stem + ".xlsx");
  return f;
}

}  // namespace plantd::services
