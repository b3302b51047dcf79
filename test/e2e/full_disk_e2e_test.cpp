// A real full disk: plantd's data directory on a small tmpfs that is filled
// up while plantd controls plant-sim, and plantd started on it while full.
// Needs root (mount); CI runs as root. Elsewhere the test says it did not
// run, with a warning.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "plantd/v1/alarm.grpc.pb.h"
#include "test/e2e/harness.hpp"

using namespace std::chrono_literals;
using namespace plantd;
using namespace plantd::test;

namespace {

class small_tmpfs {
public:
  explicit small_tmpfs(const char* size) {
    char tmpl[] = "/tmp/plantd-tmpfs-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string opts = std::string{"size="} + size;
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~small_tmpfs() {
    if (mounted_)
      ::umount2(dir_.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir_);
  }
  bool mounted() const { return mounted_; }
  const std::string& dir() const { return dir_; }

  // Writes a filler file until the disk is full.
  void fill() {
    int fd = ::open((dir_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    std::string block(64 * 1024, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    std::string byte(1, 'f');
    while (::write(fd, byte.data(), 1) > 0) {
    }
    ::close(fd);
  }
  void free_space() { std::filesystem::remove(dir_ + "/filler"); }

private:
  std::string dir_;
  bool mounted_ = false;
};

bool storage_alarm_open(const std::string& target) {
  auto stub =
    v1::AlarmService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::ListAlarmsRequest req;
  req.set_state(v1::ListAlarmsRequest::STATE_OPEN);
  v1::ListAlarmsResponse resp;
  if (!stub->ListAlarms(ctx().get(), req, &resp).ok())
    return false;
  for (const auto& a : resp.alarms())
    if (a.code() == "storage_fault")
      return true;
  return false;
}

}  // namespace

TEST_CASE("a full data disk: plantd keeps control, alarms, and stores again when space returns, "
          "it starts on a full disk",
          "[e2e][full-disk]") {
  if (::geteuid() != 0) {
    WARN("not root: the tmpfs full-disk test did not run (CI runs it as root)");
    return;
  }
  small_tmpfs disk{"48m"};  // the store resumes with 16 MB free
  REQUIRE(disk.mounted());
  auto config = sim_config("single-cabinet");
  running_sim sim{config, {"--start", "2026-01-15T01:00:00Z", "--soc", "50"}};
  sim.set_load(30'000);
  auto data = disk.dir() + "/data";
  {
    running_plantd plantd{config, {}, data};
    auto before = plantd.state(3);
    disk.fill();
    REQUIRE(within(20s, [&] { return storage_alarm_open(plantd.target()); }));
    // Well past RocksDB's background retries (every 5 s) that once aborted
    // plantd about 36 s into a full disk.
    auto decisions = plantd.state().decisions();
    std::this_thread::sleep_for(12s);
    auto during = plantd.state();
    CHECK(during.decisions() > decisions + 5);
    CHECK(during.grid_meter_available());
    CHECK(std::abs(sim.state().grid_w()) < 3'000);  // still controlling
    CHECK(::kill(plantd.process().pid(), 0) == 0);
    disk.free_space();
    auto t = within(30s, [&] { return !storage_alarm_open(plantd.target()); });
    CHECK(t);
    if (t)
      WARN("storage back " << t->count() << " ms after space was freed");
    CHECK(before.decisions() < plantd.state().decisions());
  }
  // A start on a full disk: up, controlling, alarmed; then writing again.
  disk.fill();
  running_plantd plantd{config, {}, data};
  auto s = plantd.state(3);
  CHECK(s.decisions() >= 3);
  CHECK(within(20s, [&] { return storage_alarm_open(plantd.target()); }));
  disk.free_space();
  CHECK(within(30s, [&] { return !storage_alarm_open(plantd.target()); }));
}
