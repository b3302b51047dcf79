// PlantConfig between its three forms: JSON text (config files), the
// protobuf message (gRPC) and plant::config (the model). Defaults for fields
// left at 0 are applied on the way to the model, so to_proto(to_model(p))
// spells every default out.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "model/common/problem.hpp"
#include "model/plant/config.hpp"
#include "plantd/v1/config.pb.h"

namespace plantd::services {

// JSON text -> message. Malformed JSON, unknown fields and wrong types give
// problems naming the field (path "" when the document as a whole is bad).
std::optional<v1::PlantConfig> parse_config_json(std::string_view text, problems& out);

// Message -> JSON text, field names as in the .proto, defaults included.
std::string to_json(const v1::PlantConfig& msg);

// Message -> model, applying defaults. Enum numbers the schema does not know
// are reported in `out`.
plant::config to_model(const v1::PlantConfig& msg, problems& out);

// Model -> message.
v1::PlantConfig to_proto(const plant::config& cfg);

// Secrets are write-only: clears every secret of `msg` (the cellular
// password), marking that one is set. For answers, the database and logs.
void redact_secrets(v1::PlantConfig& msg);

// A config file, read, parsed, converted and validated.
struct loaded_config {
  v1::PlantConfig message;
  plant::config model;
  plantd::problems problems;  // empty: the config is valid
};

// Reads and checks `path`. An unreadable file is a problem too.
loaded_config load_config_file(const std::filesystem::path& path);

// The largest config text (or message) plantd reads: far above any real
// site, far below what would tie up a thread or megabytes of memory.
inline constexpr std::size_t max_config_bytes = 1u << 20;

// Parses and checks config JSON text.
loaded_config load_config_text(std::string_view text);

// Converts and checks a message.
loaded_config check_config(const v1::PlantConfig& msg);

}  // namespace plantd::services
