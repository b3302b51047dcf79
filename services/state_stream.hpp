// A server stream of the plant state (ControlService.StreamState,
// TelemetryService.StreamTelemetry): the newest state is written whenever the
// previous write has completed, so a slow reader gets coalesced states and
// the supervisor never waits for it.
#pragma once

#include <memory>

#include <grpcpp/support/server_callback.h>

#include "actors/state_hub.hpp"
#include "plantd/v1/control.pb.h"

namespace plantd::services {

grpc::ServerWriteReactor<v1::PlantState>* make_state_stream(std::shared_ptr<actors::state_hub> hub);

// plant_state -> message.
void to_proto(const actors::plant_state& s, v1::PlantState* out);

}  // namespace plantd::services
