// The configuration has one owner: a change made through the API is a new
// version, shown by GetConfig, and still in force after a restart; an
// edited config file is a newer version that wins.
#include <catch2/catch.hpp>

#include <filesystem>

#include "plantd/v1/plant_service.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

v1::GetConfigResponse get_config(const std::string& target) {
  auto stub = v1::PlantService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::GetConfigResponse resp;
  auto st = stub->GetConfig(ctx().get(), {}, &resp);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return resp;
}

} // namespace

TEST_CASE("SetMode is a config change: GetConfig shows it, a restart keeps it, an edited file wins",
          "[e2e][config]") {
  auto config = sim_config("single-cabinet");
  auto data = std::filesystem::path{write_temp_file("", ".d") + "d"};
  {
    running_plantd plantd{config, {}, data.string()};
    auto before = get_config(plantd.target());
    CHECK(before.version() == 1);
    CHECK(before.config().policies().mode() == v1::WORKING_MODE_SELF_CONSUMPTION);
    v1::SetModeRequest req;
    req.set_mode(v1::WORKING_MODE_TIME_OF_USE);
    v1::SetModeResponse resp;
    REQUIRE(plantd.control().SetMode(ctx().get(), req, &resp).ok());
    auto after = get_config(plantd.target());
    CHECK(after.version() == 2);
    CHECK(after.config().policies().mode() == v1::WORKING_MODE_TIME_OF_USE);
    CHECK(plantd.state().mode() == v1::WORKING_MODE_TIME_OF_USE);
    // A refused change leaves the version as it was.
    auto* slot = req.mutable_tou()->add_slots();
    slot->set_start("00:00");
    slot->set_end("12:00");
    slot->set_action(v1::SLOT_ACTION_IDLE);
    CHECK(plantd.control().SetMode(ctx().get(), req, &resp).error_code()
          == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(get_config(plantd.target()).version() == 2);
  }
  {
    running_plantd plantd{config, {}, data.string()};
    auto restarted = get_config(plantd.target());
    CHECK(restarted.version() == 2);
    CHECK(restarted.config().policies().mode() == v1::WORKING_MODE_TIME_OF_USE);
    CHECK(plantd.state().mode() == v1::WORKING_MODE_TIME_OF_USE);
  }
  // The installer edits the file: it is a new version, and it wins.
  auto file = services::load_config_file(config);
  REQUIRE(file.problems.empty());
  file.message.mutable_site()->set_name("Renamed on site");
  auto edited = write_temp_file(services::to_json(file.message));
  {
    running_plantd plantd{edited, {}, data.string()};
    auto now = get_config(plantd.target());
    CHECK(now.version() == 3);
    CHECK(now.config().site().name() == "Renamed on site");
    CHECK(now.config().policies().mode() == v1::WORKING_MODE_SELF_CONSUMPTION);
  }
  std::filesystem::remove_all(data);
  std::remove(edited.c_str());
}
