// Small helpers shared by the plantctl commands.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

// A client context with the --timeout deadline.
std::unique_ptr<grpc::ClientContext> context(const control_opts& o);

// "90s", "15m", "6h", "7d" (a bare number is seconds) -> seconds; nullopt when
// not a positive duration.
std::optional<double> parse_duration_s(const std::string& text);

// Milliseconds since the epoch, `seconds` ago.
int64_t ms_ago(double seconds);

// Prints a failed call's message; the exit code: 1 when the answer is "no"
// (INVALID_ARGUMENT, NOT_FOUND, ABORTED, FAILED_PRECONDITION), else 3.
int call_failed(const grpc::Status& st);

// A message as JSON with the .proto field names and every field.
std::string json_of(const google::protobuf::Message& m);

}  // namespace plantd::apps
