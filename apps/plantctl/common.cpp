#include "apps/plantctl/common.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>

#include <google/protobuf/util/json_util.h>

namespace plantd::apps {

std::unique_ptr<grpc::ClientContext> context(const control_opts& o) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now()
                    + std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
  return ctx;
}

int call_failed(const grpc::Status& st) {
  std::cerr << "plantctl: " << st.error_message() << "\n";
  switch (st.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::FAILED_PRECONDITION: return 1;
    default: return 3;
  }
}

std::optional<double> parse_duration_s(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  char* unit = nullptr;
  double n = std::strtod(text.c_str(), &unit);
  if (unit == text.c_str())
    return std::nullopt;
  double factor = 1;
  if (std::strcmp(unit, "d") == 0)
    factor = 86400;
  else if (std::strcmp(unit, "h") == 0)
    factor = 3600;
  else if (std::strcmp(unit, "m") == 0)
    factor = 60;
  else if (std::strcmp(unit, "s") != 0 && *unit != '\0')
    return std::nullopt;
  double s = n * factor;
  if (!(s > 0))
    return std::nullopt;
  return s;
}

int64_t ms_ago(double seconds) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  return now - static_cast<int64_t>(seconds * 1000);
}

std::string json_of(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions jo;
  jo.preserve_proto_field_names = true;
  jo.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, jo);
  return out;
}

}  // namespace plantd::apps
