// The gRPC methods plantd serves raw (grpc::ByteBuffer in and out, the
// handler parsing and writing the bytes itself), with their request types.
// An interceptor's received message is a grpc::ByteBuffer for these, a
// protobuf message for every other method: a service that marks a method
// raw lists it here (the access gate reads its requests by this list).
#pragma once

#include <string_view>

namespace plantd::services {

struct raw_method {
  std::string_view path;
  std::string_view request_type;
};

// telemetry_service.hpp: QueryHistory's compact answer leaves from warm
// scratch without a copy.
inline constexpr raw_method raw_methods[] = {
  {"/plantd.v1.TelemetryService/QueryHistory", "plantd.v1.QueryHistoryRequest"},
};

// The request type of a raw method; empty for every other method.
constexpr std::string_view raw_request_type(std::string_view path) {
  for (const auto& m : raw_methods)
    if (m.path == path)
      return m.request_type;
  return {};
}

}  // namespace plantd::services
