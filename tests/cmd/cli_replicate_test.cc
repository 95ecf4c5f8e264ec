// The litesync binary end to end with the replication engine: replicate until
// SIGTERM (final sync, exit 0), then restore from what it wrote.
#include <signal.h>
#include <stdlib.h>

#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::DumpContent;
using testing::FileExists;
using ::testing::HasSubstr;
using testing::IntegrityCheck;
using testing::OneDbConfig;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);

class CliReplicateTest : public testing::CliDbTest {
 protected:
  // test_writer writes `txns` transactions to the database (bounded).
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  // Starts `replicate -config`, waits until it replicates; the process.
  std::unique_ptr<Process> StartReplicate(std::string* log) {
    auto p = cli_.Start({"replicate", "-config", config_}, log);
    EXPECT_TRUE(WaitForText(*log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(*log);
    return p;
  }
  void ExpectRestoredEqualsDb(const std::string& out) {
    EXPECT_EQ(IntegrityCheck(out), "ok");
    absl::StatusOr<std::string> want = DumpContent(db_);
    absl::StatusOr<std::string> got = DumpContent(out);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want);
  }
};

// SIGTERM right after writes: the commits made just before SIGTERM are in the replica because
// of the final sync (sync-interval is far longer than the test).
TEST_F(CliReplicateTest, SigtermMakesAFinalSyncAndExitsZero) {
  Write(20, 1);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_, "      sync-interval: 1h\n"));
  std::string log;
  std::unique_ptr<Process> p = StartReplicate(&log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("msg=\"litesync starting\""));
  Write(30, 2);
  p->Signal(SIGTERM);
  int code = p->Wait(kStopTimeout);
  std::string output = ReadFileOrEmpty(log);
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("msg=\"litesync stopping\" signal=SIGTERM"));
  EXPECT_THAT(output, HasSubstr("msg=\"litesync stopped\""));

  std::string out = dir_.Join("restored.db");
  CliResult r = cli_.Run({"restore", "-config", config_, "-o", out, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("msg=\"restore finished\""));
  ExpectRestoredEqualsDb(out);
}

TEST_F(CliReplicateTest, ReplicateFromTheCommandLineAndRestoreFromAUrl) {
  Write(10, 3);
  std::string log;
  auto p = cli_.Start({"replicate", db_, "file://" + replica_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(log);
  p->Signal(SIGINT);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);

  std::string out = dir_.Join("from-url.db");
  CliResult r = cli_.Run({"restore", "-o", out, "file://" + replica_});
  ASSERT_EQ(r.code, 0) << r.output;
  ExpectRestoredEqualsDb(out);
}

// A bare replica directory, with no config anywhere, is a replica
// (README's `litesync restore -o OUT /backups/app`), for restore, ltx and snapshots.
TEST_F(CliReplicateTest, ABareReplicaDirectoryNeedsNoConfig) {
  Write(10, 5);
  std::string log;
  auto p = cli_.Start({"replicate", db_, "file://" + replica_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(log);
  p->Signal(SIGINT);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);

  setenv("LITESYNC_CONFIG", dir_.Join("none.yml").c_str(), 1);  // no config to fall back on
  std::string out = dir_.Join("from-dir.db");
  CliResult r = cli_.Run({"restore", "-o", out, replica_});
  CliResult ltx = cli_.Run({"ltx", replica_});
  CliResult snapshots = cli_.Run({"snapshots", replica_});
  CliResult no_output = cli_.Run({"restore", replica_});
  CliResult missing = cli_.Run({"restore", "-o", out + "2", dir_.Join("no-such-dir")});
  unsetenv("LITESYNC_CONFIG");
  ASSERT_EQ(r.code, 0) << r.output;
  ExpectRestoredEqualsDb(out);
  EXPECT_EQ(ltx.code, 0) << ltx.output;
  EXPECT_THAT(ltx.output, HasSubstr("0000000000000001"));
  EXPECT_EQ(snapshots.code, 0) << snapshots.output;
  EXPECT_THAT(snapshots.output, HasSubstr("9"));
  EXPECT_EQ(no_output.code, 2) << no_output.output;
  EXPECT_THAT(no_output.output, HasSubstr("-o OUT is required when restoring from a replica"));
  // Not a directory: a database path, so the config is needed (and named).
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr(dir_.Join("none.yml")));
}

TEST_F(CliReplicateTest, DryRunPrintsThePlanAndWritesNothing) {
  Write(10, 4);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);

  std::string out = dir_.Join("dry.db");
  CliResult r = cli_.Run({"restore", "-config", config_, "-o", out, "-dry-run", db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("restore plan (dry run: nothing written)"));
  EXPECT_THAT(r.output, HasSubstr("lineage:"));
  EXPECT_THAT(r.output, HasSubstr("txid:"));
  EXPECT_THAT(r.output, HasSubstr("files:"));
  EXPECT_THAT(r.output, HasSubstr("bytes:"));
  EXPECT_FALSE(FileExists(out));
}

TEST_F(CliReplicateTest, RestoreByTxid) {
  Write(5, 5);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  std::string out = dir_.Join("txid.db");
  CliResult r =
      cli_.Run({"restore", "-config", config_, "-o", out, "-txid", "0000000000000001", db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("txid=0000000000000001"));
  EXPECT_EQ(IntegrityCheck(out), "ok");
}

TEST_F(CliReplicateTest, IfReplicaExistsDoesNothingForAnEmptyReplica) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  CliResult r = cli_.Run({"restore", "-config", config_, "-if-replica-exists", db_});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("restore skipped: the replica holds no backup"));
  EXPECT_FALSE(FileExists(db_));
  // Without the flag an empty replica is a failure, and still nothing is written.
  r = cli_.Run({"restore", "-config", config_, db_});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_FALSE(FileExists(db_));
  // The message names the replica once.
  EXPECT_THAT(r.output,
              HasSubstr("litesync restore: file://" + replica_ + ": the replica holds no backup"));
}

TEST_F(CliReplicateTest, ContainerStartupRestoresOnceThenSkips) {
  Write(10, 6);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  std::string want = *DumpContent(db_);
  ASSERT_EQ(std::remove(db_.c_str()), 0);
  std::remove((db_ + "-wal").c_str());
  std::remove((db_ + "-shm").c_str());
  std::vector<std::string> startup = {
      "restore", "-config", config_, "-if-db-not-exists", "-if-replica-exists", db_};
  CliResult r = cli_.Run(startup);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(*DumpContent(db_), want);
  r = cli_.Run(startup);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("restore skipped: the database exists"));
}

// One writer per replica: a second daemon on the same config finds the first one's
// control socket answering and refuses to start.
TEST_F(CliReplicateTest, SecondDaemonOnTheSameConfigRefusesToStart) {
  Write(3, 7);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto first = StartReplicate(&log);
  CliResult second = cli_.Run({"replicate", "-config", config_}, absl::Seconds(30));
  EXPECT_EQ(second.code, 1) << second.output;
  EXPECT_THAT(second.output, HasSubstr("refusing to start"));
  first->Signal(SIGTERM);
  EXPECT_EQ(first->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
}

TEST_F(CliReplicateTest, SighupReloadsTheConfigAndKeepsRunning) {
  Write(3, 8);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log);
  p->Signal(SIGHUP);
  EXPECT_TRUE(WaitForText(log, "msg=\"config reloaded\"", absl::Seconds(10)))
      << ReadFileOrEmpty(log);
  EXPECT_TRUE(p->Running());
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
}

}  // namespace
}  // namespace litesync
