// The daemon with a replica that keeps failing: one log line per
// backoff step with a repeat count instead of one per attempt, the recovery
// logged at once, and a shutdown that gives up the final sync after
// shutdown-sync-timeout. Real processes: litesync, test_writer, s3rver behind
// the fault proxy on 127.0.0.1.
#include <signal.h>
#include <stdlib.h>

#include <sstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);

// The lines of `log` that contain every one of `parts`.
size_t CountLines(const std::string& log, const std::vector<std::string>& parts) {
  std::istringstream in(log);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const std::string& p : parts) all = all && line.find(p) != std::string::npos;
    n += all ? 1 : 0;
  }
  return n;
}

class CliFailingReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    ASSERT_TRUE(s3_.running());
    db_ = dir_.Join("app.db");
    config_ = dir_.Join("litesync.yml");
  }
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  // One database, replicated to s3rver through the proxy; `extra` top-level keys.
  void WriteConfig(const std::string& extra) {
    WriteFileOrDie(
        config_, fmt::format(R"({}dbs:
  - path: {}
    replica:
      url: s3://{}/app
      endpoint: {}
      access-key-id: {}
      secret-access-key: {}
)",
                             extra, db_, s3_.bucket(), proxy_.endpoint(),
                             testing::S3Server::kAccessKeyId, testing::S3Server::kSecretAccessKey));
  }
  // Starts the daemon and waits until `status` says the replica has it all.
  std::unique_ptr<Process> Start(std::string* log) {
    auto p = cli_.Start({"replicate", "-config", config_}, log);
    EXPECT_TRUE(WaitForText(*log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(*log);
    absl::Time deadline = absl::Now() + kStartTimeout;
    testing::CliResult status;
    while ((status = cli_.Run({"status", "-config", config_})).code != 0 &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_EQ(status.code, 0) << status.output << ReadFileOrEmpty(*log);
    return p;
  }

  TempDir dir_;
  Cli cli_{dir_};
  testing::S3Server s3_;
  testing::FaultProxy proxy_{s3_.port()};
  std::string db_, config_;
};

// The field report: a 403 while the application writes logged twice a second
// (155 lines in 85 s). Now the first failure is logged, then one line per step
// (5 s, 10 s, 20 s ... apart) with its repeat count, then the recovery at once.
TEST_F(CliFailingReplicaTest, APersistent403IsLoggedOncePerStepWithItsRepeatCount) {
  Write(20, 1);
  WriteConfig("");
  std::string log;
  auto p = Start(&log);
  proxy_.SetMode(testing::Fault::kAccessDenied403);
  absl::Time denied = absl::Now();
  // The application keeps writing for the whole window: every step has news to ship.
  Process writer({testing::WriterBin(), db_, "-duration", "25", "-rate", "50", "-seed", "2"},
                 dir_.Join("writer-bg.log"));
  ASSERT_TRUE(WaitForText(log, "HTTP 403", absl::Seconds(30))) << ReadFileOrEmpty(log);
  // A repeat line needs at least one step (5 s) of failures after the first line.
  EXPECT_TRUE(WaitForText(log, "repeated=", absl::Seconds(60))) << ReadFileOrEmpty(log);
  ASSERT_EQ(writer.Wait(absl::Seconds(90)), 0) << ReadFileOrEmpty(dir_.Join("writer-bg.log"));
  absl::Duration window = absl::Now() - denied;
  std::string text = ReadFileOrEmpty(log);
  size_t failed = CountLines(text, {"msg=\"sync failed\"", "HTTP 403"});
  // Per error, the first line, then one per step: 5, 15, 35, 75 s after it. Here
  // the upload fails first, then the read of the lease before it: two errors,
  // each with its steps, and the count of the first when the second begins.
  size_t bound = 1;
  for (absl::Duration at = absl::Seconds(5), step = at; at <= window; step *= 2, at += step) {
    ++bound;
  }
  EXPECT_GE(failed, 2u) << text;
  EXPECT_LE(failed, 2 * bound + 1) << "window " << window << "\n" << text;
  EXPECT_LE(CountLines(text, {"msg=\"sync failed\""}) - CountLines(text, {"repeated="}), 2u)
      << "one unrepeated line per distinct error\n"
      << text;
  // Besides: compaction and retention, each on its own schedule (30 s, 5 min).
  EXPECT_LE(CountLines(text, {"level=ERROR"}) + CountLines(text, {"level=WARN"}), 2 * bound + 5)
      << text;
  EXPECT_THAT(text, Not(HasSubstr("msg=\"sync recovered\"")));

  // Recovery is logged as soon as a retry succeeds (the backoff is at most 30 s).
  proxy_.SetMode(testing::Fault::kNone);
  EXPECT_TRUE(WaitForText(log, "msg=\"sync recovered\"", absl::Seconds(60)))
      << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("failed_attempts="));
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(log);
}

// A configured database the application has not created yet was an ERROR line
// every second until it appeared. It is looked for as often as before, but
// logged once per step, and its arrival at once.
TEST_F(CliFailingReplicaTest, ADatabaseNotCreatedYetIsLoggedOncePerStepUntilItAppears) {
  WriteFileOrDie(config_, testing::OneDbConfig(db_, dir_.Join("replica")));
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_}, &log);
  absl::Time start = absl::Now();
  ASSERT_TRUE(WaitForText(log, "does not exist", kStartTimeout)) << ReadFileOrEmpty(log);
  EXPECT_TRUE(WaitForText(log, "repeated=", absl::Seconds(60))) << ReadFileOrEmpty(log);
  absl::SleepFor(absl::Seconds(6));  // a window of 11 s or more: 11 lines with the old code
  absl::Duration window = absl::Now() - start;
  std::string text = ReadFileOrEmpty(log);
  size_t bound = 1;
  for (absl::Duration at = absl::Seconds(5), step = at; at <= window; step *= 2, at += step) {
    ++bound;
  }
  size_t failed = CountLines(text, {"msg=\"sync failed\"", "does not exist"});
  EXPECT_GE(failed, 2u) << text;
  EXPECT_LE(failed, bound) << "window " << window << "\n" << text;

  Write(5, 7);
  EXPECT_TRUE(WaitForText(log, "msg=\"sync recovered\"", absl::Seconds(30)))
      << ReadFileOrEmpty(log);
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(log);
}

// The field report: SIGTERM with an unreachable replica logged `sync failed`
// every ~200 ms for 30 s. Now the final sync retries with backoff, gives up after
// shutdown-sync-timeout, and litesync exits 1 having logged a few lines.
TEST_F(CliFailingReplicaTest, SigtermWithAnUnreachableReplicaGivesUpAfterShutdownSyncTimeout) {
  Write(20, 3);
  WriteConfig("shutdown-sync-timeout: 6s\n");
  std::string log;
  auto p = Start(&log);
  proxy_.SetMode(testing::Fault::kRefuse);
  Write(5, 4);  // only the final sync can ship these
  size_t before = CountLines(ReadFileOrEmpty(log), {"msg="});
  absl::Time stop = absl::Now();
  p->Signal(SIGTERM);
  int code = p->Wait(absl::Seconds(60));
  absl::Duration took = absl::Now() - stop;
  std::string text = ReadFileOrEmpty(log);
  EXPECT_EQ(code, 1) << text;
  EXPECT_THAT(text, HasSubstr("shutdown_sync_timeout=6s"));
  EXPECT_THAT(text, HasSubstr("msg=\"final sync failed\""));
  EXPECT_THAT(text, HasSubstr("msg=\"litesync stopped\" final_sync=failed"));
  // It retried until the timeout (a lower bound: load only makes it later), and
  // gave up soon after it (generous: a loaded 2-core machine).
  EXPECT_GE(took, absl::Seconds(5)) << text;
  EXPECT_LE(took, absl::Seconds(6 + 20)) << text;
  // At most: stopping, the first failure, a repeat line per step (5 s), the
  // final sync failed, stopped; the old code logged ~5 lines a second.
  size_t during = CountLines(text, {"msg="}) - before;
  EXPECT_LE(during, 8u) << text;
  EXPECT_LE(CountLines(text, {"msg=\"sync failed\""}), 3u) << text;
  proxy_.SetMode(testing::Fault::kNone);
}

// 0 is one attempt, no retries.
TEST_F(CliFailingReplicaTest, ShutdownSyncTimeoutZeroMakesOneAttempt) {
  Write(20, 5);
  WriteConfig("shutdown-sync-timeout: 0s\n");
  std::string log;
  auto p = Start(&log);
  proxy_.SetMode(testing::Fault::kRefuse);
  Write(5, 6);
  absl::Time stop = absl::Now();
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(absl::Seconds(60)), 1) << ReadFileOrEmpty(log);
  EXPECT_LE(absl::Now() - stop, absl::Seconds(20)) << ReadFileOrEmpty(log);
  EXPECT_EQ(CountLines(ReadFileOrEmpty(log), {"msg=\"sync failed\""}), 1u) << ReadFileOrEmpty(log);
  proxy_.SetMode(testing::Fault::kNone);
}

}  // namespace
}  // namespace litesync
