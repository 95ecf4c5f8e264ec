// kill -9 of the sidecar at random moments with age encryption on: restarts
// resume on the encrypted replica (its newest file is read with the identity),
// and after a clean last run the replica restores exactly to the source.
#include <signal.h>

#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gtest/gtest.h>

#include "replica/crypto/age.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::TempDir;

constexpr int kIterations = 8;

TEST(AgeCrashTest, KillNineLoopWithEncryptionResumesAndRestoresExactly) {
  TempDir dir;
  AgeIdentity key = AgeIdentity::Generate();
  std::string db = dir.Join("app.db"), replica = dir.Join("replica");
  std::string config = dir.Join("litesync.yml"), daemon_log = dir.Join("litesync.log");
  testing::WriteFileOrDie(dir.Join("key.txt"), key.Reveal() + "\n");
  testing::WriteFileOrDie(config, fmt::format("dbs:\n  - path: {}\n    replica:\n      path: {}\n"
                                              "      age:\n        identity-files: [{}]\n",
                                              db, replica, dir.Join("key.txt")));
  testing::CreateWalDb(db);
  testing::Process writer({testing::WriterBin(), db, "-log", dir.Join("writer.log"), "-duration",
                           "12", "-rate", "150", "-autocheckpoint", "0", "-seed", "23"});
  std::mt19937 rng(7);
  for (int i = 0; i < kIterations; ++i) {
    testing::Process sidecar({testing::LitesyncBin(), "replicate", "-config", config}, daemon_log);
    absl::SleepFor(absl::Milliseconds(200 + rng() % 600));
    EXPECT_TRUE(sidecar.Running()) << testing::ReadFileOrDie(daemon_log);
    sidecar.Signal(SIGKILL);
    EXPECT_EQ(sidecar.Wait(absl::Seconds(10)), 128 + SIGKILL);
  }
  testing::Process sidecar({testing::LitesyncBin(), "replicate", "-config", config}, daemon_log);
  EXPECT_EQ(writer.Wait(absl::Seconds(60)), 0);
  absl::SleepFor(absl::Milliseconds(300));
  sidecar.Signal(SIGTERM);
  ASSERT_EQ(sidecar.Wait(absl::Seconds(60)), 0) << testing::ReadFileOrDie(daemon_log);

  ReplicaOptions ro = testing::FileReplica(replica);
  ro.age.identities.emplace_back(key.Reveal());
  auto client = NewReplicaClient(ro);
  LS_ASSERT_OK(client);
  std::string out = dir.Join("restored.db");
  LS_ASSERT_OK(testing::RestoreTo(**client, {}, out));
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db));
  // Only litesync checkpoints, so every restart resumed: one lineage, one snapshot.
  auto lineages = (*client)->ListLineages();
  LS_ASSERT_OK(lineages);
  EXPECT_EQ(lineages->size(), 1u) << testing::ReadFileOrDie(daemon_log);
  for (Lineage l : *lineages) {
    auto files = (*client)->List(l, 0);
    LS_ASSERT_OK(files);
    ASSERT_FALSE(files->empty());
    auto raw = NewReplicaClient(testing::FileReplica(replica));
    auto r = (*raw)->Open(files->back());
    LS_ASSERT_OK(r);
    EXPECT_TRUE(LooksLikeAge(*ReadAll(**r)));
  }
}

}  // namespace
}  // namespace litesync
