// `litesync sync [-wait] DBPATH` against a running daemon: real processes, a real
// database written by tests/test_writer, restores that show what the replica holds.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
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
using ::testing::HasSubstr;
using testing::OneDbConfig;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);

class CliSyncTest : public testing::CliDbTest {
 protected:
  void SetUp() override {
    CliDbTest::SetUp();
    // An hour between syncs: whatever reaches the replica after the first one was
    // sent by `litesync sync`.
    WriteFileOrDie(config_, OneDbConfig(db_, replica_, "      sync-interval: 1h\n"));
  }
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  // Starts the daemon and waits for its first sync (the replica holds the database).
  std::unique_ptr<Process> StartReplicate(std::string* log) {
    auto p = cli_.Start({"replicate", "-config", config_}, log);
    EXPECT_TRUE(WaitForText(*log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(*log);
    absl::Time deadline = absl::Now() + kStartTimeout;
    while (Restored() != Dump() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
    return p;
  }
  std::string Dump() {
    absl::StatusOr<std::string> d = DumpContent(db_);
    return d.ok() ? *d : "(no database: " + std::string(d.status().message()) + ")";
  }
  // What the replica restores to now.
  std::string Restored() {
    std::string out = dir_.Join(fmt::format("restored{}.db", restores_++));
    CliResult r = cli_.Run({"restore", "-o", out, replica_});
    if (r.code != 0) return "(restore failed: " + r.output + ")";
    absl::StatusOr<std::string> d = DumpContent(out);
    return d.ok() ? *d : "(unreadable restore)";
  }

  int restores_ = 0;
};

TEST_F(CliSyncTest, WaitReturnsOnceTheReplicaHoldsWhatWasCommitted) {
  Write(5, 1);
  std::string log;
  auto p = StartReplicate(&log);
  ASSERT_EQ(Restored(), Dump()) << ReadFileOrEmpty(log);
  Write(20, 2);
  std::string before = Restored();
  ASSERT_NE(before, Dump()) << "shipped without a sync: the test would prove nothing";

  CliResult r = cli_.Run({"sync", "-config", config_, "-wait", db_}, absl::Seconds(60));
  EXPECT_EQ(r.code, 0) << r.output << ReadFileOrEmpty(log);
  EXPECT_THAT(r.output, HasSubstr("db_path: " + db_));
  EXPECT_THAT(r.output, HasSubstr("status: synced"));
  EXPECT_EQ(Restored(), Dump()) << r.output << ReadFileOrEmpty(log);

  // Without -wait it returns at once and the sync follows.
  Write(7, 3);
  r = cli_.Run({"sync", "-config", config_, "-json", db_}, absl::Seconds(60));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(R"("status": "requested")"));
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Restored() != Dump() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Restored(), Dump()) << ReadFileOrEmpty(log);

  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
}

// The application keeps committing (200 tx/s) while `sync -wait` runs: each
// sync covers at least every transaction committed before it was asked for.
TEST_F(CliSyncTest, WaitOnAHotDatabaseCoversEveryCommitBeforeIt) {
  Write(5, 5);
  std::string log;
  auto p = StartReplicate(&log);
  Process writer({testing::WriterBin(), db_, "-duration", "60", "-rate", "200", "-seed", "6"},
                 dir_.Join("hot.log"));
  auto seq = [](const std::string& path) {
    SqliteDb db = testing::OpenDb(path);
    return std::stoll(testing::QueryOne(db.get(), "SELECT v FROM meta WHERE k='seq'"));
  };
  int64_t last_restored = 0;
  for (int round = 0; round < 3; round++) {
    absl::SleepFor(absl::Milliseconds(700));
    const int64_t committed = seq(db_);
    CliResult r = cli_.Run({"sync", "-config", config_, "-wait", db_}, absl::Seconds(60));
    ASSERT_EQ(r.code, 0) << r.output << ReadFileOrEmpty(log);
    EXPECT_THAT(r.output, HasSubstr("status: synced"));
    std::string out = dir_.Join(fmt::format("hot{}.db", round));
    CliResult restored = cli_.Run({"restore", "-o", out, replica_});
    ASSERT_EQ(restored.code, 0) << restored.output;
    EXPECT_EQ(testing::IntegrityCheck(out), "ok");
    const int64_t got = seq(out);
    EXPECT_GE(got, committed) << "round " << round << ": synced before the commit it waited for";
    EXPECT_GT(got, last_restored) << "round " << round << ": the writer's commits did not move";
    last_restored = got;
  }
  EXPECT_TRUE(writer.Running()) << "the writer stopped: the database was not hot";
  writer.Signal(SIGTERM);
  writer.Wait(kStopTimeout);
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
}

TEST_F(CliSyncTest, WaitFailsNamingTheReplicaThatCannotBeWritten) {
  Write(5, 4);
  std::string log;
  auto p = StartReplicate(&log);
  // The replica's directory becomes a plain file: every write fails (even as root).
  std::filesystem::rename(replica_, dir_.Join("replica.moved"));
  WriteFileOrDie(replica_, "not a directory");
  Write(10, 5);
  CliResult r =
      cli_.Run({"sync", "-config", config_, "-wait", "-timeout", "20", db_}, absl::Seconds(60));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sync of " + db_));
  EXPECT_THAT(r.output, HasSubstr("replica file://" + replica_));
  p->Signal(SIGKILL);
  p->Wait(kStopTimeout);
}

TEST_F(CliSyncTest, UnknownDatabaseIsNamedWithWhatTheDaemonReplicates) {
  Write(3, 6);
  std::string log;
  auto p = StartReplicate(&log);
  CliResult r = cli_.Run({"sync", "-config", config_, "-wait", dir_.Join("other.db")});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(dir_.Join("other.db") + " is not replicated"));
  EXPECT_THAT(r.output, HasSubstr("it replicates: " + db_));
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
}

TEST_F(CliSyncTest, WithoutADaemonSaysSo) {
  CliResult r = cli_.Run({"sync", "-config", config_, db_});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no litesync daemon answers on"));
  EXPECT_THAT(r.output, HasSubstr("litesync replicate"));
}

}  // namespace
}  // namespace litesync
