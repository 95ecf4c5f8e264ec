// What an idle database costs on object storage, end to end against s3rver: the
// requests it makes (through the fault proxy, which sees each one), and that the
// few it makes still tell an unreachable replica from a healthy one in time.
#include <signal.h>
#include <stdlib.h>

#include <regex>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::HttpGet;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);
// The shortest heartbeat interval litesync accepts, and the check period of its
// heartbeat: the health rule's bound is interval + 15 s.
constexpr absl::Duration kInterval = absl::Minutes(1);
constexpr absl::Duration kBound = absl::Seconds(75);  // kInterval + 15 s

class CliCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET", "AWS_ACCESS_KEY_ID",
                          "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"}) {
      unsetenv(v);
    }
    db_ = dir_.Join("app.db");
    config_ = dir_.Join("litesync.yml");
    ASSERT_EQ(testing::WriteTxns(db_, 5, 1, dir_.Join("writer.log")), "");
  }
  // Starts replicating db_ to s3://<bucket>/idle at `endpoint`, with a heartbeat
  // to `heartbeat_url` every minute and the control endpoint on a free port;
  // returns once /healthz says healthy (the first snapshot is in the replica).
  std::unique_ptr<Process> Start(const testing::S3Server& s3, const std::string& endpoint,
                                 const std::string& heartbeat_url, std::string* log) {
    WriteFileOrDie(
        config_, fmt::format(R"(addr: 127.0.0.1:0
heartbeat-url: {}
heartbeat-interval: 1m
dbs:
  - path: {}
    replica:
      url: s3://{}/idle
      endpoint: {}
      access-key-id: {}
      secret-access-key: {}
      sync-interval: 1s
)",
                             heartbeat_url, db_, s3.bucket(), endpoint,
                             testing::S3Server::kAccessKeyId, testing::S3Server::kSecretAccessKey));
    auto p = cli_.Start({"replicate", "-config", config_}, log);
    EXPECT_TRUE(WaitForText(*log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(*log);
    std::smatch m;
    std::string text = ReadFileOrEmpty(*log);
    EXPECT_TRUE(std::regex_search(text, m, std::regex("addr=(127\\.0\\.0\\.1:[0-9]+)"))) << text;
    healthz_ = "http://" + std::string(m[1]) + "/healthz";
    absl::Time deadline = absl::Now() + kStartTimeout;
    while (Healthz() != 200 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
    EXPECT_EQ(Healthz(), 200) << ReadFileOrEmpty(*log);
    return p;
  }
  int Healthz() {
    std::string body;
    return HttpGet(healthz_, &body);
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, config_, healthz_;
};

// An idle database reaches its replica with GETs only: no PUT (not even of the
// lease), no LIST, no DELETE, over a window longer than its reach period (about
// half the 1m interval), so the window also sees it reach the replica.
TEST_F(CliCostTest, IdleDatabaseMakesNoPutOrList) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::FaultProxy proxy(s3.port());
  std::string log;
  auto p = Start(s3, proxy.endpoint(), "http://127.0.0.1:9/ping", &log);
  absl::SleepFor(absl::Seconds(3));  // the first sync after the snapshot, start-up maintenance
  size_t from = proxy.request_lines().size();
  absl::SleepFor(absl::Seconds(40));
  std::vector<std::string> lines = proxy.request_lines();
  int gets = 0;
  for (size_t i = from; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    EXPECT_EQ(line.rfind("GET ", 0), 0u) << "an idle database sent " << line;
    EXPECT_EQ(line.find("list-type"), std::string::npos) << "an idle database listed: " << line;
    if (line.rfind("GET ", 0) == 0) gets++;
  }
  EXPECT_GE(gets, 1) << "the idle replica was not reached within 40 s";
  EXPECT_LE(gets, 2) << "more than one reach per reach period";
  EXPECT_EQ(Healthz(), 200);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
}

// s3rver stops while the database is idle: /healthz answers 503 and the monitor
// gets the down notification within interval + 15 s, and no up ping after that.
TEST_F(CliCostTest, UnreachableReplicaWhileIdleGoesBadWithinTheBound) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::HttpServer monitor;
  std::string log;
  auto p = Start(s3, s3.endpoint(), monitor.Url("/push?status={status}"), &log);
  s3.Stop();
  absl::Time stopped = absl::Now();
  absl::Time unhealthy = absl::InfiniteFuture();
  bool down = false;
  while (absl::Now() < stopped + kBound + absl::Seconds(5) &&
         (unhealthy == absl::InfiniteFuture() || !down)) {
    if (unhealthy == absl::InfiniteFuture() && Healthz() == 503) unhealthy = absl::Now();
    for (const auto& r : monitor.Requests())
      down = down || r.query.find("status=down") != std::string::npos;
    absl::SleepFor(absl::Milliseconds(200));
  }
  absl::Time checked = absl::Now();
  EXPECT_LE(unhealthy - stopped, kBound) << ReadFileOrEmpty(log);
  EXPECT_TRUE(down) << "no down notification within " << checked - stopped << "\n"
                    << ReadFileOrEmpty(log);
  // The last up ping left before the bound (the monitor sees silence after it).
  for (const auto& r : monitor.Requests()) {
    if (r.query.find("status=up") != std::string::npos) {
      EXPECT_LE(r.received - stopped, kBound);
    }
  }
  p->Signal(SIGTERM);
  p->Wait(kStopTimeout);  // the final sync fails: s3rver is gone
}

}  // namespace
}  // namespace litesync
