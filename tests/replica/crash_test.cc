// kill -9 of the sidecar at random moments while the application writes: after a
// final clean run, the replica restores exactly to the source (DESIGN invariant 6).
#include <signal.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "replica/file_replica_client.h"
#include "replica/tx_file_info.h"
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
// litesync is down nothing holds the WAL, so the application may checkpoint away
// frames the replica has not seen; those restarts need a snapshot, and the
// restore is exact either way. Most restarts still resume.
TEST(CrashTest, KillNineLoopWithApplicationCheckpointsLosesNothing) {
  TempDir dir;
  int snapshots = KillNineLoop(dir, {});
  RecordProperty("snapshots", snapshots);
  EXPECT_LT(snapshots, kIterations) << "restarts took a snapshot every time";
}

}  // namespace
}  // namespace litesync
