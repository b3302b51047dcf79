#include <catch2/catch.hpp>

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "actors/errors.hpp"
#include "services/server.hpp"
#include "services/status.hpp"

using namespace plantd;
using grpc::StatusCode;

TEST_CASE("every plantd error maps to its gRPC status code", "[status]") {
  struct row {
    errc code;
    StatusCode grpc;
  };
  auto r = GENERATE(values<row>({
    {errc::ok, StatusCode::OK},
    {errc::invalid_argument, StatusCode::INVALID_ARGUMENT},
    {errc::not_found, StatusCode::NOT_FOUND},
    {errc::already_exists, StatusCode::ALREADY_EXISTS},
    {errc::failed_precondition, StatusCode::FAILED_PRECONDITION},
    {errc::unavailable, StatusCode::UNAVAILABLE},
    {errc::deadline_exceeded, StatusCode::DEADLINE_EXCEEDED},
    {errc::resource_exhausted, StatusCode::RESOURCE_EXHAUSTED},
    {errc::unimplemented, StatusCode::UNIMPLEMENTED},
    {errc::internal, StatusCode::INTERNAL},
  }));
  CAPTURE(to_string(r.code));
  CHECK(services::to_grpc_code(r.code) == r.grpc);
}

TEST_CASE("an actor's error keeps its code and text through to the status", "[status]") {
  caf::error err =
    caf::make_error(errc::failed_precondition, std::string{"meter M1 is used by unit U3"});
  CHECK(actors::to_errc(err) == errc::failed_precondition);
  auto st = services::to_status(err);
  CHECK(st.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(st.error_message() == "meter M1 is used by unit U3");
}

TEST_CASE("CAF's own errors map to the nearest code", "[status]") {
  CHECK(actors::to_errc(caf::make_error(caf::sec::request_timeout)) == errc::deadline_exceeded);
  CHECK(actors::to_errc(caf::make_error(caf::sec::request_receiver_down)) == errc::unavailable);
  CHECK(actors::to_errc(caf::error{}) == errc::ok);
}

TEST_CASE("INVALID_ARGUMENT lists every problem with its path", "[status]") {
  auto st = services::invalid_argument({{"site.name", "is required"}, {"", "bad document"}});
  CHECK(st.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "site.name: is required; bad document");
}

TEST_CASE("a message echoing a huge input is cut to a prefix that fits a header", "[status]") {
  std::string huge(100'000, 'x');
  auto st = services::to_status(errc::invalid_argument, "unknown name \"" + huge + "\"");
  CHECK(st.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().size() < 2100);
  CHECK(st.error_message().rfind("unknown name \"xxx", 0) == 0);
  CHECK(st.error_message().find("more bytes)") != std::string::npos);
}

TEST_CASE("a multi-byte character is never cut in half", "[status]") {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "\u7535";  // three bytes each
  auto msg = services::to_status(errc::invalid_argument, text).error_message();
  auto body = msg.substr(0, msg.find("..."));
  CHECK(body.size() % 3 == 0);
}

TEST_CASE("thousands of problems: the first ones, then how many more", "[status]") {
  problems many;
  for (int i = 0; i < 5000; ++i)
    many.push_back({"cabinets[" + std::to_string(i) + "].id", std::string(1000, 'y')});
  auto st = services::invalid_argument(many);
  CHECK(st.error_message().size() < 2100);
  CHECK(st.error_message().rfind("cabinets[0].id: yyy", 0) == 0);
  CHECK(st.error_message().find("more problems") != std::string::npos);
}

TEST_CASE("only a loopback address may serve plain text", "[server]") {
  using plantd::services::is_loopback;
  CHECK(is_loopback("127.0.0.1:0"));
  CHECK(is_loopback("127.1.2.3:50051"));
  CHECK(is_loopback("localhost:50051"));
  CHECK(is_loopback("[::1]:50051"));
  CHECK_FALSE(is_loopback("0.0.0.0:50051"));
  CHECK_FALSE(is_loopback("[::]:50051"));
  CHECK_FALSE(is_loopback("10.0.0.5:50051"));
  CHECK_FALSE(is_loopback("127.evil.example:50051"));
  CHECK_FALSE(is_loopback("127.0.0.1.nip.example:50051"));
}
