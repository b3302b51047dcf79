// EnergyModel proto <-> model/energy, and the actor's persistent encoding.
#pragma once

#include <string>

#include "actors/energy_actor.hpp"
#include "model/energy/model.hpp"
#include "plantd/v1/energy.pb.h"

namespace plantd::services {

// Field problems (bad dates, unknown kinds) are collected with their paths.
energy::model from_proto(const v1::EnergyModel& in, problems& out);
void to_proto(const energy::model& m, v1::EnergyModel* out);

energy::energy_type from_proto(const v1::EnergyType& in, const std::string& path, problems& out);
energy::node from_proto(const v1::Node& in, const std::string& path, problems& out);
energy::meter from_proto(const v1::Meter& in, const std::string& path, problems& out);
energy::product from_proto(const v1::Product& in);
energy::indicator_template from_proto(const v1::IndicatorTemplate& in, const std::string& path,
                                      problems& out);
energy::indicator from_proto(const v1::Indicator& in, const std::string& path, problems& out);
energy::enterprise from_proto(const v1::Enterprise& in);
void to_proto(const energy::indicator& i, const energy::model& m, v1::Indicator* out);

// The store encoding of the model used by the energy actor.
actors::energy_codec energy_store_codec();

}  // namespace plantd::services
