#include "actors/uplink_actor.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/alarm_actor.hpp"
#include "actors/type_ids.hpp"

namespace plantd::actors {

namespace {

// What the uplink sends: a missing or invalid point has no value to send.
bool sendable(quality q) {
  return q != quality::missing && q != quality::invalid;
}

}  // namespace

std::optional<uint64_t> read_counter(const store::store& db, store::store::state_record r) {
  auto v = db.get_state(r);
  if (!v)
    return std::nullopt;
  uint64_t n = 0;
  if (*v)
    std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), n);
  return n;
}

uint64_t count_raw(const store::store& db, int64_t from_ms, int64_t to_ms) {
  uint64_t n = 0;
  if (from_ms >= to_ms)
    return 0;
  for (const auto& [name, id] : db.series())
    for (const auto& p : db.raw(id, from_ms, to_ms))
      n += sendable(p.q) ? 1 : 0;
  return n;
}

std::vector<uplink::series> alarm_series(const std::vector<alarms::alarm>& all, int64_t from_ms,
                                         int64_t to_ms, std::string_view site) {
  constexpr int64_t minute = 60'000;
  std::map<std::tuple<std::string, std::string, std::string>,
           std::vector<std::pair<int64_t, double>>>
    by_key;
  for (const auto& a : all) {
    if (a.raised_ms >= to_ms || (a.cleared_ms && *a.cleared_ms < from_ms))
      continue;
    auto& samples = by_key[{a.code, a.device, alarms::to_string(a.level)}];
    if (a.raised_ms >= from_ms)
      samples.emplace_back(a.raised_ms, 1.0);
    int64_t open_until = a.cleared_ms ? std::min(*a.cleared_ms, to_ms) : to_ms;
    int64_t first = std::max(from_ms, a.raised_ms + 1);
    for (int64_t m = (first + minute - 1) / minute * minute; m < open_until; m += minute)
      samples.emplace_back(m, 1.0);
    if (a.cleared_ms && *a.cleared_ms >= from_ms && *a.cleared_ms < to_ms)
      samples.emplace_back(*a.cleared_ms, 0.0);
  }
  std::vector<uplink::series> out;
  for (auto& [key, samples] : by_key) {
    if (samples.empty())
      continue;
    // One series may hold several alarms over time (raised, cleared, raised
    // again): in time order, one sample per time (a clear and a raise in the
    // same millisecond: the raise, it is the state after).
    std::stable_sort(samples.begin(), samples.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::pair<int64_t, double>> unique;
    for (const auto& s : samples) {
      if (!unique.empty() && unique.back().first == s.first)
        unique.back().second = std::max(unique.back().second, s.second);
      else
        unique.push_back(s);
    }
    uplink::series s;
    s.labels = {{"__name__", "plantd_alarm_active"},
                {"code", std::get<0>(key)},
                {"device", std::get<1>(key)},
                {"severity", std::get<2>(key)},
                {"site", std::string{site}}};
    s.samples = std::move(unique);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

using std::chrono::milliseconds;

// A credential file's content, without the trailing newline.
expected<std::string, std::string> read_secret(const std::string& path, const char* what) {
  std::ifstream in{path};
  if (!in)
    return unexpected{fmt::format("cannot read uplink.{} {}", what, path)};
  std::ostringstream text;
  text << in.rdbuf();
  auto s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  if (s.empty())
    return unexpected{fmt::format("uplink.{} {} is empty", what, path)};
  if (s.size() > 4096 || s.find_first_of("\r\n") != std::string::npos)
    return unexpected{
      fmt::format("uplink.{} {} must hold one line of at most 4096 bytes", what, path)};
  return s;
}

struct ctx {
  uplink_actor_args a;
  std::unique_ptr<uplink::client> http;
  plant::uplink cfg_in_use;  // the config of the last round
  uplink_status st;
  bool cursor_loaded = false;
  int64_t span_ms = 60'000;         // the next window's length, adapted to the data's density
  int64_t span_cap_ms = 3'600'000;  // lowered by a 413 or a timeout, for this connection
  milliseconds backoff{0};
  int64_t retry_at_ms = 0;
  double samples_per_ms = 0;  // of the data seen lately (backlog estimate, window size)

  int64_t now_ms() const { return a.clk->now().time_since_epoch().count(); }

  // Credentials never reach a log or GetInfo, even when a receiver echoes them.
  std::string redacted(std::string text) const {
    for (const auto* secret : {&token, &password})
      if (!secret->empty())
        for (auto at = text.find(*secret); at != std::string::npos; at = text.find(*secret))
          text.replace(at, secret->size(), "***");
    return text;
  }
  std::string token, password;

  void fail(std::string error) {
    error = redacted(std::move(error));
    if (st.last_error != error)
      spdlog::warn("uplink: {}", error);
    st.last_error = std::move(error);
    st.last_error_ms = now_ms();
    st.connected = false;
  }

  void publish() {
    if (st.enabled) {
      st.lag_ms = std::max<int64_t>(0, now_ms() - st.cursor_ms);
      st.backlog_samples = static_cast<uint64_t>(samples_per_ms * static_cast<double>(st.lag_ms));
    } else {
      st.lag_ms = 0;
      st.backlog_samples = 0;
    }
    if (auto lost = read_counter(*a.db, uplink_lost_key))
      st.lost_samples = *lost;
    if (a.monitor)
      a.monitor->set(st);
  }

  // The HTTP client for the config in force (credentials read again when
  // the config changes, or after a failure).
  bool connect(const plant::uplink& u) {
    if (http)
      return true;
    token.clear();
    password.clear();
    if (!u.bearer_token_file.empty()) {
      auto t = read_secret(u.bearer_token_file, "bearer_token_file");
      if (!t) {
        fail(t.error());
        return false;
      }
      token = std::move(*t);
    }
    if (!u.password_file.empty()) {
      auto p = read_secret(u.password_file, "password_file");
      if (!p) {
        fail(p.error());
        return false;
      }
      password = std::move(*p);
    }
    uplink::endpoint ep;
    ep.url = u.url;
    ep.bearer_token = token;
    ep.username = u.username;
    ep.password = password;
    ep.ca_file = u.ca_file;
    http = std::make_unique<uplink::client>(std::move(ep));
    span_cap_ms = 3'600'000;
    return true;
  }

  // False when the store cannot tell where the uplink stopped (tried again).
  bool load_cursor(const plant::uplink& u) {
    if (cursor_loaded)
      return true;
    auto v = a.db->get_state(uplink_cursor_key);
    if (!v) {
      fail("cannot read the uplink's cursor: " + v.error().message);
      return false;
    }
    int64_t c = 0;
    if (*v && std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), c).ec == std::errc{}) {
      st.cursor_ms = c;
      if (auto r = read_counter(*a.db, uplink_rejected_key))
        st.rejected_samples = *r;
    } else {
      // A new uplink starts backfill_hours back.
      st.cursor_ms = now_ms() - int64_t{u.backfill_hours} * 3'600'000;
      save_cursor();
    }
    cursor_loaded = true;
    return true;
  }

  bool save_cursor() {
    if (auto r = a.db->put_state(uplink_cursor_key, std::to_string(st.cursor_ms)); !r) {
      fail("cannot store the cursor: " + r.error().message);
      return false;
    }
    return true;
  }

  // The window [from, to) as series to send; nullopt when the store could
  // not read all of it (the cursor stays: nothing is skipped unsaid).
  std::optional<std::vector<uplink::series>>
  read_window(int64_t from, int64_t to, const std::string& site, std::size_t* samples) {
    std::vector<uplink::series> out;
    *samples = 0;
    std::string error;
    for (const auto& [name, id] : a.db->series()) {
      auto pts = a.db->raw(id, from, to, SIZE_MAX, &error);
      if (!error.empty()) {
        fail(fmt::format("cannot read {} from the store: {}", name, error));
        return std::nullopt;
      }
      uplink::series s;
      s.samples.reserve(pts.size());
      for (const auto& p : pts)
        if (sendable(p.q))
          s.samples.emplace_back(p.t_ms, p.value);
      if (s.samples.empty())
        continue;
      *samples += s.samples.size();
      s.labels = uplink::labels_of(name, site);
      out.push_back(std::move(s));
    }
    auto all = a.db->alarms(&error);
    if (!error.empty()) {
      fail("cannot read the alarms from the store: " + error);
      return std::nullopt;
    }
    for (auto& s : alarm_series(all, from, to, site)) {
      *samples += s.samples.size();
      out.push_back(std::move(s));
    }
    return out;
  }

  void retry_later(milliseconds at_least, std::optional<std::chrono::seconds> retry_after) {
    backoff = std::clamp(backoff * 2, milliseconds{1000}, milliseconds{60'000});
    backoff = std::max(backoff, at_least);
    if (retry_after)
      backoff = std::max<milliseconds>(backoff, *retry_after);
    retry_at_ms = now_ms() + backoff.count();
  }

  // The next window's length: about max_samples_per_request at the density
  // seen lately, within what the receiver took.
  void size_span(const plant::uplink& u) {
    if (samples_per_ms > 0)
      span_ms = static_cast<int64_t>(0.9 * u.max_samples_per_request / samples_per_ms);
    span_ms = std::clamp<int64_t>(span_ms, 1000, span_cap_ms);
  }

  // One window sent (or not); when the next round is due.
  milliseconds round() {
    auto view = a.view->get();
    const auto& u = view->uplink;
    st.enabled = u.enabled && !u.url.empty();
    if (!st.enabled) {
      http.reset();
      st.connected = false;
      publish();
      return milliseconds{1000};
    }
    if (!(cfg_in_use == u)) {  // a changed uplink config is tried at once
      http.reset();
      cfg_in_use = u;
      retry_at_ms = 0;
      backoff = milliseconds{0};
    }
    if (!load_cursor(u)) {
      publish();
      return milliseconds{5000};
    }
    auto now = now_ms();
    if (now < retry_at_ms) {
      publish();
      return milliseconds{std::min<int64_t>(retry_at_ms - now, 1000)};
    }
    if (!connect(u)) {
      retry_later(milliseconds{30'000}, std::nullopt);
      publish();
      return milliseconds{1000};
    }
    // Everything before the horizon is in the store: the store actor's
    // watermark, and a settle time for the alarm records.
    int64_t horizon = now - a.settle.count();
    if (a.stored_through)
      horizon = std::min(horizon, a.stored_through->load(std::memory_order_acquire));
    if (st.cursor_ms > now + 60'000) {
      // The clock went back (a unit that booted with a wrong date, then
      // synchronized): what is stored from now on would be behind the cursor.
      spdlog::warn("uplink: the cursor ({} ms) is ahead of the clock ({} ms): starting again "
                   "from now",
                   st.cursor_ms, now);
      st.cursor_ms = now - a.settle.count();  // not the watermark: 0 until the first flush
      save_cursor();
    }
    int64_t due = st.cursor_ms + std::min<int64_t>(u.interval_ms, 60'000);
    if (horizon < due) {  // caught up: wait for the next interval's worth
      publish();
      return milliseconds{std::clamp<int64_t>(due - horizon, 100, u.interval_ms)};
    }
    int64_t to = std::min(st.cursor_ms + span_ms, horizon);
    auto started = std::chrono::steady_clock::now();
    std::size_t n = 0;
    auto batch = read_window(st.cursor_ms, to, view->site.name, &n);
    if (!batch) {
      retry_later(milliseconds{0}, std::nullopt);
      publish();
      return milliseconds{1000};
    }
    if (n > 0)
      samples_per_ms = static_cast<double>(n) / static_cast<double>(to - st.cursor_ms);
    if (n > 2 * std::size_t{u.max_samples_per_request} && to - st.cursor_ms > 1000) {
      size_span(u);  // denser than the last window: a smaller one first
      return milliseconds{0};
    }
    if (n > 0) {
      auto body = uplink::snappy_compress(uplink::encode_write_request(*batch));
      auto r = http->post(body);
      ++st.sent_requests;
      bool too_large = r.status == 413 || r.timed_out;
      if (r.ok()) {
        st.sent_samples += n;
      } else if (too_large && to - st.cursor_ms > 1000) {
        // Smaller requests from now on (a receiver's limit, a slow link).
        ++st.failed_requests;
        span_cap_ms = std::max<int64_t>(1000, (to - st.cursor_ms) / 2);
        span_ms = span_cap_ms;
        fail(fmt::format("{}: {} (sending smaller requests)", u.url, r.error));
        return milliseconds{r.timed_out ? 1000 : 0};
      } else if (r.status == 400 || r.status == 422 || r.status == 413) {
        // The receiver refuses this data (sent again it would be refused
        // again): counted, and the uplink goes on.
        ++st.failed_requests;
        st.rejected_samples += n;
        (void)a.db->put_state(uplink_rejected_key, std::to_string(st.rejected_samples));
        fail(fmt::format("{} refused {} samples of [{}, {}) ms: {}", u.url, n, st.cursor_ms, to,
                         r.error));
      } else {
        ++st.failed_requests;
        bool config_wrong =
          r.status == 401 || r.status == 403 || r.status == 404 || r.status == 405;
        fail(fmt::format("{}: {}{}", u.url, r.error.empty() ? "no answer" : r.error,
                         config_wrong ? " (check uplink.url and the credentials)" : ""));
        retry_later(config_wrong ? milliseconds{300'000} : milliseconds{0}, r.retry_after);
        if (config_wrong || r.status == 0)
          http.reset();  // credentials read again, a new connection
        publish();
        return milliseconds{1000};
      }
    }
    st.cursor_ms = to;
    if (save_cursor() && n > 0 && st.last_error_ms < now) {
      st.connected = true;
      st.last_success_ms = now;
    }
    backoff = milliseconds{0};
    if (n == 0 && to < horizon)
      span_ms = std::min<int64_t>(span_ms * 2, span_cap_ms);  // an empty stretch: faster over it
    else if (n > 0)
      size_span(u);
    publish();
    // The catch-up rate: this window's samples at max_samples_per_s.
    auto spent =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    auto budget = milliseconds{static_cast<int64_t>(1000.0 * static_cast<double>(n)
                                                    / static_cast<double>(u.max_samples_per_s))};
    return std::max(milliseconds{0}, budget - spent);
  }
};

}  // namespace

uplink_api::behavior_type uplink_actor(uplink_api::pointer self, uplink_actor_args args) {
  // Detached: this thread is the uplink's own. Below the control loop.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  auto c = std::make_shared<ctx>();
  c->a = std::move(args);
  self->send(self, tick_atom_v);
  return {
    [self, c](tick_atom) {
      auto next = c->round();
      if (next.count() == 0)
        self->send(self, tick_atom_v);
      else
        self->delayed_send(self, next, tick_atom_v);
    },
    [c](caf::get_atom, state_atom) { return c->st.cursor_ms; },
  };
}

}  // namespace plantd::actors
