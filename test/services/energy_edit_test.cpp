// EnergyCarbonService.Update against an energy actor whose model changes
// under it: the change is prepared from one record and sent with the
// model's version; the actor refuses it (aborted) when the version moved,
// and the service prepares it again from the record as it now stands,
// three times at most. A real gRPC server with the access gate, a real
// client, and an energy actor of our own that speaks energy_api and
// changes its version as the test tells it.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <grpcpp/grpcpp.h>

#include "actors/energy_actor.hpp"
#include "actors/errors.hpp"
#include "actors/system.hpp"
#include "plantd/v1/energy.grpc.pb.h"
#include "services/access_gate.hpp"
#include "services/accounts.hpp"
#include "services/audit_log.hpp"
#include "services/energy_service.hpp"
#include "test/support/temp_dir.hpp"

using namespace plantd;
namespace v1 = plantd::v1;

namespace {

// What the fake energy actor saw and how it answers.
struct book {
  std::mutex mtx;
  uint64_t version = 1;
  int aborts_left = 0;  // edits refused as aborted (each moves the version on)
  int record_requests = 0;
  std::vector<actors::model_edit> edits;
};

caf::error unused(const char* what) {
  return caf::make_error(errc::unimplemented, std::string{what} + ": not in this test");
}

actors::energy_api::behavior_type fake_energy(actors::energy_api::pointer self,
                                              std::shared_ptr<book> b) {
  (void)self;
  return {
    [b](actors::energy_atom, const actors::record_request& q) {
      std::lock_guard g{b->mtx};
      ++b->record_requests;
      actors::record_answer a;
      a.found = q.kind == "node" && q.id == "w1";
      energy::node n;
      n.id = "w1";
      n.name = "Workshop 1";
      n.kind = energy::node_kind::workshop;
      n.parent = "plant";
      n.metering_level = 2;
      a.record = n;
      a.version = b->version;
      return a;
    },
    [b](actors::energy_atom, const actors::model_edit& e) -> caf::result<actors::model_edited> {
      std::lock_guard g{b->mtx};
      b->edits.push_back(e);
      if (e.base_version != b->version)
        return caf::make_error(errc::aborted, std::string{"the model changed: prepare it again"});
      if (b->aborts_left > 0) {
        --b->aborts_left;
        ++b->version;  // someone else's change came in between
        return caf::make_error(errc::aborted, std::string{"the model changed: prepare it again"});
      }
      ++b->version;
      actors::model_edited r;
      r.version = b->version;
      r.put = 1;
      return r;
    },
    [](actors::leaf_atom, const std::vector<actors::leaf_update>&) -> caf::result<bool> {
      return unused("leaf");
    },
    [](actors::idle_atom, const std::string&, uint64_t) {},
    [](actors::energy_atom, actors::model_atom) -> caf::result<actors::model_view> {
      return unused("model");
    },
    [](actors::energy_atom, const actors::uses_request&) -> caf::result<actors::uses_answer> {
      return unused("uses");
    },
    [](actors::energy_atom, const actors::model_replace&) -> caf::result<actors::model_edited> {
      return unused("replace");
    },
    [](actors::energy_atom, const actors::audit_request&) -> caf::result<actors::audit_answer> {
      return unused("audit");
    },
    [](actors::energy_atom, const actors::unit_request&) -> caf::result<actors::unit_reply> {
      return unused("unit");
    },
    [](actors::energy_atom, const actors::entries_request&) -> caf::result<actors::entries_answer> {
      return unused("entries");
    },
    [](actors::energy_atom, const actors::energy_query&) -> caf::result<actors::energy_answer> {
      return unused("query");
    },
    [](actors::units_atom) { return uint64_t{0}; },
    [](const actors::plant_state&) {},
    [](actors::roll_atom) {},
    [](actors::tick_atom) {},
  };
}

struct fixture {
  test::temp_dir dir{"plantd-energy-edit"};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<book> fake = std::make_shared<book>();
  std::unique_ptr<services::energy_service> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::EnergyCarbonService::Stub> stub;
  std::string token;

  fixture() {
    actors::configure(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    auto db = std::shared_ptr<store::store>(std::move(store::store::open(dir.path).value()));
    auto accts = std::make_shared<services::accounts>(db, services::accounts::options{});
    auto audit = std::make_shared<services::audit_log>(db, services::audit_log::options{});
    services::principal local{
      "local", access::role::local, services::credential::local_socket, 0, {}};
    auto made = accts->create_token(local, "energy-manager", access::role::energy_manager, 1);
    INFO((made ? std::string() : made.error().message));
    REQUIRE(made);
    token = made->first;
    service = std::make_unique<services::energy_service>(*sys, sys->spawn(fake_energy, fake));
    grpc::ServerBuilder b;
    int port = 0;
    b.RegisterService(service.get());
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> gates;
    gates.push_back(std::make_unique<services::access_gate>(accts, audit));
    b.experimental().SetInterceptorCreators(std::move(gates));
    server = b.BuildAndStart();
    REQUIRE(server);
    stub = v1::EnergyCarbonService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~fixture() {
    server->Shutdown();
    server.reset();
  }

  grpc::Status rename(const std::string& name, v1::PutResponse* resp) {
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer " + token);
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{10});
    v1::UpdateRequest req;
    req.mutable_record()->mutable_node()->set_id("w1");
    req.mutable_record()->mutable_node()->set_name(name);
    req.mutable_update_mask()->add_paths("name");
    return stub->Update(&c, req, resp);
  }
};

std::string name_put(const actors::model_edit& e) {
  REQUIRE(e.puts.size() == 1);
  const auto* n = caf::get_if<energy::node>(&e.puts[0].record);
  REQUIRE(n);
  return n->name.str();
}

}  // namespace

TEST_CASE_METHOD(fixture,
                 "energy service: an update the model moved under is prepared again from the "
                 "record as it now stands",
                 "[services][energy]") {
  fake->aborts_left = 1;
  v1::PutResponse resp;
  auto st = rename("Paint shop", &resp);
  INFO(st.error_message());
  REQUIRE(st.ok());
  std::lock_guard g{fake->mtx};
  CHECK(fake->record_requests == 2);
  REQUIRE(fake->edits.size() == 2);
  // The second is based on the version the first found moved on.
  CHECK(fake->edits[0].base_version == 1);
  CHECK(fake->edits[1].base_version == 2);
  CHECK(name_put(fake->edits[1]) == "Paint shop");
  CHECK(fake->version == 3);
}

TEST_CASE_METHOD(fixture,
                 "energy service: an update the model keeps moving under is refused as aborted "
                 "after three tries",
                 "[services][energy]") {
  fake->aborts_left = 100;
  v1::PutResponse resp;
  auto st = rename("Paint shop", &resp);
  CHECK(st.error_code() == grpc::StatusCode::ABORTED);
  CHECK_THAT(st.error_message(), Catch::Contains("prepare it again"));
  std::lock_guard g{fake->mtx};
  CHECK(fake->record_requests == 3);
  CHECK(fake->edits.size() == 3);
}
