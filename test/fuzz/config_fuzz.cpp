// Fuzzes the config file reader (services/config_codec.hpp): any bytes are
// config JSON text for load_config_text, which parses protobuf JSON,
// translates the parser's errors into problems, converts the message to the
// model and validates it. A valid config is also written back (to_proto,
// to_json, redact_secrets), as GetConfig and the store do.
#include <cstdint>
#include <string_view>

#include "services/config_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto loaded = plantd::services::load_config_text(text);
  if (loaded.problems.empty()) {
    auto msg = plantd::services::to_proto(loaded.model);
    plantd::services::redact_secrets(msg);
    (void)plantd::services::to_json(msg);
  }
  return 0;
}
