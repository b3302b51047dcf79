// StatisticsService over gRPC: overview from the latest plant state and the
// store; revenue and social contribution from the recorded energy.
#pragma once

#include <memory>

#include "actors/config_view.hpp"
#include "actors/state_hub.hpp"
#include "drivers/store/store.hpp"
#include "model/plant/config.hpp"
#include "plantd/v1/statistics.grpc.pb.h"

namespace plantd::services {

class statistics_service final : public v1::StatisticsService::CallbackService {
public:
  statistics_service(std::shared_ptr<const actors::config_view> config,
                     std::shared_ptr<actors::state_hub> hub, std::shared_ptr<store::store> db);

  grpc::ServerUnaryReactor* GetOverview(grpc::CallbackServerContext* ctx,
                                        const v1::GetOverviewRequest* req,
                                        v1::Overview* resp) override;
  grpc::ServerUnaryReactor* GetRevenue(grpc::CallbackServerContext* ctx,
                                       const v1::GetRevenueRequest* req,
                                       v1::GetRevenueResponse* resp) override;
  grpc::ServerUnaryReactor* GetSocialContribution(grpc::CallbackServerContext* ctx,
                                                  const v1::GetSocialContributionRequest* req,
                                                  v1::SocialContribution* resp) override;
  grpc::ServerUnaryReactor* GetDeviceStatistics(grpc::CallbackServerContext* ctx,
                                                const v1::GetDeviceStatisticsRequest* req,
                                                v1::DeviceStatistics* resp) override;

private:
  std::shared_ptr<const actors::config_view> config_;
  std::shared_ptr<actors::state_hub> hub_;
  std::shared_ptr<store::store> db_;
};

}  // namespace plantd::services
