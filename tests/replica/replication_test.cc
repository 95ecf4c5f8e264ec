// End-to-end replication: a separate writer process plays the application, the
// Replicator ships its WAL to a file replica, restores are compared with the
// content the writer logged after each commit.
#include <sys/stat.h>

#include <filesystem>

#include "base/log.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/engine/replicator.h"
#include "replica/restore/restore.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::TempDir;

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getenv("LITESYNC_DEBUG")) SetLogLevel(LogLevel::kDebug);
  }
  std::string db() const { return dir_.Join("app.db"); }
  std::string replica_dir() const { return dir_.Join("replica"); }
  std::string log() const { return dir_.Join("writer.log"); }

  void StartReplicator(int64_t min_checkpoint_pages = 200) {
    replicator_ = std::make_unique<Replicator>(&registry_, Clock::Real());
    DbOptions opts = testing::DbWithReplica(db(), testing::FileReplica(replica_dir()));
    opts.min_checkpoint_pages = min_checkpoint_pages;
    LS_ASSERT_OK(replicator_->Add(opts));
    uint64_t before = testing::SyncCount(registry_);
    replicator_->Start();
    ASSERT_TRUE(testing::WaitForSyncAfter(registry_, before, absl::Seconds(60)))
        << "the replicator never synced " << db();
  }
  void StopReplicator() {
    ASSERT_TRUE(replicator_ != nullptr);
    LS_ASSERT_OK(replicator_->Stop());
    replicator_.reset();
  }
  int Write(std::vector<std::string> extra) {
    std::vector<std::string> argv = {testing::WriterBin(), db(), "-log", log()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunProcess(argv, absl::Seconds(120));
  }
  std::unique_ptr<ReplicaClient> Client() {
    auto c = NewFileReplicaClient(testing::FileReplica(replica_dir()));
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  // Restores `target` and checks the result is a state the writer logged.
  testing::DbContent RestoreAndVerify(const RestoreTarget& target, const std::string& name) {
    auto client = Client();
    std::string out = dir_.Join(name);
    auto plan = testing::RestoreTo(*client, target, out);
    EXPECT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(testing::IntegrityCheck(out), "ok") << name;
    auto content = testing::ReadContent(out);
    EXPECT_TRUE(content.ok()) << content.status();
    auto logged = testing::ReadWriterLog(log());
    auto it = logged.find(content->seq);
    EXPECT_TRUE(it != logged.end()) << name << ": seq " << content->seq << " never logged";
    if (it != logged.end()) {
      EXPECT_EQ(it->second, content->hash) << name << " seq " << content->seq;
    }
    return *content;
  }
  std::vector<TxFileInfo> Files(int level) {
    auto client = Client();
    auto lineages = client->ListLineages();
    std::vector<TxFileInfo> out;
    for (Lineage l : *lineages) {
      auto files = client->List(l, level);
      out.insert(out.end(), files->begin(), files->end());
    }
    return out;
  }
  int64_t LastSeq() { return testing::ReadWriterLog(log()).rbegin()->first; }
  // A restored file passes integrity_check, holds the source's content, and is
  // exactly the source's size: its page count (read through its WAL, which
  // litesync's connections leave in place), not its file size.
  void ExpectEqualsSource(const std::string& out) {
    EXPECT_EQ(testing::IntegrityCheck(out), "ok");
    EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
    SqliteDb source = testing::OpenDb(db());
    int64_t pages = std::stoll(testing::QueryOne(source.get(), "PRAGMA page_count"));
    int64_t page_size = std::stoll(testing::QueryOne(source.get(), "PRAGMA page_size"));
    EXPECT_EQ(std::filesystem::file_size(out), static_cast<uint64_t>(pages * page_size));
  }

  TempDir dir_;
  SyncRegistry registry_;
  std::unique_ptr<Replicator> replicator_;
};

TEST_F(ReplicationTest, RoundTripUnderConcurrentRandomWorkloadWithVacuumAndSchemaChange) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "600", "-rate", "300", "-vacuum-every", "150", "-alter-at", "200",
                   "-seed", "11"}),
            0);
  StopReplicator();
  testing::DbContent latest = RestoreAndVerify({}, "latest.db");
  EXPECT_EQ(latest.seq, LastSeq());

  // Earlier points: several tx file boundaries by txid, and by their timestamps.
  std::vector<TxFileInfo> files = Files(0);
  ASSERT_GT(files.size(), 5u) << "expected many syncs during the run";
  int64_t prev_seq = -1;
  for (size_t i = 1; i < files.size(); i += files.size() / 5) {
    RestoreTarget t;
    t.txid = files[i].max_txid;
    testing::DbContent c = RestoreAndVerify(t, "txid-" + std::to_string(i) + ".db");
    EXPECT_GE(c.seq, prev_seq);
    prev_seq = c.seq;
    RestoreTarget ts;
    ts.timestamp = files[i].timestamp;
    RestoreAndVerify(ts, "ts-" + std::to_string(i) + ".db");
  }
  // Every sync record reached the replica.
  auto records = registry_.Snapshot();
  EXPECT_TRUE(records.empty() || records[0].last_error.ok());
}

TEST_F(ReplicationTest, GrowthAndShrinkRestoreAtExactPageCounts) {
  testing::CreateWalDb(db());
  StartReplicator();
  {
    SqliteDb app = testing::OpenDb(db());
    testing::ExecOrDie(app.get(), "CREATE TABLE big(x BLOB)");
    // One transaction growing the database by many pages at once.
    testing::ExecOrDie(app.get(),
                       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300) "
                       "INSERT INTO big SELECT randomblob(4000) FROM n");
  }
  absl::SleepFor(absl::Milliseconds(300));
  {
    SqliteDb app = testing::OpenDb(db());
    testing::ExecOrDie(app.get(), "DELETE FROM big WHERE rowid % 3 != 0");
    testing::ExecOrDie(app.get(), "VACUUM");
  }
  StopReplicator();
  auto client = Client();
  std::string out = dir_.Join("shrunk.db");
  LS_ASSERT_OK(testing::RestoreTo(*client, {}, out));
  ExpectEqualsSource(out);
}

// A snapshot body of 8 MiB or more restores through the threaded decoder
// (replica/format/frame_decoder.h) and the page writer's hashing threads; increments
// that grow and shrink the database follow it, and a flipped byte in the
// snapshot is still caught.
TEST_F(ReplicationTest, ALargeSnapshotRestoresExactlyThroughTheThreadedDecoder) {
  testing::CreateWalDb(db());
  {
    SqliteDb app = testing::OpenDb(db());
    testing::ExecOrDie(app.get(), "CREATE TABLE big(x BLOB)");
    testing::ExecOrDie(app.get(),  // ~16 MiB that zstd cannot shrink
                       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE "
                       "i<4000) INSERT INTO big SELECT randomblob(4000) FROM n");
  }
  StartReplicator();
  absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (Files(9).empty() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(20));
  {
    SqliteDb app = testing::OpenDb(db());
    testing::ExecOrDie(app.get(), "UPDATE big SET x = randomblob(3000) WHERE rowid % 7 = 0");
    testing::ExecOrDie(app.get(), "DELETE FROM big WHERE rowid % 5 = 0");
    testing::ExecOrDie(app.get(), "VACUUM");
    testing::ExecOrDie(app.get(),
                       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE "
                       "i<300) INSERT INTO big SELECT randomblob(5000) FROM n");
  }
  StopReplicator();
  std::vector<TxFileInfo> snapshots = Files(9);
  ASSERT_EQ(snapshots.size(), 1u);
  std::string snapshot = replica_dir() + "/" + snapshots[0].RelativePath();
  ASSERT_GT(std::filesystem::file_size(snapshot), 12u << 20) << "too small to take the threads";

  auto client = Client();
  std::string out = dir_.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(*client, {}, out));
  ExpectEqualsSource(out);
  RestoreTarget at_snapshot;
  at_snapshot.txid = snapshots[0].max_txid;
  std::string first = dir_.Join("snapshot.db");
  LS_ASSERT_OK(testing::RestoreTo(*client, at_snapshot, first));
  SqliteDb restored = testing::OpenDb(first);
  EXPECT_EQ(testing::QueryOne(restored.get(), "SELECT count(*) FROM big"), "4000");

  std::string bytes = testing::ReadFileOrDie(snapshot);
  bytes[bytes.size() / 2] ^= 0x04;
  testing::WriteFileOrDie(snapshot, bytes);
  std::string bad = dir_.Join("bad.db");
  auto plan = testing::RestoreTo(*client, {}, bad);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(absl::IsDataLoss(plan.status())) << plan.status();
  EXPECT_THAT(std::string(plan.status().message()), ::testing::HasSubstr(snapshots[0].Name()));
  EXPECT_FALSE(testing::FileExists(bad));
}

TEST_F(ReplicationTest, RestartResumesWithoutANewSnapshot) {
  testing::CreateWalDb(db());
  // The application keeps a connection open, as a running app does: otherwise its
  // last close checkpoints and deletes the WAL, and a new snapshot is required.
  SqliteDb app = testing::OpenDb(db());
  testing::QueryOne(app.get(), "SELECT count(*) FROM sqlite_schema");  // holds its SHARED lock
  // No litesync checkpoint before the stop: the WAL generation is the same on
  // restart, and the stored position is reopened.
  StartReplicator(/*min_checkpoint_pages=*/1'000'000);
  ASSERT_EQ(Write({"-txns", "100", "-seed", "2", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  ASSERT_EQ(Write({"-txns", "50", "-seed", "3", "-autocheckpoint", "0"}), 0);
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "50", "-seed", "4", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  EXPECT_EQ(Files(kSnapshotLevel).size(), 1u) << "a restart must not take a needless snapshot";
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, LastSeq());
}

// While litesync is down the WAL restarts: here the last connection's close
// checkpoints and deletes it, then a TRUNCATE checkpoint runs (as litesync's own
// would just before a kill -9), and the application writes a new generation. The
// database file alone still equals the replica's last state, so litesync resumes
// from the generation's start instead of taking a snapshot.
TEST_F(ReplicationTest, ResumesFromTheWalStartAfterTheWalRestartedWhileStopped) {
  testing::CreateWalDb(db());
  StartReplicator(/*min_checkpoint_pages=*/1'000'000);
  ASSERT_EQ(Write({"-txns", "60", "-seed", "31", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  auto at_stop_plan = PlanRestore(*Client(), {});
  LS_ASSERT_OK(at_stop_plan);
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), db(), "-checkpoint", "TRUNCATE"},
                                absl::Seconds(30)),
            0);
  SqliteDb app = testing::OpenDb(db());  // keeps the new generation's WAL in place
  testing::QueryOne(app.get(), "SELECT count(*) FROM sqlite_schema");
  ASSERT_EQ(Write({"-txns", "40", "-seed", "32", "-autocheckpoint", "0"}), 0);
  StartReplicator(/*min_checkpoint_pages=*/1'000'000);
  ASSERT_EQ(Write({"-txns", "20", "-seed", "33", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  EXPECT_EQ(Files(kSnapshotLevel).size(), 1u) << "the restart must resume the lineage";
  EXPECT_EQ(Client()->ListLineages()->size(), 1u);
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, LastSeq());
  RestoreTarget at_stop;  // the TXIDs from before the restart still mean the same state
  at_stop.txid = at_stop_plan->txid;
  EXPECT_EQ(RestoreAndVerify(at_stop, "at_stop.db").seq, 60);
}

// The generation start is gone once any of its frames were checkpointed into the
// database file while litesync was down; the frames after the replicated
// position are still in the WAL (restarted by the writer's first write or not,
// depending on who comes first), so litesync resumes from that tail: one
// lineage, and restores stay exact (docs/FORMAT.md, "Resume", case 4).
TEST_F(ReplicationTest, CheckpointIntoTheDatabaseWhileStoppedResumesFromTheWalTail) {
  testing::CreateWalDb(db());
  StartReplicator(/*min_checkpoint_pages=*/1'000'000);
  ASSERT_EQ(Write({"-txns", "30", "-seed", "34", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  SqliteDb app = testing::OpenDb(db());
  testing::QueryOne(app.get(), "SELECT count(*) FROM sqlite_schema");
  ASSERT_EQ(Write({"-txns", "30", "-seed", "35", "-autocheckpoint", "0"}), 0);
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), db(), "-checkpoint", "PASSIVE"},
                                absl::Seconds(30)),
            0);
  StartReplicator(/*min_checkpoint_pages=*/1'000'000);
  ASSERT_EQ(Write({"-txns", "10", "-seed", "37", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  EXPECT_EQ(Client()->ListLineages()->size(), 1u);
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, LastSeq());
}

TEST_F(ReplicationTest, CheckpointTruncateWhileStoppedStartsNewLineageAndRestoresExactly) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "80", "-seed", "5", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  Lineage first = Client()->ListLineages()->back();
  ASSERT_EQ(Write({"-txns", "40", "-seed", "6", "-autocheckpoint", "0"}), 0);
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), db(), "-checkpoint", "TRUNCATE"},
                                absl::Seconds(30)),
            0);
  ASSERT_EQ(Write({"-txns", "40", "-seed", "7", "-autocheckpoint", "0"}), 0);
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "30", "-seed", "8"}), 0);  // writes after the break reach the replica
  StopReplicator();
  Lineage second = Client()->ListLineages()->back();
  EXPECT_GT(second, first);
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, LastSeq());
  // The old lineage still restores to its own last state.
  RestoreTarget old;
  old.txid = second - 1;
  EXPECT_EQ(RestoreAndVerify(old, "old.db").seq, 80);
}

// The replica's newest file cannot be read: here an empty object under a valid
// name, as s3rver leaves one when an upload is cut short by a kill -9. The
// replica's last state is then unknown: litesync starts a new lineage above every
// TXID named, instead of resuming on it or failing every sync from then on.
TEST_F(ReplicationTest, AnUnreadableNewestFileStartsANewLineageInsteadOfStalling) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "20", "-seed", "40"}), 0);
  StopReplicator();
  auto plan = PlanRestore(*Client(), {});
  LS_ASSERT_OK(plan);
  TxFileInfo partial{.lineage = plan->lineage,
                     .level = 0,
                     .min_txid = plan->txid + 1,
                     .max_txid = plan->txid + 3,
                     .timestamp = absl::Now()};
  std::filesystem::create_directories(replica_dir() + "/" + LineageName(plan->lineage) + "/0");
  testing::WriteFileOrDie(replica_dir() + "/" + partial.RelativePath(), "");
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "10", "-seed", "41"}), 0);
  StopReplicator();
  auto lineages = Client()->ListLineages();
  LS_ASSERT_OK(lineages);
  ASSERT_EQ(lineages->size(), 2u);
  EXPECT_GT(lineages->back(), partial.max_txid) << "TXIDs never go back";
  EXPECT_TRUE(registry_.Snapshot()[0].last_error.ok()) << registry_.Snapshot()[0].last_error;
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, LastSeq());
}

TEST_F(ReplicationTest, DatabaseRestoredOverWhileStoppedStartsNewLineage) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "60", "-seed", "9"}), 0);
  StopReplicator();
  // Replace the database with an unrelated one (as a restore-over would).
  std::filesystem::remove(db() + "-wal");
  std::filesystem::remove(db() + "-shm");
  std::filesystem::remove(db());
  ASSERT_EQ(Write({"-txns", "25", "-seed", "10"}), 0);
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "25", "-seed", "12"}), 0);
  StopReplicator();
  EXPECT_EQ(Files(kSnapshotLevel).size(), 2u);
  testing::DbContent c = RestoreAndVerify({}, "latest.db");
  EXPECT_EQ(c.seq, 50);
}

TEST_F(ReplicationTest, WritesAfterARestoreAreDurable) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "50", "-seed", "13"}), 0);
  StopReplicator();
  // Lose the local database, restore it from the replica, replicate on.
  std::filesystem::remove(db() + "-wal");
  std::filesystem::remove(db() + "-shm");
  std::filesystem::remove(db());
  auto client = Client();
  LS_ASSERT_OK(testing::RestoreTo(*client, {}, db()));
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "20", "-seed", "14"}), 0);
  StopReplicator();
  EXPECT_EQ(Files(kSnapshotLevel).size(), 1u) << "continuity allows resuming the lineage";
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, 70);
}

// A database committing four times min_checkpoint_pages frames or more in a
// sync interval is hot: it then syncs each time min_checkpoint_pages frames are
// past its pin (DbWatcher::Step), not once per interval, so the application's
// autocheckpoint, which sorts every frame it may not backfill at every commit,
// stays short.
TEST_F(ReplicationTest, AHotDatabaseSyncsEveryMinCheckpointPagesFrames) {
  testing::CreateWalDb(db());
  replicator_ = std::make_unique<Replicator>(&registry_, Clock::Real());
  LS_ASSERT_OK(replicator_->Add(
      testing::DbWithReplica(db(), testing::FileReplica(replica_dir(), absl::Seconds(1)))));
  replicator_->Start();
  ASSERT_EQ(Write({"-duration", "4", "-rate", "1500", "-mode", "insert", "-payload", "100"}), 0);
  StopReplicator();
  size_t files = Files(0).size();
  RecordProperty("level0_files", std::to_string(files));
  // Once a second would be about 5 files; the writer commits ~2,000 frames a
  // second, 200 (min_checkpoint_pages) at a time would be about 40.
  EXPECT_GT(files, 15u);
  std::string out = dir_.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(*Client(), {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
}

TEST_F(ReplicationTest, WalStaysBoundedUnderContinuousWrites) {
  testing::CreateWalDb(db());
  StartReplicator();
  testing::Process writer({testing::WriterBin(), db(), "-log", log(), "-duration", "6", "-rate",
                           "400", "-mode", "insert", "-payload", "2000", "-autocheckpoint", "0"});
  int64_t largest = 0;
  while (writer.Running()) {
    struct stat st;
    if (::stat((db() + "-wal").c_str(), &st) == 0) largest = std::max<int64_t>(largest, st.st_size);
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(writer.Wait(absl::Seconds(10)), 0);
  StopReplicator();
  // Without litesync's checkpoints the WAL would hold every page written (~2,400
  // inserts of 2 KB, > 10 MiB); litesync restarts it at most once a second, so
  // the bound is about a second of writes (~3 MiB) plus one sync interval.
  RecordProperty("largest_wal_bytes", std::to_string(largest));
  EXPECT_LT(largest, 7 << 20);
  EXPECT_EQ(testing::ReadContent(db())->seq, testing::ReadContent(db())->seq);
  auto client = Client();
  std::string out = dir_.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(*client, {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
}

// While litesync runs and its replicas are healthy, it is the database's only
// checkpointer: the application's checkpoints answer SQLITE_BUSY (test_writer
// exits 1). A failing replica gives the lock back (litesync then waits to
// checkpoint, and the application backfills up to its pin as before); so does
// stopping litesync.
TEST_F(ReplicationTest, LitesyncIsTheOnlyCheckpointerWhileItsReplicasAreHealthy) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "TSan builds never hold the checkpointer lock (DbReader::ReadWalIndexHeader)";
#endif
  testing::CreateWalDb(db());
  StartReplicator();
  auto app_checkpoint_becomes = [&](int want) {
    absl::Time deadline = absl::Now() + absl::Seconds(15);
    int got = -1;
    while (absl::Now() < deadline) {
      got = testing::RunProcess({testing::WriterBin(), db(), "-checkpoint", "PASSIVE"},
                                absl::Seconds(30));
      if (got == want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  };
  ASSERT_EQ(Write({"-txns", "50"}), 0);
  EXPECT_TRUE(app_checkpoint_becomes(1));

  std::string away = replica_dir() + ".away";
  ASSERT_EQ(::rename(replica_dir().c_str(), away.c_str()), 0);
  testing::WriteFileOrDie(replica_dir(), "not a directory");
  ASSERT_EQ(Write({"-txns", "5"}), 0);
  EXPECT_TRUE(app_checkpoint_becomes(0)) << "still held with a failing replica";

  ASSERT_EQ(::unlink(replica_dir().c_str()), 0);
  ASSERT_EQ(::rename(away.c_str(), replica_dir().c_str()), 0);
  ASSERT_EQ(Write({"-txns", "5"}), 0);
  EXPECT_TRUE(app_checkpoint_becomes(1)) << "not taken again once the replica healed";

  StopReplicator();
  EXPECT_EQ(testing::RunProcess({testing::WriterBin(), db(), "-checkpoint", "PASSIVE"},
                                absl::Seconds(30)),
            0);
  std::string out = dir_.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(*Client(), {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
}

// RESTART keeps the WAL file's size for the next writes. When none come, the
// space a burst took is returned by the next checkpoint due by time (a
// TRUNCATE of the empty WAL).
TEST_F(ReplicationTest, AnEmptyWalLeftLargeByABurstIsTruncatedOnceACheckpointIsDue) {
  testing::CreateWalDb(db());
  replicator_ = std::make_unique<Replicator>(&registry_, Clock::Real());
  DbOptions opts = testing::DbWithReplica(db(), testing::FileReplica(replica_dir()));
  opts.min_checkpoint_pages = 200;
  opts.checkpoint_interval = absl::Seconds(2);
  LS_ASSERT_OK(replicator_->Add(opts));
  replicator_->Start();
  ASSERT_EQ(Write({"-duration", "2", "-rate", "1000", "-mode", "insert", "-payload", "1000",
                   "-autocheckpoint", "0"}),
            0);
  auto wal_size = [&] {
    struct stat st;
    return ::stat((db() + "-wal").c_str(), &st) == 0 ? st.st_size : -1;
  };
  EXPECT_GT(wal_size(), 200 << 12) << "the burst's WAL";
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (wal_size() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(wal_size(), 0);
  StopReplicator();
  std::string out = dir_.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(*Client(), {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
}

TEST_F(ReplicationTest, NonWalDatabaseIsSwitchedToWalMode) {
  {
    SqliteDb app = testing::OpenDb(db());
    testing::ExecOrDie(app.get(),
                       "PRAGMA journal_mode=DELETE; CREATE TABLE t(x); INSERT INTO t VALUES(1)");
  }
  StartReplicator();
  absl::SleepFor(absl::Milliseconds(300));
  StopReplicator();
  SqliteDb app = testing::OpenDb(db());
  EXPECT_EQ(testing::QueryOne(app.get(), "PRAGMA journal_mode"), "wal");
  std::string out = dir_.Join("r.db");
  LS_ASSERT_OK(testing::RestoreTo(*Client(), {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
}

TEST_F(ReplicationTest, RestoreOfCorruptOrMissingFileFailsAndLeavesNoOutput) {
  testing::CreateWalDb(db());
  StartReplicator();
  for (size_t batch = 1; batch <= 3; ++batch) {  // at least three files, however slow the run
    ASSERT_EQ(Write({"-txns", "20", "-seed", std::to_string(14 + batch)}), 0);
    absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (Files(0).size() < batch && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  StopReplicator();
  // Only level 0 is tested: a compaction (when the run crosses a 30 s slot)
  // would cover the damaged and the missing file below.
  for (int level : {1, 2, 3}) {
    for (const TxFileInfo& f : Files(level)) {
      std::filesystem::remove(replica_dir() + "/" + f.RelativePath());
    }
  }
  std::vector<TxFileInfo> files = Files(0);
  ASSERT_GE(files.size(), 3u);
  std::string victim = replica_dir() + "/" + files.back().RelativePath();
  std::string bytes = testing::ReadFileOrDie(victim);
  bytes[bytes.size() / 2] ^= 0x20;
  testing::WriteFileOrDie(victim, bytes);
  auto client = Client();
  std::string out = dir_.Join("out.db");
  auto plan = testing::RestoreTo(*client, {}, out);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(absl::IsDataLoss(plan.status())) << plan.status();
  EXPECT_THAT(std::string(plan.status().message()), ::testing::HasSubstr(files.back().Name()));
  EXPECT_FALSE(testing::FileExists(out));
  // A missing file in the middle of the chain is a gap: detected, never skipped.
  std::filesystem::remove(victim);
  std::filesystem::remove(replica_dir() + "/" +
                          files.front().RelativePath());  // after the snapshot
  plan = testing::RestoreTo(*client, {}, out);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(std::string(plan.status().message()), ::testing::HasSubstr("not restorable"));
  EXPECT_FALSE(testing::FileExists(out));
}

TEST_F(ReplicationTest, RestoreNeverOverwritesAnExistingFile) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "5"}), 0);
  StopReplicator();
  std::string out = dir_.Join("exists.db");
  testing::WriteFileOrDie(out, "precious");
  auto plan = testing::RestoreTo(*Client(), {}, out);
  EXPECT_TRUE(absl::IsAlreadyExists(plan.status())) << plan.status();
  EXPECT_EQ(testing::ReadFileOrDie(out), "precious");
}

}  // namespace
}  // namespace litesync
