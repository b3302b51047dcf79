// AlarmService over gRPC: an adapter to the alarm actor.
#pragma once

#include <caf/actor.hpp>

#include "actors/alarm_actor.hpp"
#include "actors/alarm_hub.hpp"
#include "plantd/v1/alarm.grpc.pb.h"

namespace plantd::services {

class alarm_service final : public v1::AlarmService::CallbackService {
public:
  alarm_service(caf::actor_system& sys, actors::alarm_api alarms,
                std::shared_ptr<actors::alarm_hub> hub)
    : sys_(sys),
      alarms_(std::move(alarms)),
      hub_(std::move(hub)) {}

  grpc::ServerUnaryReactor* ListAlarms(grpc::CallbackServerContext* ctx,
                                       const v1::ListAlarmsRequest* req,
                                       v1::ListAlarmsResponse* resp) override;
  grpc::ServerUnaryReactor* Acknowledge(grpc::CallbackServerContext* ctx,
                                        const v1::AcknowledgeRequest* req,
                                        v1::Alarm* resp) override;
  grpc::ServerWriteReactor<v1::Alarm>* StreamAlarms(grpc::CallbackServerContext* ctx,
                                                    const v1::StreamAlarmsRequest* req) override;

private:
  caf::actor_system& sys_;
  actors::alarm_api alarms_;
  std::shared_ptr<actors::alarm_hub> hub_;
};

}  // namespace plantd::services
