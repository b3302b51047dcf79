// A curl GET (or form POST) for tests and benches that read an HTTP peer
// back (the remote-write receiver, /metrics).
#pragma once

#include <string>

#include <curl/curl.h>

namespace plantd::test {

struct http_answer {
  long status = 0;
  std::string body;
};

inline std::size_t collect_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET (or POST a form) with curl: the test reads the receiver back.
inline http_answer http(const std::string& url, const std::string& form = {},
                        const std::string& userpw = {}, const std::string& ca = {}) {
  http_answer a;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  if (!form.empty())
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
  if (!userpw.empty())
    curl_easy_setopt(c, CURLOPT_USERPWD, userpw.c_str());
  if (!ca.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  curl_easy_cleanup(c);
  return a;
}

}  // namespace plantd::test
