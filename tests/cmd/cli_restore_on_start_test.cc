// `replicate -restore-if-db-not-exists` and `restore-if-db-not-exists: true`:
// a missing database is restored from its replica before replication starts,
// and what is written afterwards reaches the replica. Real processes throughout.
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
using ::testing::Not;
using testing::OneDbConfig;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);

class CliRestoreOnStartTest : public testing::CliDbTest {
 protected:
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  std::string Dump(const std::string& path) {
    absl::StatusOr<std::string> d = DumpContent(path);
    return d.ok() ? *d : "(unreadable: " + std::string(d.status().message()) + ")";
  }
  void RemoveDatabase() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_ + suffix);
  }
  std::string Restored() {
    std::string out = dir_.Join(fmt::format("restored{}.db", restores_++));
    CliResult r = cli_.Run({"restore", "-o", out, replica_});
    return r.code == 0 ? Dump(out) : "(restore failed: " + r.output + ")";
  }

  int restores_ = 0;
};

TEST_F(CliRestoreOnStartTest, ConfigKeyRestoresTheMissingDatabaseAndReplicationGoesOn) {
  WriteFileOrDie(config_, fmt::format("dbs:\n  - path: {}\n    restore-if-db-not-exists: true\n"
                                      "    replica:\n      path: {}\n",
                                      db_, replica_));
  Write(20, 1);
  CliResult once = cli_.Run({"replicate", "-config", config_, "-once"});
  ASSERT_EQ(once.code, 0) << once.output;
  const std::string backed_up = Dump(db_);
  RemoveDatabase();

  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("database missing: restoring it before replication"));
  EXPECT_EQ(Dump(db_), backed_up);
  // Writes after the restore are replicated (the restore does not reset the
  // replica's position).
  Write(10, 2);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  EXPECT_EQ(Restored(), Dump(db_)) << ReadFileOrEmpty(log);
  EXPECT_NE(Dump(db_), backed_up);
}

TEST_F(CliRestoreOnStartTest, FlagWithAnEmptyReplicaStartsEmptyAndSaysSo) {
  std::string log;
  auto p = cli_.Start({"replicate", "-restore-if-db-not-exists", db_, "file://" + replica_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log),
              HasSubstr("no backup in the replica: starting with an empty database"));
  EXPECT_FALSE(std::filesystem::exists(db_));
  // The application creates it; it is replicated as usual.
  Write(5, 3);
  p->Signal(SIGTERM);
  p->Wait(kStopTimeout);
  EXPECT_EQ(Restored(), Dump(db_)) << ReadFileOrEmpty(log);
}

TEST_F(CliRestoreOnStartTest, FlagLeavesAnExistingDatabaseAlone) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  Write(5, 4);
  ASSERT_EQ(cli_.Run({"replicate", "-config", config_, "-once"}).code, 0);
  Write(5, 5);  // newer than the replica: a restore would lose these
  const std::string local = Dump(db_);
  CliResult r = cli_.Run({"replicate", "-config", config_, "-once", "-restore-if-db-not-exists"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("database exists; not restoring it"));
  EXPECT_THAT(r.output, Not(HasSubstr("restore finished")));
  EXPECT_EQ(Dump(db_), local);
}

TEST_F(CliRestoreOnStartTest, AFailedRestoreStopsTheStart) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  Write(5, 6);
  ASSERT_EQ(cli_.Run({"replicate", "-config", config_, "-once"}).code, 0);
  RemoveDatabase();
  WriteFileOrDie(db_ + "-wal", "left by an earlier database");  // restore refuses to apply it
  CliResult r = cli_.Run({"replicate", "-config", config_, "-once", "-restore-if-db-not-exists"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("restore " + db_ + " before replication failed"));
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(CliRestoreOnStartTest, ForceSnapshotNeedsOnce) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  CliResult r = cli_.Run({"replicate", "-config", config_, "-force-snapshot"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("-force-snapshot needs -once"));
}

}  // namespace
}  // namespace litesync
