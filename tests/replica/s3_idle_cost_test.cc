// Nothing changed, nothing done: an idle database on an S3 replica (s3rver),
// hours of it on the watcher's FakeClock, costs only the GETs that reach the
// replica as often as the health interval needs. No periodic snapshot of an
// unchanged database, no compaction or retention listing, no lease PUT. The
// requests are the S3 client's own counts (what /metrics exports).
#include "base/request_counts.h"
#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

uint64_t Sent(const SyncRecord& r, RequestOp op) { return r.requests.sent[size_t(op)]; }

TEST(S3IdleCostTest, IdleDatabaseOnlyReachesItsReplicaWithGets) {
  testing::InitCurlOnce();
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  testing::FakeClock clock;
  SyncRegistry registry;
  ReplicaOptions replica = s3.Options("idle");
  replica.retention = absl::Hours(1);  // a periodic snapshot every hour, when changed
  DbOptions options = testing::DbWithReplica(db, replica);
  options.health_interval = absl::Minutes(5);
  DbWatcher watcher(options, &registry, &clock);
  auto write = [&](int seed) {
    ASSERT_EQ(
        testing::RunProcess({testing::WriterBin(), db, "-txns", "3", "-seed", std::to_string(seed)},
                            absl::Seconds(30)),
        0);
  };
  write(1);
  // Start-up, and what follows the last write: the first snapshot, the lease
  // (confirmed 2 s later on s3rver), compaction of the new files up the levels
  // (level 1 within 30 s, level 2 within 5 m, level 3 within the hour) and
  // retention's last pass once its window (1 h) has passed the last file.
  for (int i = 0; i < 4; ++i) {
    watcher.Step();
    clock.Advance(absl::Seconds(3));
  }
  for (int i = 0; i < 2 * 360; ++i) {
    clock.Advance(absl::Seconds(10));
    watcher.Step();
  }
  ASSERT_TRUE(registry.Snapshot()[0].last_error.ok()) << registry.Snapshot()[0].last_error;
  SyncRecord before = registry.Snapshot()[0];
  ASSERT_EQ(before.snapshot_count, 1u);

  // Three idle hours, a step every 10 s (each step would sync if there were
  // anything to sync).
  for (int i = 0; i < 3 * 360; ++i) {
    clock.Advance(absl::Seconds(10));
    watcher.Step();
  }
  SyncRecord after = registry.Snapshot()[0];
  EXPECT_TRUE(after.last_error.ok()) << after.last_error;
  EXPECT_EQ(after.snapshot_count, 1u) << "a periodic snapshot of a database that did not change";
  for (RequestOp op : {RequestOp::kPut, RequestOp::kList, RequestOp::kDelete, RequestOp::kHead}) {
    EXPECT_EQ(Sent(after, op), Sent(before, op)) << RequestOpName(op) << " while idle";
  }
  // One GET every 150-180 s of fake time: 60-72 in three hours.
  uint64_t gets = Sent(after, RequestOp::kGet) - Sent(before, RequestOp::kGet);
  EXPECT_GE(gets, 60u);
  EXPECT_LE(gets, 73u);
  EXPECT_EQ(after.requests.failed, RequestCounts{}.failed);
  // Health: the idle replica was reached within the last health interval.
  EXPECT_LE(clock.Now() - after.last_success, absl::Minutes(5));

  // A write after the idle spell: synced, and after the next snapshot interval a
  // new snapshot (the database changed).
  write(2);
  watcher.Step();
  for (int i = 0; i < 80; ++i) {
    clock.Advance(absl::Minutes(1));
    watcher.Step();
  }
  SyncRecord later = registry.Snapshot()[0];
  EXPECT_EQ(later.snapshot_count, 2u);
  EXPECT_GT(Sent(later, RequestOp::kPut), Sent(after, RequestOp::kPut));
}

}  // namespace
}  // namespace litesync
