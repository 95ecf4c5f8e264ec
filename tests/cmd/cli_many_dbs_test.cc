// Many databases in one process: the open-file limit is raised at start
// and a database count it cannot hold is reported; dirs: rescans skip folders
// that cannot have changed yet never miss a file that becomes a database.
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>
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

using ::testing::HasSubstr;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kTimeout = absl::Seconds(30);

class CliManyDbsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    tenants_ = dir_.Join("tenants");
    std::filesystem::create_directories(tenants_);
    config_ = dir_.Join("litesync.yml");
    WriteFileOrDie(config_, fmt::format("dirs:\n  - dir: {}\n    replica:\n      path: {}\n",
                                        tenants_, dir_.Join("replicas")));
  }
  // `litesync replicate` under `ulimit -S`/`-H` values (sh's ulimit; exec keeps the PID).
  std::unique_ptr<Process> Start(const std::string& ulimits, const std::string& extra_flags = "") {
    log_ = dir_.Join(fmt::format("litesync-{}.log", ++runs_));
    std::string cmd = fmt::format("{} && exec {} replicate -config {} {}", ulimits,
                                  testing::LitesyncBin(), config_, extra_flags);
    return std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", cmd}, log_);
  }
  void Stop(Process* p) {
    p->Signal(SIGTERM);
    EXPECT_NE(p->Wait(absl::Seconds(60)), -1) << ReadFileOrEmpty(log_);
  }
  std::string Limits(pid_t pid) {
    std::string line;
    std::ifstream in(fmt::format("/proc/{}/limits", pid));
    while (std::getline(in, line)) {
      if (line.rfind("Max open files", 0) == 0) return line;
    }
    return "";
  }

  testing::TempDir dir_;
  std::string tenants_, config_, log_;
  int runs_ = 0;
};

TEST_F(CliManyDbsTest, RaisesTheSoftOpenFileLimitToTheHardLimit) {
  auto p = Start("ulimit -Sn 256 && ulimit -Hn 4096");
  ASSERT_TRUE(WaitForText(log_, "no databases yet", kTimeout)) << ReadFileOrEmpty(log_);
  std::string log = ReadFileOrEmpty(log_);
  EXPECT_THAT(log, HasSubstr("msg=\"open-file limit raised\" from=256 to=4096"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("too many databases")));
  EXPECT_THAT(Limits(p->pid()), ::testing::MatchesRegex("Max open files +4096 +4096 .*"));
  Stop(p.get());
}

TEST_F(CliManyDbsTest, WarnsWhenTheDatabasesNeedMoreFilesThanTheLimit) {
  for (int i = 0; i < 12; ++i) testing::CreateWalDb(fmt::format("{}/t{:02d}.db", tenants_, i));
  // 12 databases need 12 * 7 + 64 = 148 descriptors.
  auto p = Start("ulimit -n 140");
  ASSERT_TRUE(WaitForText(log_, "too many databases for the open-file limit", kTimeout))
      << ReadFileOrEmpty(log_);
  std::string log = ReadFileOrEmpty(log_);
  EXPECT_THAT(log, HasSubstr("level=WARN"));
  EXPECT_THAT(log, HasSubstr("dbs=12 fds_needed=148 limit=140"));
  EXPECT_THAT(log, HasSubstr("LimitNOFILE"));
  Stop(p.get());
}

TEST_F(CliManyDbsTest, TwelveDatabasesFitALimitOfTwoHundred) {
  for (int i = 0; i < 12; ++i) testing::CreateWalDb(fmt::format("{}/t{:02d}.db", tenants_, i));
  auto p = Start("ulimit -n 200");
  ASSERT_TRUE(WaitForText(log_, fmt::format("msg=replicating db={}/t11.db", tenants_), kTimeout))
      << ReadFileOrEmpty(log_);
  EXPECT_THAT(ReadFileOrEmpty(log_), ::testing::Not(HasSubstr("too many databases")));
  Stop(p.get());
}

void SetMtime(const std::string& path, absl::Time t) {
  struct timeval tv[2];
  tv[0] = absl::ToTimeval(t);
  tv[1] = tv[0];
  ASSERT_EQ(::utimes(path.c_str(), tv), 0) << path;
}

// Rescans skip a folder whose entries did not change, but a file found there
// that was not a database yet is checked again until it is one, although
// writing it in place leaves the folder untouched.
TEST_F(CliManyDbsTest, DirRescanPicksUpAFileThatBecomesADatabaseInPlace) {
  std::string source = dir_.Join("source.db");
  testing::CreateWalDb(source);
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), source, "-txns", "5"}, kTimeout), 0);
  ASSERT_EQ(
      testing::RunProcess({testing::WriterBin(), source, "-checkpoint", "TRUNCATE"}, kTimeout), 0);
  auto p = Start("true", "-log-level debug");
  ASSERT_TRUE(WaitForText(log_, "no databases yet", kTimeout)) << ReadFileOrEmpty(log_);
  std::string late = tenants_ + "/late.db";
  WriteFileOrDie(late, "still being copied, not a database yet");
  const absl::Time settled = absl::Now() - absl::Hours(1);
  SetMtime(tenants_, settled);  // the folder looks unchanged from now on
  ASSERT_TRUE(WaitForText(log_, fmt::format("not a database yet\" db={}", late), kTimeout))
      << ReadFileOrEmpty(log_);
  WriteFileOrDie(late, ReadFileOrEmpty(source));  // in place: same directory entry
  SetMtime(tenants_, settled);  // (writing a file's content leaves the folder's mtime alone)
  // Well before the 30 s listing every folder gets regardless.
  EXPECT_TRUE(WaitForText(log_, fmt::format("msg=replicating db={}", late), absl::Seconds(15)))
      << ReadFileOrEmpty(log_);
  Stop(p.get());
}

}  // namespace
}  // namespace litesync
