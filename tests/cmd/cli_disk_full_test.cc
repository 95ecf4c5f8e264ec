// The database's own disk full: litesync's checkpoint fails with
// "database or disk is full", and the daemon shows it as a warning on the
// database in `status` (table and -json) and /metrics, without making it
// unhealthy; once space is back, the next checkpoint clears it.
//
// The disk is a real 16 MiB tmpfs, mounted in a mount namespace of the test's
// own (unshare): it disappears with the test process, whatever happens, and the
// daemon and the application, started by the test, see it. Where mounting is
// not allowed (no CAP_SYS_ADMIN) the test is skipped, saying why.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/status_report.h"
#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kTimeout = absl::Seconds(60);

// Writes zeros to `path` until the file system says ENOSPC; false on any other error.
bool FillUp(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  static const char zeros[64 << 10] = {};
  while (true) {
    ssize_t n = ::write(fd, zeros, sizeof zeros);
    if (n > 0) continue;
    int err = errno;
    ::close(fd);
    return n < 0 && err == ENOSPC;
  }
}

class CliDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    // Before any thread exists: unshare(CLONE_NEWNS) refuses a threaded process.
    if (::unshare(CLONE_NEWNS) != 0) {
      GTEST_SKIP() << "no mount namespace (" << std::strerror(errno)
                   << "): the tmpfs needs CAP_SYS_ADMIN";
    }
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
        << std::strerror(errno);
    disk_ = dir_.Join("disk");
    ASSERT_EQ(::mkdir(disk_.c_str(), 0755), 0);
    if (::mount("tmpfs", disk_.c_str(), "tmpfs", 0, "size=16m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << ")";
    }
    mounted_ = true;
    db_ = disk_ + "/app.db";
    config_ = dir_.Join("litesync.yml");
  }
  void TearDown() override {
    if (mounted_) ::umount2(disk_.c_str(), MNT_DETACH);
  }
  int Write(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {testing::WriterBin(), db_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProcess(argv, kTimeout, dir_.Join("writer.log"));
  }
  // The replica and the logs are on the test's disk, not on the small one.
  void WriteConfig(const std::string& db_keys) {
    WriteFileOrDie(config_, fmt::format("addr: 127.0.0.1:0\ndbs:\n  - path: {}\n{}"
                                        "    replica:\n      path: {}\n",
                                        db_, db_keys, dir_.Join("replica")));
  }
  // Polls `status -json` until `want` appears in it.
  bool WaitForStatus(const std::string& want, CliResult* last) {
    absl::Time deadline = absl::Now() + kTimeout;
    while (absl::Now() < deadline) {
      *last = cli_.Run({"status", "-config", config_, "-json"});
      if (last->output.find(want) != std::string::npos) return true;
      absl::SleepFor(absl::Milliseconds(250));
    }
    return false;
  }

  TempDir dir_;
  Cli cli_{dir_};
  bool mounted_ = false;
  std::string disk_, db_, config_;
};

TEST_F(CliDiskFullTest, AFailingCheckpointIsAWarningOnTheDatabaseUntilSpaceIsBack) {
  ASSERT_EQ(Write({"-txns", "20", "-seed", "1"}), 0) << ReadFileOrEmpty(dir_.Join("writer.log"));
  // 1. The application writes ~1.2 MB while litesync replicates but, by its
  // settings, does not checkpoint: the new pages stay in the WAL.
  WriteConfig("    checkpoint-interval: 1h\n    min-checkpoint-page-count: 100000\n");
  std::string log1;
  auto first = cli_.Start({"replicate", "-config", config_}, &log1);
  ASSERT_TRUE(WaitForText(log1, "msg=replicating", kTimeout)) << ReadFileOrEmpty(log1);
  ASSERT_EQ(Write({"-txns", "300", "-mode", "insert", "-payload", "4000", "-autocheckpoint", "0",
                   "-seed", "2"}),
            0)
      << ReadFileOrEmpty(dir_.Join("writer.log"));
  first->Signal(SIGTERM);  // the final sync ships it all; the WAL stays
  ASSERT_EQ(first->Wait(kTimeout), 0) << ReadFileOrEmpty(log1);

  // 2. The disk fills up; litesync starts again and checkpoints after a second:
  // the WAL's pages need the database file to grow, and there is no room.
  ASSERT_TRUE(FillUp(disk_ + "/filler"));
  WriteConfig("    checkpoint-interval: 1s\n");
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_}, &log);
  ASSERT_TRUE(WaitForText(log, "database or disk is full", kTimeout)) << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log),
              HasSubstr(fmt::format("level=WARN msg=\"checkpoint failed\" db={}", db_)));

  CliResult json;
  ASSERT_TRUE(WaitForStatus("\"state\": \"warning\"", &json)) << json.output;
  EXPECT_EQ(json.code, 1) << "a warning is not ok\n" << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"healthy\": true"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(json.output, m,
                                std::regex("\"warnings\": \\[\\s*\"checkpoint failing for "
                                           "[0-9a-z]+: [^\"]*database or disk is full")))
      << json.output;
  CliResult table = cli_.Run({"status", "-config", config_});
  EXPECT_EQ(table.code, 1) << table.output;
  EXPECT_THAT(table.output, HasSubstr(fmt::format("{} (", db_)));
  EXPECT_THAT(table.output, HasSubstr("warning: checkpoint failing for"));

  std::string text = ReadFileOrEmpty(log);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("addr=(127\\.0\\.0\\.1:[0-9]+)"))) << text;
  const std::string addr = m[1];
  std::string body;
  EXPECT_EQ(testing::HttpGet("http://" + addr + "/healthz", &body), 200) << body;
  body.clear();
  ASSERT_EQ(testing::HttpGet("http://" + addr + "/metrics", &body), 200);
  ASSERT_TRUE(std::regex_search(body, m,
                                std::regex("litesync_checkpoint_errors_total\\{db=\"" + db_ +
                                           "\",replica=\"[^\"]*\"\\} ([0-9]+)")))
      << body;
  EXPECT_GE(std::stoi(m[1]), 1);
  body.clear();
  ASSERT_EQ(testing::HttpGet("http://" + addr + "/status", &body), 200);
  EXPECT_THAT(body, HasSubstr("\"state\": \"warning\""));

  // 3. Space is back: the next checkpoint clears the warning, and says so once.
  ASSERT_EQ(::unlink((disk_ + "/filler").c_str()), 0);
  ASSERT_TRUE(WaitForText(log, "msg=\"checkpoint recovered\"", kTimeout)) << ReadFileOrEmpty(log);
  ASSERT_TRUE(WaitForStatus("\"state\": \"ok\"", &json)) << json.output;
  EXPECT_THAT(json.output, Not(HasSubstr("checkpoint failing")));
  // One line per step while it failed (about once a second), not one per attempt.
  text = ReadFileOrEmpty(log);
  size_t failed = 0;
  for (size_t at = text.find("msg=\"checkpoint failed\""); at != std::string::npos;
       at = text.find("msg=\"checkpoint failed\"", at + 1)) {
    ++failed;
  }
  EXPECT_LE(failed, 6u) << text;
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(kTimeout), 0) << ReadFileOrEmpty(log);
}

}  // namespace
}  // namespace litesync
