// `replicate -once -force-snapshot`: the one sync writes a full snapshot of every
// database (Litestream's meaning), and the replica restores exactly.
#include <stdlib.h>

#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::DumpContent;
using testing::TempDir;
using testing::WriteFileOrDie;

class CliForceSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    config_ = dir_.Join("litesync.yml");
    std::string yml = "dbs:\n";
    for (const char* name : {"a", "b"}) {
      dbs_.push_back(dir_.Join(fmt::format("{}.db", name)));
      replicas_.push_back(dir_.Join(fmt::format("replica-{}", name)));
      yml += fmt::format("  - path: {}\n    replica:\n      path: {}\n", dbs_.back(),
                         replicas_.back());
    }
    WriteFileOrDie(config_, yml);
  }
  void WriteAll(int txns, int seed) {
    for (const std::string& db : dbs_) {
      ASSERT_EQ(testing::WriteTxns(db, txns, seed, dir_.Join("writer.log")), "");
    }
  }
  // Rows of `litesync snapshots REPLICA`, the header left out.
  size_t Snapshots(const std::string& replica) {
    CliResult r = cli_.Run({"snapshots", replica});
    EXPECT_EQ(r.code, 0) << r.output;
    size_t rows = 0;
    for (char c : r.output) rows += c == '\n';
    return rows == 0 ? 0 : rows - 1;
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string config_;
  std::vector<std::string> dbs_, replicas_;
};

TEST_F(CliForceSnapshotTest, OnceWithForceSnapshotWritesAFullSnapshotOfEveryDatabase) {
  WriteAll(10, 1);
  ASSERT_EQ(cli_.Run({"replicate", "-config", config_, "-once"}).code, 0);
  // Nothing changed since: without the flag, the next sync writes no snapshot.
  // (Writes while litesync is down are left out on purpose: the application's
  // checkpoint at close makes litesync start a new lineage, itself a snapshot.)
  CliResult plain = cli_.Run({"replicate", "-config", config_, "-once"});
  ASSERT_EQ(plain.code, 0) << plain.output;
  for (const std::string& r : replicas_) ASSERT_EQ(Snapshots(r), 1u) << r << "\n" << plain.output;

  CliResult forced = cli_.Run({"replicate", "-config", config_, "-once", "-force-snapshot"});
  ASSERT_EQ(forced.code, 0) << forced.output;
  for (size_t i = 0; i < dbs_.size(); ++i) {
    EXPECT_EQ(Snapshots(replicas_[i]), 2u) << replicas_[i] << "\n" << forced.output;
    std::string out = dir_.Join(fmt::format("restored{}.db", i));
    CliResult r = cli_.Run({"restore", "-o", out, replicas_[i]});
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(*DumpContent(out), *DumpContent(dbs_[i]));
  }
}

}  // namespace
}  // namespace litesync
