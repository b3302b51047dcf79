// The configuration's history in the store: every version with who made it,
// how and what it changed; two versions compared field by field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/messages.hpp"
#include "drivers/store/store.hpp"
#include "model/common/expected.hpp"
#include "plantd/v1/plant_service.pb.h"

namespace plantd::services {

struct config_change {
  std::string path;    // "policies.export_limit.limit_w", "cabinets[2].modbus.host"
  std::string before;  // JSON; empty when absent
  std::string after;
};

// What differs between `a` and `b`. Unset singular messages compare as
// their defaults; a list element present on one side only is one change
// with the element as JSON.
std::vector<config_change> diff_configs(const v1::PlantConfig& a, const v1::PlantConfig& b);

// Stores `cfg` (its secrets removed) as `version`, with who made it and the
// fields changed from the version before it. `source`: the config file's
// text when the version was made from one.
expected<void, store::error> store_config_version(store::store& db, v1::PlantConfig cfg,
                                                  uint64_t version, const actors::change_info& info,
                                                  int64_t applied_at_ms,
                                                  std::optional<std::string_view> source = {});

// A stored version (secrets removed); nullopt when it is not kept.
std::optional<v1::PlantConfig> stored_config(const store::store& db, uint64_t version);

// Versions older than `before` (0: from the newest), newest first.
std::vector<v1::ConfigVersion> config_versions(const store::store& db, uint64_t before,
                                               std::size_t limit);

}  // namespace plantd::services
