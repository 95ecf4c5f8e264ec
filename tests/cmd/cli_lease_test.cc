// Sidecars racing for one replica, and taking it over, as real processes: two
// configs (different databases) that name the same replica location. Exactly
// one writes; the other says it is waiting; the replica restores exactly to the
// writer's database; a takeover after the holder stopped or died is prompt and
// its log truthful (docs/FORMAT.md, "The lease").
#include <signal.h>

#include <memory>
#include <string>

#include "fmt/format.h"
#include <gtest/gtest.h>

#include "replica/storage/replica_client.h"
#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;

constexpr int kRounds = 20;
constexpr absl::Duration kWait = absl::Seconds(20);

// One sidecar: its database (filled with `rows` rows), config and process.
struct Sidecar {
  std::string db, config, log;
  std::unique_ptr<testing::Process> process;
};

class CliLeaseTest : public ::testing::Test {
 protected:
  // `replica` is the config's replica block (indented six spaces).
  Sidecar Make(const std::string& name, const std::string& replica, int rows) {
    Sidecar s;
    s.db = dir_.Join(name + ".db");
    s.config = dir_.Join(name + ".yml");
    testing::CreateWalDb(s.db);
    SqliteDb db = testing::OpenDb(s.db);
    for (int i = 0; i < rows; ++i) {
      testing::ExecOrDie(db.get(), fmt::format("INSERT INTO t(v) VALUES ('{} {}')", name, i));
    }
    testing::WriteFileOrDie(s.config,
                            fmt::format("dbs:\n  - path: {}\n    replica:\n{}      sync-interval: "
                                        "100ms\n",
                                        s.db, replica));
    return s;
  }
  void Start(Sidecar* s) { s->process = cli_.Start({"replicate", "-config", s->config}, &s->log); }

  // The replica's latest state restores exactly to `db`.
  void ExpectReplicaIs(const ReplicaOptions& replica, const std::string& db, int round) {
    auto client = NewReplicaClient(replica);
    ASSERT_TRUE(client.ok()) << client.status();
    std::string out = dir_.Join(fmt::format("restored-{}.db", round));
    absl::StatusOr<RestorePlan> plan = testing::RestoreTo(**client, {}, out);
    ASSERT_TRUE(plan.ok()) << "round " << round << ": " << plan.status();
    EXPECT_TRUE(*testing::DumpContent(out) == *testing::DumpContent(db))
        << "round " << round << ": the replica is not " << db;
  }

  // Starts two sidecars back to back on one replica; exactly one writes, the
  // other waits; the replica is the winner's database.
  void Race(const std::string& replica_block, const ReplicaOptions& replica, int round) {
    Sidecar a = Make(fmt::format("a{}", round), replica_block, 40);
    Sidecar b = Make(fmt::format("b{}", round), replica_block, 77);
    Start(&a);
    Start(&b);
    // The winner logs its new lineage once a replica has its snapshot; the
    // loser is refused with the holder named.
    Sidecar* winner = nullptr;
    Sidecar* loser = nullptr;
    absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline && winner == nullptr) {
      for (auto [w, l] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        if (ReadFileOrEmpty(w->log).find("msg=\"new lineage\"") != std::string::npos) {
          winner = w;
          loser = l;
        }
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_NE(winner, nullptr) << "round " << round << ": nobody wrote\n"
                               << ReadFileOrEmpty(a.log) << ReadFileOrEmpty(b.log);
    EXPECT_TRUE(WaitForText(loser->log, "waiting for its lease", kWait))
        << "round " << round << ": the loser does not say it waits\n"
        << ReadFileOrEmpty(loser->log);
    std::string loser_log = ReadFileOrEmpty(loser->log);
    EXPECT_EQ(loser_log.find("replica lease acquired"), std::string::npos)
        << "round " << round << ": both acquired\n"
        << loser_log;
    EXPECT_EQ(loser_log.find("msg=\"new lineage\""), std::string::npos)
        << "round " << round << ": the loser wrote\n"
        << loser_log;
    loser->process->Signal(SIGKILL);
    loser->process->Wait(absl::Seconds(10));
    winner->process->Signal(SIGTERM);
    EXPECT_EQ(winner->process->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(winner->log);
    ExpectReplicaIs(replica, winner->db, round);
  }

  TempDir dir_;
  Cli cli_{dir_};
};

TEST_F(CliLeaseTest, TwoSidecarsStartedTogetherOnADirectoryLeaveOneWriter) {
  for (int round = 0; round < kRounds; ++round) {
    std::string replica = dir_.Join(fmt::format("replica-{}", round));
    Race(fmt::format("      path: {}\n", replica), testing::FileReplica(replica), round);
    if (HasFatalFailure()) return;
  }
}

// s3rver ignores conditional writes: the lease falls back to a read-back after
// kLeaseSettle, and still leaves exactly one writer.
TEST_F(CliLeaseTest, TwoSidecarsStartedTogetherOnS3rverLeaveOneWriter) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  setenv("AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey, 1);
  for (int round = 0; round < kRounds; ++round) {
    std::string prefix = fmt::format("race-{}", round);
    Race(fmt::format("      url: s3://{}/{}\n      endpoint: {}\n", s3.bucket(), prefix,
                     s3.endpoint()),
         s3.Options(prefix), round);
    if (HasFatalFailure()) return;
  }
}

class CliTakeoverTest : public CliLeaseTest, public ::testing::WithParamInterface<bool> {};

// The holder stops cleanly (it releases the lease) or is killed and not yet
// reaped (a zombie, as under a supervisor that reaps late): the waiting sidecar
// takes over within a few sync intervals, says so, never names the dead holder
// afterwards, stops with a successful final sync, and the replica is its
// database. Before the takeover it wrote nothing, and its log says no "new lineage".
TEST_P(CliTakeoverTest, TheWaitingSidecarTakesOverPromptlyAndTruthfully) {
  bool kill = GetParam();
  std::string replica = dir_.Join("replica");
  Sidecar a = Make("a", fmt::format("      path: {}\n", replica), 40);
  Sidecar b = Make("b", fmt::format("      path: {}\n", replica), 77);
  Start(&a);
  ASSERT_TRUE(WaitForText(a.log, "msg=\"new lineage\"", kWait)) << ReadFileOrEmpty(a.log);
  Start(&b);
  ASSERT_TRUE(WaitForText(b.log, "waiting for its lease", kWait)) << ReadFileOrEmpty(b.log);
  if (kill) {
    a.process->Signal(SIGKILL);  // not reaped until the end: a zombie meanwhile
  } else {
    a.process->Signal(SIGTERM);
    ASSERT_EQ(a.process->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(a.log);
  }
  absl::Time stopped = absl::Now();
  ASSERT_TRUE(WaitForText(b.log, "msg=\"replica lease taken over\"", kWait))
      << ReadFileOrEmpty(b.log);
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(10)) << "not taken over promptly";
  ASSERT_TRUE(WaitForText(b.log, "msg=\"new lineage\"", kWait)) << ReadFileOrEmpty(b.log);
  b.process->Signal(SIGTERM);
  EXPECT_EQ(b.process->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(b.log);
  std::string log = ReadFileOrEmpty(b.log);
  size_t taken = log.find("msg=\"replica lease taken over\"");
  EXPECT_EQ(log.rfind("msg=\"new lineage\"", taken), std::string::npos)
      << "a new lineage before it wrote anything:\n"
      << log;
  EXPECT_EQ(log.find("in use by another litesync", taken), std::string::npos)
      << "the dead holder named after the takeover:\n"
      << log;
  ExpectReplicaIs(testing::FileReplica(replica), b.db, 0);
  a.process->Wait(absl::Seconds(10));
}

// The waiting sidecar is stopped itself right after the holder died: it takes
// the lease over inside its final sync (its sync-interval is long, so no step
// comes first), re-reads the replica, ships its database and exits 0 (it used to
// fail its final sync naming the dead holder).
TEST_F(CliLeaseTest, ATakeoverInsideTheFinalSyncShipsEverything) {
  std::string replica = dir_.Join("replica");
  Sidecar a = Make("a", fmt::format("      path: {}\n", replica), 40);
  Sidecar b = Make("b", fmt::format("      path: {}\n", replica), 77);
  std::string slow = ReadFileOrEmpty(b.config);
  slow.replace(slow.find("sync-interval: 100ms"), 20, "sync-interval: 1h");
  testing::WriteFileOrDie(b.config, slow);
  Start(&a);
  ASSERT_TRUE(WaitForText(a.log, "msg=\"new lineage\"", kWait)) << ReadFileOrEmpty(a.log);
  Start(&b);
  ASSERT_TRUE(WaitForText(b.log, "waiting for its lease", kWait)) << ReadFileOrEmpty(b.log);
  a.process->Signal(SIGKILL);
  a.process->Wait(absl::Seconds(10));
  b.process->Signal(SIGTERM);
  EXPECT_EQ(b.process->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(b.log);
  ExpectReplicaIs(testing::FileReplica(replica), b.db, 0);
}

INSTANTIATE_TEST_SUITE_P(HolderStopsOrDies, CliTakeoverTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Killed" : "Stopped"; });

}  // namespace
}  // namespace litesync
