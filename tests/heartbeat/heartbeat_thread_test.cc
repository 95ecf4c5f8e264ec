// The heartbeat on its own ticker thread: a fake clock drives the ticks, the tests
// wait for checks or requests (bounded), never sleep.
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heartbeat/heartbeat.h"
#include "tests/heartbeat/fixture.h"

namespace litesync {
namespace {

using ::litesync::testing::HeartbeatFixture;
using ::litesync::testing::HttpResponse;
using ::litesync::testing::kCheckEvery;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class HeartbeatThreadTest : public HeartbeatFixture {
 protected:
  // Moves the fake clock to the n-th check and waits for the ticker to finish it.
  void Tick(Heartbeat& hb, int n) {
    clock_.Advance(kCheckEvery);
    ASSERT_EQ(clock_.Now(), At(n));
    ASSERT_TRUE(hb.WaitForChecks(static_cast<uint64_t>(n))) << "check " << n;
  }
};

TEST_F(HeartbeatThreadTest, TickerPingsOncePerIntervalOnItsOwnThread) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  hb.Start();
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  std::vector<int> pinged;
  for (int n = 1; n <= 9; ++n) {
    Synced("/data/a.db", At(n));
    size_t before = server_.RequestCount();
    Tick(hb, n);
    if (server_.RequestCount() > before) pinged.push_back(n);
  }
  hb.Stop();
  EXPECT_THAT(pinged, ElementsAre(1, 5, 9));
  EXPECT_EQ(hb.checks(), 9u);
}

TEST_F(HeartbeatThreadTest, HangingPingHoldsNeitherTheRecordsNorTheStatus) {
  server_.Enqueue(HttpResponse::Hang());  // the first request hangs, later ones get 200
  HeartbeatTarget t = Target();
  t.timeout = absl::Seconds(20);
  Heartbeat hb(Options({t}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  hb.Start();
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  clock_.Advance(kCheckEvery);
  ASSERT_TRUE(server_.WaitForRequests(1));

  // The ping is held by the receiver. A replication worker keeps updating its
  // record meanwhile; had the heartbeat kept the records' lock through the ping,
  // these updates would wait for its 20 s timeout.
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      registry_.Update("/data/a.db", "file:///r", [&](SyncRecord& r) {
        ++r.sync_count;
        r.last_success = At(1) + absl::Milliseconds(i);
      });
    }
  });
  writer.join();
  std::vector<HeartbeatTargetStatus> st = hb.TargetStatuses();  // not blocked either
  EXPECT_EQ(hb.checks(), 0u);  // still inside the check that is pinging
  EXPECT_EQ(server_.InFlight(), 1);
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].pings_sent + st[0].pings_failed, 0u);
  std::vector<SyncRecord> records = registry_.Snapshot();
  EXPECT_EQ(records.at(0).sync_count, 200u);
  EXPECT_TRUE(Evaluate(records, At(1), absl::Minutes(1)).healthy);

  // The receiver gives up without answering: logged, and retried at the next check.
  server_.ReleaseHanging();
  ASSERT_TRUE(hb.WaitForChecks(1));
  EXPECT_THAT(logs_.WithMsg("heartbeat failed"), ElementsAre(HasSubstr("retry_in=15s")));
  Tick(hb, 2);
  EXPECT_EQ(server_.RequestCount(), 2u);
  EXPECT_THAT(logs_.WithMsg("heartbeat sent"), SizeIs(1));
  hb.Stop();
}

TEST_F(HeartbeatThreadTest, StopDuringAHangingPingReturnsPromptlyAndSendsNothingMore) {
  server_.Enqueue(HttpResponse::Hang());
  HeartbeatTarget t = Target();
  t.timeout = absl::Seconds(20);
  Heartbeat hb(Options({t}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  hb.Start();
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  clock_.Advance(kCheckEvery);
  ASSERT_TRUE(server_.WaitForRequests(1));

  absl::Time start = absl::Now();
  hb.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // far below the 20 s timeout
  EXPECT_EQ(server_.RequestCount(), 1u);
  EXPECT_THAT(logs_.WithMsg("heartbeat sent"), IsEmpty());
  EXPECT_THAT(logs_.WithMsg("heartbeat failed"), IsEmpty());  // shutdown is no ping failure

  // Once shutdown began, a check sends nothing, even with a ping due.
  Synced("/data/a.db", At(10));
  hb.Check(At(10));
  EXPECT_EQ(server_.RequestCount(), 1u);
}

TEST_F(HeartbeatThreadTest, StopWhileWaitingForTheNextCheckReturnsPromptly) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  hb.Start();
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  absl::Time start = absl::Now();
  hb.Stop();
  hb.Stop();  // idempotent
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(hb.checks(), 0u);
  EXPECT_EQ(server_.RequestCount(), 0u);
}

TEST_F(HeartbeatThreadTest, WithoutTargetsNoThreadRuns) {
  Heartbeat hb(Options({}), &registry_, &clock_);
  hb.Start();
  EXPECT_FALSE(clock_.WaitForSleepers(1, absl::Milliseconds(100)));
  hb.Stop();
  EXPECT_THAT(hb.TargetStatuses(), IsEmpty());
}

}  // namespace
}  // namespace litesync
