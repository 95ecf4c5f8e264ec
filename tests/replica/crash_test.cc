// kill -9 of the sidecar at random moments while the application writes: after a
// final clean run, the replica restores exactly to the source.
#include <signal.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "replica/format/tx_file_info.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::TempDir;

constexpr int kIterations = 20;

// Runs the application (`writer_flags` added) under 20 random kill -9s of the
// sidecar, then a clean run; checks the replica restores exactly to the source
// and returns how many snapshots the replica holds.
int KillNineLoop(const TempDir& dir, std::vector<std::string> writer_flags) {
  std::string db = dir.Join("app.db");
  std::string replica = dir.Join("replica");
  std::string log = dir.Join("writer.log");
  std::string daemon_log = dir.Join("litesync.log");
  testing::CreateWalDb(db);
  std::vector<std::string> argv = {testing::WriterBin(), db,    "-log",  log,
                                   "-duration",          "30",  "-rate", "150",
                                   "-vacuum-every",      "400", "-seed", "21"};
  argv.insert(argv.end(), writer_flags.begin(), writer_flags.end());
  testing::Process writer(argv);
  std::mt19937 rng(42);
  for (int i = 0; i < kIterations; ++i) {
    testing::Process sidecar({testing::LitesyncBin(), "replicate", db, replica}, daemon_log);
    absl::SleepFor(absl::Milliseconds(100 + rng() % 500));
    EXPECT_TRUE(sidecar.Running()) << "litesync exited early; see " << daemon_log << ":\n"
                                   << testing::ReadFileOrDie(daemon_log);
    sidecar.Signal(SIGKILL);
    EXPECT_EQ(sidecar.Wait(absl::Seconds(10)), 128 + SIGKILL);
  }
  // A last, clean run: the writer finishes, SIGTERM makes the final sync.
  testing::Process sidecar({testing::LitesyncBin(), "replicate", db, replica}, daemon_log);
  EXPECT_EQ(writer.Wait(absl::Seconds(60)), 0);
  absl::SleepFor(absl::Milliseconds(300));
  sidecar.Signal(SIGTERM);
  EXPECT_EQ(sidecar.Wait(absl::Seconds(60)), 0) << testing::ReadFileOrDie(daemon_log);

  ReplicaOptions ro = testing::FileReplica(replica);
  auto client = NewFileReplicaClient(ro);
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return -1;
  std::string out = dir.Join("restored.db");
  absl::StatusOr<RestorePlan> plan = testing::RestoreTo(**client, {}, out);
  EXPECT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db));

  int snapshots = 0;
  auto lineages = (*client)->ListLineages();
  EXPECT_TRUE(lineages.ok()) << lineages.status();
  for (Lineage l : lineages.ok() ? *lineages : std::vector<Lineage>{}) {
    auto files = (*client)->List(l, kSnapshotLevel);
    snapshots += files.ok() ? static_cast<int>(files->size()) : 0;
  }
  if (getenv("LITESYNC_DEBUG")) std::printf("%s", testing::ReadFileOrDie(daemon_log).c_str());
  std::printf("snapshots after %d kill -9 restarts: %d\n", kIterations, snapshots);
  return snapshots;
}

// Only litesync checkpoints (as with an application that leaves checkpoints to
// it): its checkpoints never move past what the replica acknowledged, so every
// restart resumes, whatever the moment of the kill (mid-checkpoint included).
TEST(CrashTest, KillNineLoopResumesEveryTimeWhenOnlyLitesyncCheckpoints) {
  TempDir dir;
  int snapshots = KillNineLoop(dir, {"-autocheckpoint", "0"});
  RecordProperty("snapshots", snapshots);
  EXPECT_EQ(snapshots, 1) << "a restart took a needless snapshot";
}

// The application also checkpoints on its own (SQLite's autocheckpoint). While
// litesync is down nothing holds the WAL, so the application checkpoints and
// restarts it, mostly within milliseconds of the kill; the restart resumes from
// the previous generation's tail still in the WAL file (docs/FORMAT.md,
// "Resuming after a restart"). Before that, three restarts in four took a snapshot.
TEST(CrashTest, KillNineLoopWithApplicationCheckpointsLosesNothing) {
  TempDir dir;
  int snapshots = KillNineLoop(dir, {});
  RecordProperty("snapshots", snapshots);
  EXPECT_LE(snapshots, 3) << "restarts took needless snapshots";
}

// The application's side of ResumeTest: its own connection, autocheckpoint off.
class App {
 public:
  explicit App(const std::string& path) : db_(testing::OpenDb(path)) {
    testing::ExecOrDie(db_.get(), "PRAGMA wal_autocheckpoint=0");
  }
  void Insert(int rows) {
    for (int i = 0; i < rows; ++i) {
      testing::ExecOrDie(db_.get(), "INSERT INTO t(v) VALUES (hex(randomblob(900)))");
    }
  }
  // Backfills every frame; the next write restarts the WAL (a new generation).
  void CheckpointRestart() { testing::ExecOrDie(db_.get(), "PRAGMA wal_checkpoint(RESTART)"); }

 private:
  SqliteDb db_;
};

// litesync killed after the replica took 300 transactions; the application writes
// `tail` more, checkpoints and restarts the WAL, then writes `after` into the new
// generation; litesync restarts and stops cleanly. Returns its log; checks the
// replica restores exactly and how many lineages it holds.
std::string RestartAfterApplicationCheckpoint(const TempDir& dir, int tail, int after,
                                              size_t want_lineages) {
  std::string db = dir.Join("app.db"), replica = dir.Join("replica");
  std::string config = dir.Join("litesync.yml"), log = dir.Join("litesync.log");
  testing::CreateWalDb(db);
  // No WAL restart of litesync's own: the replicated position stays in generation 1.
  testing::WriteFileOrDie(config, "dbs:\n  - path: " + db +
                                      "\n    min-checkpoint-page-count: 100000\n"
                                      "    replica:\n      path: " +
                                      replica + "\n      sync-interval: 50ms\n");
  App app(db);
  app.Insert(300);
  {
    testing::Process sidecar({testing::LitesyncBin(), "replicate", "-config", config}, log);
    absl::SleepFor(absl::Seconds(2));
    sidecar.Signal(SIGKILL);
    EXPECT_EQ(sidecar.Wait(absl::Seconds(10)), 128 + SIGKILL);
  }
  app.Insert(tail);
  app.CheckpointRestart();
  app.Insert(after);
  testing::Process sidecar({testing::LitesyncBin(), "replicate", "-config", config}, log);
  absl::SleepFor(absl::Seconds(2));
  sidecar.Signal(SIGTERM);
  EXPECT_EQ(sidecar.Wait(absl::Seconds(60)), 0) << testing::ReadFileOrDie(log);

  auto client = NewFileReplicaClient(testing::FileReplica(replica));
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return "";
  auto lineages = (*client)->ListLineages();
  EXPECT_TRUE(lineages.ok()) << lineages.status();
  EXPECT_EQ(lineages.ok() ? lineages->size() : 0, want_lineages) << testing::ReadFileOrDie(log);
  std::string out = dir.Join("restored.db");
  absl::StatusOr<RestorePlan> plan = testing::RestoreTo(**client, {}, out);
  EXPECT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db));
  return testing::ReadFileOrDie(log);
}

// The frames written after the replicated position are still in the WAL file
// (the new generation overwrote only its first frames): one lineage, exact.
TEST(CrashTest, ResumesFromThePreviousWalGenerationAfterTheApplicationRestartedIt) {
  TempDir dir;
  std::string log = RestartAfterApplicationCheckpoint(dir, /*tail=*/20, /*after=*/3, 1);
  EXPECT_NE(log.find("from=\"wal tail\""), std::string::npos) << log;
}

// The application checkpointed everything but has not written since, so the
// WAL was not restarted: the frames after the replicated position are all there.
TEST(CrashTest, ResumesFromACheckpointedWalTheApplicationDidNotRestart) {
  TempDir dir;
  std::string log = RestartAfterApplicationCheckpoint(dir, /*tail=*/20, /*after=*/0, 1);
  EXPECT_NE(log.find("from=\"wal tail\""), std::string::npos) << log;
  EXPECT_NE(log.find("found in the checkpointed WAL"), std::string::npos) << log;
}

// The new generation overwrote the frames after the replicated position: they
// cannot be proven, so a new lineage starts, and the restore is still exact.
TEST(CrashTest, AnOverwrittenWalTailStartsANewLineage) {
  TempDir dir;
  std::string log = RestartAfterApplicationCheckpoint(dir, /*tail=*/20, /*after=*/400, 2);
  EXPECT_EQ(log.find("from=\"wal tail\""), std::string::npos) << log;
}

}  // namespace
}  // namespace litesync
