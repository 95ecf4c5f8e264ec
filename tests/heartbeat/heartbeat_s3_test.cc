// The heartbeat end to end through S3, at the component level: a real
// Replicator ships a writer's commits to s3rver through a FaultProxy, a Heartbeat
// reads its sync records and pings a test HTTP receiver. `litesync replicate
// -config` cannot run this in test time: the config clamps heartbeat intervals to
// at least one minute and has no test hook. So both components share one clock
// that runs in real time plus an offset the test advances a check at a time: the
// heartbeat's ticker wakes on each advance as on a FakeClock, and the replicator's
// sync times stay comparable with the heartbeat's `now` (with a FakeClock for the
// heartbeat alone, records stamped in real time would never age).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "absl/time/clock.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heartbeat/heartbeat.h"
#include "replica/engine/replicator.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

constexpr absl::Duration kCheckEvery = absl::Seconds(15);
constexpr absl::Duration kInterval = absl::Minutes(1);

// Real time plus an offset that only grows; Advance() wakes every sleeper.
class SkewedClock : public Clock {
 public:
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return absl::Now() + offset_;
  }
  bool SleepUntil(absl::Time deadline, const StopSignal& stop) override {
    std::unique_lock<std::mutex> lock(mu_);
    while (absl::Now() + offset_ < deadline && !stop.Notified()) {
      // Short waits: StopSignal has a condition variable of its own.
      absl::Duration left = deadline - (absl::Now() + offset_);
      cv_.wait_for(lock, std::min(absl::ToChronoMilliseconds(left) + std::chrono::milliseconds(1),
                                  std::chrono::milliseconds(5)));
    }
    return !stop.Notified();
  }
  void Advance(absl::Duration d) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      offset_ += d;
    }
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  absl::Duration offset_;
};

class HeartbeatS3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::InitCurlOnce();
    ASSERT_TRUE(s3_.running());
  }
  // Polls the sync record (bounded: the replicator offers nothing to wait on).
  bool WaitForRecord(const std::function<bool(const SyncRecord&)>& pred,
                     absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::vector<SyncRecord> records = registry_.Snapshot();
      if (!records.empty() && pred(records[0])) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
  // The replicator reached S3 since the clock last moved.
  bool Fresh(const SyncRecord& r) const {
    return r.last_error.ok() && r.last_success >= clock_.Now() - absl::Seconds(1);
  }
  // Advances to the next check and waits for it; the pings sent meanwhile. (Real
  // time runs too: a slow step may bring an extra check, which the rule allows.)
  size_t Tick(Heartbeat& hb) {
    size_t before = pings_.RequestCount();
    uint64_t next = hb.checks() + 1;
    clock_.Advance(kCheckEvery);
    EXPECT_TRUE(hb.WaitForChecks(next)) << "check " << next;
    return pings_.RequestCount() - before;
  }

  testing::TempDir dir_;
  testing::S3Server s3_;
  testing::FaultProxy proxy_{s3_.port()};
  testing::HttpServer pings_;
  SkewedClock clock_;
  SyncRegistry registry_;
};

TEST_F(HeartbeatS3Test, PingsStopWhileS3IsDownAndResumeOnceItIsBack) {
  const std::string db = dir_.Join("app.db");
  testing::CreateWalDb(db);
  testing::Process writer({testing::WriterBin(), db, "-duration", "60", "-rate", "50"});
  Replicator replicator(&registry_, &clock_);
  ReplicaOptions replica = s3_.Options("hb", proxy_.endpoint());
  replica.sync_interval = absl::Milliseconds(50);
  LS_ASSERT_OK(replicator.Add(testing::DbWithReplica(db, replica)));
  replicator.Start();
  ASSERT_TRUE(WaitForRecord([&](const SyncRecord& r) { return Fresh(r); }));

  HeartbeatTarget target;
  target.url = Secret(pings_.Url("/ping/s3-heartbeat-token"));
  target.interval = kInterval;
  target.timeout = absl::Seconds(5);
  HeartbeatOptions options;
  options.targets = {target};
  options.check_every = kCheckEvery;
  Heartbeat hb(options, &registry_, &clock_);
  hb.Start();

  // S3 up: one ping per interval (checks 1 and 5, give or take real time).
  size_t up_pings = 0;
  for (int n = 1; n <= 5; ++n) {
    ASSERT_TRUE(WaitForRecord([&](const SyncRecord& r) { return Fresh(r); })) << "check " << n;
    up_pings += Tick(hb);
  }
  EXPECT_GE(up_pings, 2u);
  EXPECT_LE(up_pings, 3u);

  // S3 down: the last success ages; from one interval plus one check after it on,
  // no ping goes out.
  s3_.Stop();
  ASSERT_TRUE(WaitForRecord([](const SyncRecord& r) { return !r.last_error.ok(); }))
      << "the sync record never showed the outage";
  const absl::Time last_success = registry_.Snapshot()[0].last_success;
  while (clock_.Now() <= last_success + kInterval + kCheckEvery) Tick(hb);
  size_t down_pings = 0;
  for (int n = 0; n < 5; ++n) down_pings += Tick(hb);
  EXPECT_EQ(down_pings, 0u) << "pinged while S3 was down";
  std::vector<HeartbeatTargetStatus> status = hb.TargetStatuses();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_TRUE(status[0].withholding);
  EXPECT_FALSE(status[0].reasons.empty());
  EXPECT_FALSE(registry_.Snapshot()[0].last_error.ok());
  EXPECT_EQ(registry_.Snapshot()[0].last_success, last_success);

  // S3 back: replication catches up and pings resume at the next checks.
  LS_ASSERT_OK(s3_.Restart());
  ASSERT_TRUE(WaitForRecord([&](const SyncRecord& r) { return Fresh(r); }, absl::Seconds(40)))
      << registry_.Snapshot()[0].last_error;
  size_t back_pings = Tick(hb);
  if (back_pings == 0) back_pings = Tick(hb);
  EXPECT_GE(back_pings, 1u) << "no ping after S3 came back";
  EXPECT_FALSE(hb.TargetStatuses()[0].withholding);

  hb.Stop();
  LS_EXPECT_OK(replicator.Stop());
}

}  // namespace
}  // namespace litesync
