// The uplink's HTTP client: libcurl (and the TLS, Kerberos and PKCS#11
// libraries it brings) is loaded when the first client is made, so a
// plantd without an uplink never maps it.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "drivers/uplink/remote_write.hpp"

using namespace plantd;

namespace {

bool mapped(const std::string& lib) {
  std::ifstream maps{"/proc/self/maps"};
  std::stringstream all;
  all << maps.rdbuf();
  return all.str().find(lib) != std::string::npos;
}

}  // namespace

TEST_CASE("the uplink loads libcurl with its first client, not before", "[uplink]") {
  CHECK_FALSE(mapped("libcurl"));
  uplink::endpoint ep;
  ep.url = "http://localhost/api/v1/write";  // never posted to
  ep.timeout = std::chrono::milliseconds{1000};
  {
    uplink::client c{ep};
    CHECK(mapped("libcurl"));
  }
  CHECK(mapped("libcurl"));  // loaded once, for the process
}
