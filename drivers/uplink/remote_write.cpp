#include "drivers/uplink/remote_write.hpp"

#include <algorithm>
#include <cstring>

#include <curl/curl.h>
#include <dlfcn.h>
#include <snappy.h>

namespace plantd::uplink {

namespace {

std::size_t varint_size(uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Tags: (field << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
constexpr char tag_len1 = 0x0A;     // field 1, length-delimited
constexpr char tag_len2 = 0x12;     // field 2, length-delimited
constexpr char tag_fixed1 = 0x09;   // field 1, fixed64
constexpr char tag_varint2 = 0x10;  // field 2, varint

std::size_t len_field(std::size_t n) {
  return 1 + varint_size(n) + n;
}

std::size_t label_size(const label& l) {
  return len_field(l.name.size()) + len_field(l.value.size());
}

std::size_t sample_size(int64_t t) {
  return 1 + 8 + 1 + varint_size(static_cast<uint64_t>(t));
}

std::size_t series_size(const series& s) {
  std::size_t n = 0;
  for (const auto& l : s.labels)
    n += len_field(label_size(l));
  for (const auto& [t, v] : s.samples)
    n += len_field(sample_size(t));
  return n;
}

void put_string(std::string& out, char tag, std::string_view s) {
  out.push_back(tag);
  put_varint(out, s.size());
  out.append(s);
}

}  // namespace

std::string encode_write_request(const std::vector<series>& batch) {
  std::size_t total = 0;
  for (const auto& s : batch)
    total += len_field(series_size(s));
  std::string out;
  out.reserve(total);
  for (const auto& s : batch) {
    out.push_back(tag_len1);
    put_varint(out, series_size(s));
    for (const auto& l : s.labels) {
      out.push_back(tag_len1);
      put_varint(out, label_size(l));
      put_string(out, tag_len1, l.name);
      put_string(out, tag_len2, l.value);
    }
    for (const auto& [t, v] : s.samples) {
      out.push_back(tag_len2);
      put_varint(out, sample_size(t));
      out.push_back(tag_fixed1);
      uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));  // little-endian
      out.push_back(tag_varint2);
      put_varint(out, static_cast<uint64_t>(t));
    }
  }
  return out;
}

std::string snappy_compress(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string metric_name(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + 1);
  for (char ch : raw) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
              || ch == '_' || ch == ':';
    out.push_back(ok ? ch : '_');
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9'))
    out.insert(out.begin(), '_');
  return out;
}

std::vector<label> labels_of(std::string_view name, std::string_view site) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = name.find('.', start);
    parts.push_back(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  std::vector<label> out;
  if (parts.size() <= 2) {
    std::string joined{"plantd"};
    for (auto p : parts)
      joined += "_" + std::string{p};
    out.push_back({"__name__", metric_name(joined)});
  } else {
    out.push_back({"__name__", metric_name("plantd_" + std::string{parts.front()} + "_"
                                           + std::string{parts.back()})});
    auto device = name.substr(parts.front().size() + 1,
                              name.size() - parts.front().size() - parts.back().size() - 2);
    out.push_back({"device", std::string{device}});
  }
  out.push_back({"site", std::string{site}});
  std::sort(out.begin(), out.end(), [](const label& a, const label& b) { return a.name < b.name; });
  return out;
}

namespace {

// libcurl, loaded when the first client is made: a plantd without an uplink
// does not map it and the TLS, Kerberos, LDAP and PKCS#11 libraries it
// brings (about 5 MB of resident memory, much of it their start-up work).
struct curl_api {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  std::string error;  // why it could not be loaded
};

template <class F>
bool bind(void* lib, const char* name, F& fn, std::string& error) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn && error.empty())
    error = std::string{"libcurl has no "} + name;
  return fn != nullptr;
}

const curl_api& curl() {
  static const curl_api api = [] {
    curl_api a;
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      a.error = std::string{"cannot load libcurl.so.4 (the libcurl4 package): "}
                + (why ? why : "unknown error");
      return a;
    }
    bool ok = bind(lib, "curl_global_init", a.global_init, a.error)
              && bind(lib, "curl_easy_init", a.easy_init, a.error)
              && bind(lib, "curl_easy_setopt", a.easy_setopt, a.error)
              && bind(lib, "curl_easy_perform", a.easy_perform, a.error)
              && bind(lib, "curl_easy_getinfo", a.easy_getinfo, a.error)
              && bind(lib, "curl_easy_cleanup", a.easy_cleanup, a.error)
              && bind(lib, "curl_easy_strerror", a.easy_strerror, a.error)
              && bind(lib, "curl_slist_append", a.slist_append, a.error)
              && bind(lib, "curl_slist_free_all", a.slist_free_all, a.error);
    if (ok)
      a.global_init(CURL_GLOBAL_DEFAULT);
    return a;  // the library stays loaded for the process
  }();
  return api;
}

}  // namespace

struct client::impl {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  std::string answer;
  std::optional<std::chrono::seconds> retry_after;

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* i = static_cast<impl*>(self);
    auto len = size * n;
    if (i->answer.size() < 512)
      i->answer.append(data, std::min(len, 512 - i->answer.size()));
    return len;
  }
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* i = static_cast<impl*>(self);
    std::string_view line{data, size * n};
    constexpr std::string_view key = "retry-after:";
    if (line.size() > key.size()) {
      std::string head{line.substr(0, key.size())};
      std::transform(head.begin(), head.end(), head.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (head == key) {
        long s = std::strtol(std::string{line.substr(key.size())}.c_str(), nullptr, 10);
        if (s > 0)
          i->retry_after = std::chrono::seconds{std::min(s, 3600L)};
      }
    }
    return size * n;
  }
};

client::client(endpoint ep)
  : ep_(std::move(ep)),
    impl_(std::make_unique<impl>()) {
  const auto& api = curl();
  if (!api.error.empty())
    return;
  impl_->curl = api.easy_init();
  auto* c = impl_->curl;
  if (!c)
    return;
  auto curl_easy_setopt = api.easy_setopt;
  auto curl_slist_append = api.slist_append;
  curl_easy_setopt(c, CURLOPT_URL, ep_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1000L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max<int64_t>(1, ep_.timeout.count() / 1000)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(10 * ep_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(ep_.timeout.count(), 10'000)));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ep_.ca_file.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, ep_.ca_file.c_str());
  if (!ep_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, ep_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, ep_.password.c_str());
  }
  auto add = [this, curl_slist_append](const std::string& h) {
    impl_->headers = curl_slist_append(impl_->headers, h.c_str());
  };
  add("Content-Encoding: snappy");
  add("Content-Type: application/x-protobuf");
  add("X-Prometheus-Remote-Write-Version: 0.1.0");
  add("User-Agent: plantd");
  add("Expect:");  // no 100-continue round trip for large bodies
  if (!ep_.bearer_token.empty())
    add("Authorization: Bearer " + ep_.bearer_token);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, impl_->headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &impl::on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, impl_.get());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &impl::on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, impl_.get());
}

client::~client() {
  if (impl_->curl)
    curl().easy_cleanup(impl_->curl);
  if (impl_->headers)
    curl().slist_free_all(impl_->headers);
}

post_result client::post(std::string_view body) {
  post_result r;
  const auto& api = curl();
  if (!api.error.empty()) {
    r.error = api.error;
    return r;
  }
  if (!impl_->curl) {
    r.error = "cannot create an HTTP client (out of memory?)";
    return r;
  }
  auto curl_easy_setopt = api.easy_setopt;
  auto curl_easy_perform = api.easy_perform;
  auto curl_easy_getinfo = api.easy_getinfo;
  auto curl_easy_strerror = api.easy_strerror;
  impl_->answer.clear();
  impl_->retry_after.reset();
  auto* c = impl_->curl;
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  auto rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    // Too slow once connected (not a receiver that is not there).
    curl_off_t sent = 0;
    curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent);
    r.timed_out = rc == CURLE_OPERATION_TIMEDOUT && sent > 0;
    r.error = errbuf[0] ? std::string{errbuf} : std::string{curl_easy_strerror(rc)};
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.retry_after = impl_->retry_after;
  if (!r.ok()) {
    auto& a = impl_->answer;
    while (!a.empty() && (a.back() == '\n' || a.back() == '\r' || a.back() == ' '))
      a.pop_back();
    r.error = "HTTP " + std::to_string(r.status) + (a.empty() ? "" : ": " + a);
  }
  return r;
}

}  // namespace plantd::uplink
