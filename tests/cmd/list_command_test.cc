// `litesync snapshots` and `litesync ltx` end to end: the real binary lists a
// file replica written by `litesync replicate`, and every row matches a file on
// disk (lineage, level, TXID range, size, capture time from the name).
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/json.h"
#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::OneDbConfig;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kTimeout = absl::Seconds(60);

// One expected row: "<lineage> <level> <min> <max> <size> <created>".
std::string RowOf(const std::filesystem::path& file) {
  std::string name = file.filename().string();  // <min>-<max>-<ts>.ltx
  std::string level = file.parent_path().filename().string();
  std::string lineage = file.parent_path().parent_path().filename().string();
  uint64_t ms = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(name.substr(34, 16), &ms)) << name;
  std::string created = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(static_cast<int64_t>(ms)), absl::UTCTimeZone());
  return fmt::format("{} {} {} {} {} {}", lineage, level, name.substr(0, 16), name.substr(17, 16),
                     std::filesystem::file_size(file), created);
}

// The rows the replica directory holds at `levels`, sorted as the commands sort.
std::vector<std::string> RowsOnDisk(const std::string& root, const std::vector<int>& levels) {
  struct Entry {
    std::string lineage;
    int level;
    std::string name;
    std::string row;
  };
  std::vector<Entry> entries;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.path().extension() != ".ltx") continue;
    if (e.path().filename().string().front() == '.') continue;  // temp files
    int level = std::stoi(e.path().parent_path().filename().string());
    if (std::find(levels.begin(), levels.end(), level) == levels.end()) continue;
    entries.push_back({e.path().parent_path().parent_path().filename().string(), level,
                       e.path().filename().string(), RowOf(e.path())});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.lineage, a.level, a.name) < std::tie(b.lineage, b.level, b.name);
  });
  std::vector<std::string> rows;
  for (const Entry& e : entries) rows.push_back(e.row);
  return rows;
}

// The table's rows without the header and the REPLICA column.
std::vector<std::string> TableRows(const std::string& output) {
  std::vector<std::string> rows;
  std::istringstream in(output);
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (line.rfind("REPLICA ", 0) == 0) {
      header = true;
      continue;
    }
    if (!header || line.empty()) continue;
    std::istringstream fields(line);
    std::string replica, f;
    fields >> replica;
    std::string row;
    while (fields >> f) row += (row.empty() ? "" : " ") + f;
    rows.push_back(row);
  }
  return rows;
}

class ListCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    db_ = dir_.Join("app.db");
    replica_ = dir_.Join("replica");
    config_ = dir_.Join("litesync.yml");
  }
  void Write(int seed) {
    int code = testing::RunProcess(
        {testing::WriterBin(), db_, "-txns", "10", "-seed", std::to_string(seed)}, kTimeout,
        dir_.Join("writer.log"));
    ASSERT_EQ(code, 0) << ReadFileOrEmpty(dir_.Join("writer.log"));
  }
  // Writes before and while `litesync replicate` runs, twice (stopped by SIGTERM,
  // which makes a final sync), so the replica holds snapshots and level-0 files.
  void Replicate() {
    WriteFileOrDie(config_, OneDbConfig(db_, replica_));
    for (int round = 0; round < 2; ++round) {
      ASSERT_NO_FATAL_FAILURE(Write(2 * round + 1));
      std::string log;
      auto p = cli_.Start({"replicate", "-config", config_}, &log);
      ASSERT_TRUE(WaitForText(log, "msg=replicating", kTimeout)) << ReadFileOrEmpty(log);
      ASSERT_NO_FATAL_FAILURE(Write(2 * round + 2));
      p->Signal(SIGTERM);
      ASSERT_EQ(p->Wait(kTimeout), 0) << ReadFileOrEmpty(log);
    }
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, replica_, config_;
};

TEST_F(ListCommandTest, LtxListsEveryFileOnDiskSortedByLineageLevelAndTxid) {
  ASSERT_NO_FATAL_FAILURE(Replicate());
  CliResult r = cli_.Run({"ltx", "-config", config_, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("LINEAGE"));
  std::vector<std::string> want = RowsOnDisk(replica_, {0, 1, 2, 3, 9});
  ASSERT_GE(want.size(), 3u);
  EXPECT_THAT(TableRows(r.output), ElementsAreArray(want));
}

TEST_F(ListCommandTest, SnapshotsListsOnlyLevelNine) {
  ASSERT_NO_FATAL_FAILURE(Replicate());
  CliResult r = cli_.Run({"snapshots", "-config", config_, "-replica", "file", db_});
  ASSERT_EQ(r.code, 0) << r.output;
  std::vector<std::string> want = RowsOnDisk(replica_, {9});
  ASSERT_FALSE(want.empty());
  EXPECT_THAT(TableRows(r.output), ElementsAreArray(want));
}

TEST_F(ListCommandTest, OneLevelFromAReplicaUrl) {
  ASSERT_NO_FATAL_FAILURE(Replicate());
  CliResult r = cli_.Run({"ltx", "-level", "0", "file://" + replica_});
  ASSERT_EQ(r.code, 0) << r.output;
  std::vector<std::string> want = RowsOnDisk(replica_, {0});
  ASSERT_FALSE(want.empty());
  EXPECT_THAT(TableRows(r.output), ElementsAreArray(want));
}

TEST_F(ListCommandTest, JsonHasOneObjectPerFile) {
  ASSERT_NO_FATAL_FAILURE(Replicate());
  CliResult r = cli_.Run({"ltx", "-json", "-config", config_, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  std::vector<std::string> want = RowsOnDisk(replica_, {0, 1, 2, 3, 9});
  EXPECT_EQ(r.output.find("[\n  {"), 0u) << "one object per line: " << r.output;
  LS_ASSERT_OK_AND_ASSIGN(Json doc, ParseJson(r.output));
  ASSERT_TRUE(doc.is_array()) << r.output;
  ASSERT_EQ(doc.size(), want.size()) << r.output;
  std::vector<std::string> got;
  for (const Json& o : doc) {
    got.push_back(fmt::format("{} {} {} {} {} {}", o.at("lineage").get<std::string>(),
                              o.at("level").get<int>(), o.at("min_txid").get<std::string>(),
                              o.at("max_txid").get<std::string>(), o.at("size").get<uint64_t>(),
                              o.at("created").get<std::string>()));
  }
  std::vector<std::string> rows;  // RowsOnDisk's rows, in order, cut to the same six fields
  for (const std::string& row : want) {
    std::istringstream f(row);
    std::string lineage, level, min, max, size, created;
    f >> lineage >> level >> min >> max >> size >> created;
    rows.push_back(fmt::format("{} {} {} {} {} {}", lineage, level, min, max, size, created));
  }
  EXPECT_THAT(got, ::testing::ElementsAreArray(rows)) << r.output;
}

TEST_F(ListCommandTest, AnEmptyReplicaListsNothing) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  CliResult r = cli_.Run({"snapshots", "-json", "-config", config_, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("[]"));
}

TEST_F(ListCommandTest, AnUnknownDatabaseOrReplicaNameIsAFailureNamingIt) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  CliResult r = cli_.Run({"ltx", "-config", config_, dir_.Join("other.db")});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("other.db"));
  r = cli_.Run({"snapshots", "-config", config_, "-replica", "nope", db_});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("nope"));
}

TEST_F(ListCommandTest, AnUnreachableReplicaIsAFailureNamingIt) {
  std::string not_a_dir = dir_.Join("not-a-dir");
  WriteFileOrDie(not_a_dir, "x");
  WriteFileOrDie(config_, OneDbConfig(db_, not_a_dir));
  CliResult r = cli_.Run({"ltx", "-config", config_, db_});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(db_));
  EXPECT_THAT(r.output, HasSubstr("not-a-dir"));
}

TEST_F(ListCommandTest, UsageErrorsExitTwo) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  EXPECT_EQ(cli_.Run({"ltx", "-config", config_}).code, 2);
  EXPECT_EQ(cli_.Run({"ltx", "-config", config_, "-level", "5", db_}).code, 2);
  EXPECT_EQ(cli_.Run({"snapshots", "-level", "0", "-config", config_, db_}).code, 2);
  EXPECT_EQ(cli_.Run({"snapshots", "-config", config_, "file://" + replica_}).code, 2);
  CliResult r = cli_.Run({"ltx", "-config", dir_.Join("missing.yml"), db_});
  EXPECT_EQ(r.code, 2) << r.output;
  r = cli_.Run({"ltx", "-h"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("-level N|all"));
  EXPECT_THAT(cli_.Run({"snapshots", "-h"}).output, Not(HasSubstr("-level N")));
}

}  // namespace
}  // namespace litesync
