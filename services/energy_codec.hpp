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

// One record of the model as its message (kind as actors::model_record
// names it; "enterprise": the one there is); false when there is none.
bool record_proto(const energy::model& m, const std::string& kind, const std::string& id,
                  v1::Record* out);
// A record as its message (an indicator's formula_display as given).
void record_proto(const actors::model_record& r, const std::string& formula_display,
                  v1::Record* out);
// The message of a record's item, and its kind and id (nullptr: no item).
const google::protobuf::Message* item_of(const v1::Record& r, std::string* kind, std::string* id);
// The JSON form of one record of the model ("" when there is none), for
// the audit trail's before and after.
std::string record_json(const energy::model& m, const std::string& kind, const std::string& id);

// The store encoding of the model used by the energy actor.
actors::energy_codec energy_store_codec();

}  // namespace plantd::services
