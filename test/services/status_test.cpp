#include <catch2/catch.hpp>

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "actors/errors.hpp"
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
  caf::error err = caf::make_error(errc::failed_precondition,
                                   std::string{"meter M1 is used by unit U3"});
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
