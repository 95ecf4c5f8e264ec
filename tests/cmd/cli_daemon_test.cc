// The replicate daemon wired to its neighbours, end to end: the heartbeat, the
// control endpoint (`status`, `heartbeat`, `addr:`), S3 replicas through the
// config, and a second signal while the final sync hangs.
#include <signal.h>
#include <stdlib.h>

#include <regex>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::DumpContent;
using ::testing::HasSubstr;
using testing::HttpGet;
using ::testing::Not;
using testing::OneDbConfig;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);
constexpr char kToken[] = "hb-t0ken-5ecret";

class CliDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"LITESYNC_CONFIG", "LITESYNC_SOCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
          "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION"}) {
      unsetenv(v);
    }
    db_ = dir_.Join("app.db");
    replica_ = dir_.Join("replica");
    config_ = dir_.Join("litesync.yml");
  }
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  std::unique_ptr<Process> StartReplicate(std::string* log) {
    auto p = cli_.Start({"replicate", "-config", config_}, log);
    EXPECT_TRUE(WaitForText(*log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(*log);
    return p;
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, replica_, config_;
};

TEST_F(CliDaemonTest, HeartbeatPingsWhileHealthyAndNeverLogsItsToken) {
  testing::HttpServer monitor;
  Write(5, 1);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_,
                                      fmt::format("heartbeat-url: {}\nheartbeat-interval: 1m\n",
                                                  monitor.Url(std::string("/ping/") + kToken))));
  std::string log;
  auto p = StartReplicate(&log);
  // The first check comes one check period (15s) after start.
  EXPECT_TRUE(monitor.WaitForRequests(1, absl::Seconds(45))) << ReadFileOrEmpty(log);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  ASSERT_GE(monitor.RequestCount(), 1u);
  EXPECT_EQ(monitor.Requests()[0].path, std::string("/ping/") + kToken);
  EXPECT_THAT(ReadFileOrEmpty(log), Not(HasSubstr(kToken)));
}

TEST_F(CliDaemonTest, StatusHeartbeatAndHealthzAskTheRunningDaemon) {
  Write(5, 2);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_,
                                      "addr: 127.0.0.1:0\nheartbeat-url: http://127.0.0.1:1/" +
                                          std::string(kToken) + "\n"));
  std::string log;
  auto p = StartReplicate(&log);
  std::smatch m;
  std::string text = ReadFileOrEmpty(log);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("addr=(127\\.0\\.0\\.1:[0-9]+)"))) << text;
  const std::string addr = m[1];
  // Healthy once the first sync has been acknowledged.
  std::string body;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  int code = -1;
  while ((code = HttpGet("http://" + addr + "/healthz", &body)) != 200 && absl::Now() < deadline) {
    body.clear();
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(code, 200) << body;

  CliResult status = cli_.Run({"status", "-config", config_});
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("daemon running"));
  EXPECT_THAT(status.output, HasSubstr(db_));
  EXPECT_THAT(status.output, Not(HasSubstr(kToken)));

  CliResult hb = cli_.Run({"heartbeat", "-config", config_});
  EXPECT_EQ(hb.code, 0) << hb.output;
  EXPECT_THAT(hb.output, HasSubstr("sync records of the running daemon"));
  EXPECT_THAT(hb.output, HasSubstr("would ping"));
  EXPECT_THAT(hb.output, Not(HasSubstr(kToken)));

  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  EXPECT_FALSE(testing::FileExists(dir_.Join(".litesync.yml.sock")));
}

TEST_F(CliDaemonTest, StatusAndHeartbeatWithoutADaemon) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_, "heartbeat-url: http://127.0.0.1:1/x\n"));
  CliResult status = cli_.Run({"status", "-config", config_});
  EXPECT_EQ(status.code, 1) << status.output;
  EXPECT_THAT(status.output, HasSubstr("no daemon running"));
  CliResult hb = cli_.Run({"heartbeat", "-config", config_});
  EXPECT_EQ(hb.code, 1) << hb.output;
  EXPECT_THAT(hb.output, HasSubstr("would not ping"));
}

TEST_F(CliDaemonTest, ReplicatesToS3FromTheConfigAndRestoresFromAnS3Url) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  Write(20, 3);
  setenv("LITESYNC_TEST_S3_SECRET", testing::S3Server::kSecretAccessKey, 1);
  WriteFileOrDie(config_,
                 fmt::format(R"(dbs:
  - path: {}
    replica:
      url: s3://{}/apps/app
      endpoint: {}
      access-key-id: {}
      secret-access-key: ${{LITESYNC_TEST_S3_SECRET}}
      sync-interval: 1h
)",
                             db_, s3.bucket(), s3.endpoint(), testing::S3Server::kAccessKeyId));
  std::string log;
  auto p = StartReplicate(&log);
  Write(10, 4);  // shipped by the final sync alone
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);

  setenv("AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey, 1);
  std::string out = dir_.Join("from-s3.db");
  CliResult r = cli_.Run({"restore", "-o", out,
                          fmt::format("s3://{}/apps/app?endpoint={}", s3.bucket(), s3.endpoint())});
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("LITESYNC_TEST_S3_SECRET");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");
  EXPECT_EQ(*DumpContent(out), *DumpContent(db_));
}

// The exit status says whether the final sync succeeded.
TEST_F(CliDaemonTest, FailedFinalSyncExitsOne) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::FaultProxy proxy(s3.port());
  Write(5, 7);
  WriteFileOrDie(config_,
                 fmt::format(R"(dbs:
  - path: {}
    replica:
      url: s3://{}/down
      endpoint: {}
      access-key-id: {}
      secret-access-key: {}
      sync-interval: 1h
)",
                             db_, s3.bucket(), proxy.endpoint(), testing::S3Server::kAccessKeyId,
                             testing::S3Server::kSecretAccessKey));
  std::string log;
  auto p = StartReplicate(&log);
  proxy.SetMode(testing::Fault::kRefuse);
  Write(5, 8);
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(kStopTimeout), 1) << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("msg=\"litesync stopped\" final_sync=failed"));
  proxy.SetMode(testing::Fault::kNone);
}

// A second signal during shutdown exits at once, here while the final
// sync is stuck on an S3 server that stopped answering.
TEST_F(CliDaemonTest, SecondSignalDuringAStuckFinalSyncExitsAtOnce) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::FaultProxy proxy(s3.port());
  Write(5, 5);
  WriteFileOrDie(config_,
                 fmt::format(R"(dbs:
  - path: {}
    replica:
      url: s3://{}/stuck
      endpoint: {}
      access-key-id: {}
      secret-access-key: {}
      sync-interval: 1h
)",
                             db_, s3.bucket(), proxy.endpoint(), testing::S3Server::kAccessKeyId,
                             testing::S3Server::kSecretAccessKey));
  std::string log;
  auto p = StartReplicate(&log);
  proxy.set_stall_time(absl::Seconds(120));
  proxy.SetMode(testing::Fault::kStall);
  Write(5, 6);
  p->Signal(SIGTERM);
  ASSERT_TRUE(WaitForText(log, "msg=\"litesync stopping\"", absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(p->Running()) << "the final sync should be stuck on the stalled server\n"
                            << ReadFileOrEmpty(log);
  absl::Time second = absl::Now();
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(absl::Seconds(10)), 1) << ReadFileOrEmpty(log);
  EXPECT_LT(absl::Now() - second, absl::Seconds(5));
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("second signal"));
  proxy.SetMode(testing::Fault::kNone);
}

}  // namespace
}  // namespace litesync
