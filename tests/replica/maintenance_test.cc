// The watcher runs compaction, periodic snapshots and retention itself, on the
// watcher's clock (a FakeClock here, so hours pass in a second).
#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

TEST(WatcherMaintenanceTest, CompactsSnapshotsAndPrunesOnScheduleInsideTheWatcher) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  testing::FakeClock clock;
  SyncRegistry registry;
  DbOptions options = testing::DbWithReplica(db, testing::FileReplica(dir.Join("replica")));
  options.replicas[0].retention = absl::Hours(1);
  auto client = NewFileReplicaClient(options.replicas[0]);
  LS_ASSERT_OK(client);
  {
    DbWatcher watcher(options, &registry, &clock);
    for (int i = 0; i < 24; ++i) {  // four hours, a sync every ten minutes
      ASSERT_EQ(testing::RunProcess(
                    {testing::WriterBin(), db, "-txns", "3", "-seed", std::to_string(i + 1)},
                    absl::Seconds(30)),
                0);
      watcher.Step();
      clock.Advance(absl::Minutes(10));
    }
    LS_ASSERT_OK(watcher.FinalSync(absl::Now() + absl::Seconds(10)));
  }
  Lineage lineage = (*client)->ListLineages()->back();
  EXPECT_FALSE((*client)->List(lineage, 1)->empty()) << "level 1 was never compacted";
  EXPECT_FALSE((*client)->List(lineage, 3)->empty()) << "level 3 was never compacted";
  EXPECT_GE(registry.Snapshot()[0].snapshot_count, 4u) << "one at the start, then one an hour";
  // Retention: nothing older than the window survives but what restoring the
  // window's oldest point needs (a snapshot at or before it, and its chain).
  absl::Time cutoff = clock.Now() - absl::Hours(1);
  for (int level : {0, 1, 2, 3}) {
    auto files = (*client)->List(lineage, level);
    LS_ASSERT_OK(files);
    for (const TxFileInfo& f : *files) {
      EXPECT_GE(f.timestamp, cutoff - absl::Hours(1)) << "level " << level << " " << f.Name();
    }
  }
  std::string out = dir.Join("latest.db");
  auto plan = testing::RestoreTo(**client, {}, out);
  LS_ASSERT_OK(plan);
  EXPECT_LE(plan->files.size(), 6u);
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db));
}

TEST(WatcherMaintenanceTest, ValidationFlagsACorruptReplicaAndPassesAGoodOne) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  testing::FakeClock clock;
  SyncRegistry registry;
  DbOptions options = testing::DbWithReplica(db, testing::FileReplica(dir.Join("replica")));
  options.replicas[0].validation_interval = absl::Minutes(10);
  DbWatcher watcher(options, &registry, &clock);
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), db, "-txns", "20"}, absl::Seconds(30)), 0);
  watcher.Step();
  clock.Advance(absl::Minutes(11));
  watcher.Step();  // validates a good replica
  EXPECT_FALSE(registry.Snapshot()[0].validation_failed);
  // Corrupt the snapshot behind the watcher's back: the next validation fails.
  auto client = NewFileReplicaClient(options.replicas[0]);
  LS_ASSERT_OK(client);
  Lineage lineage = (*client)->ListLineages()->back();
  auto snaps = (*client)->List(lineage, kSnapshotLevel);
  LS_ASSERT_OK(snaps);
  ASSERT_FALSE(snaps->empty());
  std::string path = dir.Join("replica") + "/" + snaps->front().RelativePath();
  std::string bytes = testing::ReadFileOrDie(path);
  bytes[bytes.size() / 2] ^= 0x10;
  testing::WriteFileOrDie(path, bytes);
  clock.Advance(absl::Minutes(11));
  watcher.Step();
  SyncRecord r = registry.Snapshot()[0];
  EXPECT_TRUE(r.validation_failed);
  EXPECT_TRUE(absl::IsDataLoss(r.last_error)) << r.last_error;
}

}  // namespace
}  // namespace litesync
