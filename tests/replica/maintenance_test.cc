// The watcher runs compaction, periodic snapshots and retention itself, on the
// watcher's clock (a FakeClock here, so hours pass in a second).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/replica/lifecycle_history.h"
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

namespace litesync {
namespace {

// The engine takes its replica clients from a factory: here one whose writes fail
// on demand. A failed upload is reported, nothing is acknowledged past it, and the
// next step that can write catches up in the same lineage, exactly.
TEST(WatcherInjectedClientTest, FailedUploadsAreReportedAndTheNextStepCatchesUp) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  testing::FakeClock clock;
  SyncRegistry registry;
  DbOptions options = testing::DbWithReplica(db, testing::FileReplica(dir.Join("replica")));
  auto real = NewFileReplicaClient(options.replicas[0]);
  LS_ASSERT_OK(real);
  testing::FaultClient* fault = nullptr;
  auto factory = [&](const ReplicaOptions&) -> absl::StatusOr<std::unique_ptr<ReplicaClient>> {
    auto c = std::make_unique<testing::FaultClient>(real->get());
    fault = c.get();
    return std::unique_ptr<ReplicaClient>(std::move(c));
  };
  auto write = [&](int seed) {
    ASSERT_EQ(
        testing::RunProcess({testing::WriterBin(), db, "-txns", "5", "-seed", std::to_string(seed)},
                            absl::Seconds(30)),
        0);
  };
  DbWatcher watcher(options, &registry, &clock, factory);
  ASSERT_NE(fault, nullptr) << "the watcher did not use the factory";
  write(1);
  watcher.Step();
  SyncRecord ok = registry.Snapshot().at(0);
  ASSERT_TRUE(ok.last_error.ok()) << ok.last_error;
  const Lineage lineage = ok.lineage;

  fault->writes_left = 0;
  write(2);
  clock.Advance(absl::Seconds(2));
  watcher.Step();
  SyncRecord failing = registry.Snapshot().at(0);
  EXPECT_THAT(std::string(failing.last_error.message()), ::testing::HasSubstr("injected"));
  EXPECT_EQ(failing.replicated_txid, ok.replicated_txid) << "nothing acknowledged past a failure";
  EXPECT_GT(failing.local_txid, failing.replicated_txid);

  fault->writes_left = 1 << 30;
  for (int i = 0; i < 10 && !registry.Snapshot().at(0).last_error.ok(); ++i) {
    clock.Advance(absl::Minutes(1));  // past any backoff
    watcher.Step();
  }
  SyncRecord recovered = registry.Snapshot().at(0);
  EXPECT_TRUE(recovered.last_error.ok()) << recovered.last_error;
  EXPECT_EQ(recovered.replicated_txid, recovered.local_txid);
  EXPECT_EQ(recovered.lineage, lineage) << "a failed upload must not start a new lineage";
  LS_ASSERT_OK(watcher.FinalSync(absl::Now() + absl::Seconds(10)));
  std::string out = dir.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(**real, {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db));
}

}  // namespace
}  // namespace litesync
