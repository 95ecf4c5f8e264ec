// `litesync monitor -config` end to end, all real processes on loopback: s3rver,
// the replicating sidecar (`litesync replicate`) with a writer behind it, the
// monitor daemon, and an HTTP receiver standing in for Uptime Kuma/Healthchecks.
#include <signal.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/monitor/monitor_util.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using ::testing::HasSubstr;
using testing::HttpServer;
using ::testing::Not;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr char kAppToken[] = "kuma-app-t0ken";
constexpr char kAllToken[] = "hc-all-uu1d";
constexpr char kPromtool[] = "/usr/bin/promtool";

class MonitorDaemonCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(s3_.running());
    db_ = dir_.Join("app.db");
  }

  // The sidecar: replicates app.db to s3://<bucket>/app every 100 ms, with
  // `replica_extra` (indented replica keys) added.
  void StartSidecar(const std::string& replica_extra = "") {
    std::string config = dir_.Join("litesync.yml");
    WriteFileOrDie(config, fmt::format(R"(dbs:
  - path: {}
    replica:
      url: s3://{}/app
      endpoint: {}
      access-key-id: S3RVER
      secret-access-key: S3RVER
      sync-interval: 100ms
{})",
                                       db_, s3_.bucket(), s3_.endpoint(), replica_extra));
    sidecar_ = cli_.Start({"replicate", "-config", config}, &sidecar_log_);
    ASSERT_TRUE(WaitForText(sidecar_log_, "replicating", absl::Seconds(30)))
        << ReadFileOrEmpty(sidecar_log_);
  }
  // The application: a transaction every 100 ms for a minute.
  void StartWriter() {
    writer_ = std::make_unique<Process>(
        std::vector<std::string>{testing::WriterBin(), db_, "-duration", "60", "-rate", "10"},
        dir_.Join("writer.log"));
  }
  // The monitor over `replicas` (names under the bucket), max-age 3s, checks every
  // 500 ms; app's own Kuma target and an aggregate Healthchecks-style target.
  void StartMonitor(const std::string& replicas) {
    WriteMonitorConfig(replicas);
    monitor_ = cli_.Start({"monitor", "-config", dir_.Join("monitor.yml")}, &monitor_log_);
    ASSERT_TRUE(WaitForText(monitor_log_, "msg=\"monitor starting\"", absl::Seconds(30)))
        << ReadFileOrEmpty(monitor_log_);
    std::smatch m;
    std::string log = ReadFileOrEmpty(monitor_log_);
    ASSERT_TRUE(std::regex_search(log, m, std::regex("addr=(127\\.0\\.0\\.1:[0-9]+)"))) << log;
    addr_ = m[1];
  }
  void WriteMonitorConfig(const std::string& replicas) {
    WriteFileOrDie(
        dir_.Join("monitor.yml"),
        fmt::format(R"(addr: 127.0.0.1:0
defaults:
  url: s3://{bucket}/{{name}}
  endpoint: {endpoint}
  access-key-id: S3RVER
  secret-access-key: S3RVER
  max-age: 3s
  check-interval: 500ms
  push-url: {kuma}/api/push/{{token}}?status={{status}}&msg={{msg}}&ping={{ping}}
replicas:
{replicas}
heartbeats:
  - url: {kuma}/hc/{all}
    fail-url: {kuma}/hc/{all}/fail
    interval: 1s
)",
                    fmt::arg("bucket", s3_.bucket()), fmt::arg("endpoint", s3_.endpoint()),
                    fmt::arg("kuma", kuma_.Url("")), fmt::arg("replicas", replicas),
                    fmt::arg("all", kAllToken)));
  }
  // /metrics until it contains `text` (true) or `timeout` passes.
  bool WaitForMetrics(const std::string& text, absl::Duration timeout) const {
    const absl::Time end = absl::Now() + timeout;
    std::string metrics;
    do {
      if (testing::HttpGet("http://" + addr_ + "/metrics", &metrics) == 200 &&
          metrics.find(text) != std::string::npos) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < end);
    return false;
  }
  // Requests to `path_part` received so far, in order.
  std::vector<testing::HttpRequest> RequestsTo(const std::string& path_part) const {
    std::vector<testing::HttpRequest> out;
    for (const testing::HttpRequest& r : kuma_.Requests()) {
      if (r.path.find(path_part) != std::string::npos) out.push_back(r);
    }
    return out;
  }
  size_t Count(const std::string& path_part, const std::string& query_part) const {
    size_t seen = 0;
    for (const testing::HttpRequest& r : RequestsTo(path_part)) {
      if (r.query.find(query_part) != std::string::npos) ++seen;
    }
    return seen;
  }
  bool WaitFor(const std::string& path_part, const std::string& query_part, size_t n,
               absl::Duration timeout) const {
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end) {
      if (Count(path_part, query_part) >= n) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }
  void ExpectNoTokenInLogs() {
    for (const std::string& log : {monitor_log_, sidecar_log_}) {
      std::string text = ReadFileOrEmpty(log);
      EXPECT_THAT(text, Not(HasSubstr(kAppToken)));
      EXPECT_THAT(text, Not(HasSubstr(kAllToken)));
    }
  }

  TempDir dir_;
  Cli cli_{dir_};
  testing::S3Server s3_;
  HttpServer kuma_;
  std::string db_;
  std::unique_ptr<Process> sidecar_, writer_, monitor_;
  std::string sidecar_log_, monitor_log_, addr_;
};

TEST_F(MonitorDaemonCliTest, AKilledSidecarIsDownOnceAndUpAgainAfterItsRestart) {
  StartWriter();
  StartSidecar();
  StartMonitor(fmt::format("  - name: app\n    push-token: {}\n", kAppToken));
  const std::string app_path = std::string("/api/push/") + kAppToken;
  const std::string all_fail = std::string("/hc/") + kAllToken + "/fail";
  // (Checks before the sidecar's first upload find the replica empty: down, then up.)
  ASSERT_TRUE(WaitFor(app_path, "status=up", 1, absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  const size_t downs = Count(app_path, "status=down");
  const size_t all_downs = Count(all_fail, "");

  sidecar_->Signal(SIGKILL);
  const absl::Time killed = absl::Now();
  ASSERT_EQ(sidecar_->Wait(absl::Seconds(10)), 128 + SIGKILL);
  // Stale within max-age + one check (+ the request time): well under 10 s.
  ASSERT_TRUE(WaitFor(app_path, "status=down", downs + 1, absl::Seconds(10)))
      << ReadFileOrEmpty(monitor_log_);
  EXPECT_LT(absl::Now() - killed, absl::Seconds(3) + absl::Milliseconds(500) + absl::Seconds(3));
  std::vector<testing::HttpRequest> app = RequestsTo(app_path);
  // Names the replica, its state and location: stale by its files, and this sidecar
  // writes no liveness record (no liveness-interval).
  EXPECT_THAT(app.back().query, HasSubstr("msg=app%3A%20no-liveness-record%3A%20s3%3A%2F%2F"));
  // The aggregate covers app too: its fail URL, once.
  ASSERT_TRUE(WaitFor(all_fail, "", all_downs + 1, absl::Seconds(5)));

  absl::SleepFor(absl::Seconds(2));  // four more checks of the same incident
  EXPECT_EQ(RequestsTo(app_path).size(), app.size());
  EXPECT_EQ(Count(all_fail, ""), all_downs + 1);

  const size_t ups = Count(app_path, "status=up");
  StartSidecar();  // the writer kept writing: the restarted sidecar ships it
  ASSERT_TRUE(WaitFor(app_path, "status=up", ups + 1, absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  EXPECT_THAT(ReadFileOrEmpty(monitor_log_), HasSubstr("msg=\"monitor down sent\""));
  ExpectNoTokenInLogs();
}

TEST_F(MonitorDaemonCliTest, AnIdleReplicaWithLivenessStaysUpUntilItsSidecarDies) {
  // Ten transactions, then nothing: the replica's files soon pass max-age (3 s),
  // and only the sidecar's liveness record (every second) keeps it fresh.
  Process seed({testing::WriterBin(), db_, "-duration", "1", "-rate", "10"}, dir_.Join("seed.log"));
  ASSERT_EQ(seed.Wait(absl::Seconds(30)), 0) << ReadFileOrEmpty(dir_.Join("seed.log"));
  StartSidecar("      liveness-interval: 1s\n");
  StartMonitor(fmt::format("  - name: app\n    push-token: {}\n", kAppToken));
  const std::string app_path = std::string("/api/push/") + kAppToken;
  ASSERT_TRUE(WaitFor(app_path, "status=up", 1, absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  const size_t downs = Count(app_path, "status=down");
  // Three max-ages idle: the files are old, the record keeps the verdict fresh.
  absl::SleepFor(absl::Seconds(9));
  EXPECT_EQ(Count(app_path, "status=down"), downs) << ReadFileOrEmpty(monitor_log_);

  sidecar_->Signal(SIGKILL);
  ASSERT_EQ(sidecar_->Wait(absl::Seconds(10)), 128 + SIGKILL);
  ASSERT_TRUE(WaitFor(app_path, "status=down", downs + 1, absl::Seconds(15)))
      << ReadFileOrEmpty(monitor_log_);
  // Stale, not "no liveness record": the record is there and says since when.
  const std::string query = RequestsTo(app_path).back().query;
  EXPECT_THAT(query, HasSubstr("msg=app%3A%20stale%3A%20s3%3A%2F%2F"));
  EXPECT_THAT(query, HasSubstr("liveness%20record"));
  ExpectNoTokenInLogs();
}

TEST_F(MonitorDaemonCliTest, AnAggregateWaitsForEveryReplicaAndMetricsPassPromtool) {
  StartWriter();
  StartSidecar();
  // "ghost" holds nothing: never fresh.
  StartMonitor(fmt::format("  - name: app\n    push-token: {}\n  - name: ghost\n", kAppToken));
  const std::string app_path = std::string("/api/push/") + kAppToken;
  ASSERT_TRUE(WaitFor(app_path, "status=up", 1, absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  ASSERT_TRUE(WaitFor(std::string("/hc/") + kAllToken + "/fail", "", 1, absl::Seconds(10)));
  EXPECT_TRUE(RequestsTo(std::string("/hc/") + kAllToken).size() == 1u)
      << "the aggregate sent no up while ghost is bad";

  std::string healthz;
  EXPECT_EQ(testing::HttpGet("http://" + addr_ + "/healthz", &healthz), 503);
  EXPECT_THAT(healthz, HasSubstr("ghost: empty: s3://"));
  EXPECT_THAT(healthz, Not(HasSubstr("app: ")));
  std::string metrics;
  ASSERT_EQ(testing::HttpGet("http://" + addr_ + "/metrics", &metrics), 200);
  EXPECT_THAT(metrics, HasSubstr("litesync_monitor_replica_fresh{replica=\"app\""));
  EXPECT_THAT(metrics, HasSubstr("litesync_monitor_data_age_seconds{replica=\"app\""));
  EXPECT_THAT(metrics, HasSubstr("litesync_monitor_requests_total{replica=\"app\""));
  EXPECT_THAT(metrics, Not(HasSubstr("op=\"PUT\"} 1")));
  EXPECT_THAT(metrics, Not(HasSubstr(kAppToken)));
  if (::access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " missing (bash .ci/deps)";
  std::string file = dir_.Join("metrics.txt");
  WriteFileOrDie(file, metrics);
  std::string log = dir_.Join("promtool.log");
  int code = testing::RunProcess(
      {"/bin/sh", "-c", "exec \"$1\" check metrics < \"$2\"", "sh", kPromtool, file},
      absl::Seconds(60), log);
  EXPECT_EQ(code, 0) << ReadFileOrEmpty(log) << metrics;
  ExpectNoTokenInLogs();
}

// Verification through the daemon, on a directory replica litesync wrote: the
// first verification (at start-up) restores it; after a bit flip in its newest
// tx file the next one fails, and the down notification goes at once.
TEST_F(MonitorDaemonCliTest, AFlippedBitIsDownAtTheNextVerificationNamingTheFile) {
  const std::string replica = dir_.Join("replica");
  ASSERT_EQ(testing::WriteAndSyncOnce(dir_, db_, replica, 30, 1), "");
  ASSERT_EQ(testing::WriteAndSyncOnce(dir_, db_, replica, 10, 2), "");
  std::vector<std::string> files = testing::TxFilePaths(replica);
  ASSERT_FALSE(files.empty());
  std::sort(files.begin(), files.end());
  const std::string config = dir_.Join("monitor.yml");
  WriteFileOrDie(config,
                 fmt::format(R"(scratch-dir: {scratch}
replicas:
  - name: app
    path: {replica}
    max-age: 1h
    verify-interval: 3s
    push-url: {kuma}/api/push/{token}?status={{status}}&msg={{msg}}
)",
                             fmt::arg("scratch", dir_.path()), fmt::arg("replica", replica),
                             fmt::arg("kuma", kuma_.Url("")), fmt::arg("token", kAppToken)));
  monitor_ = cli_.Start({"monitor", "-config", config}, &monitor_log_);
  ASSERT_TRUE(WaitForText(monitor_log_, "msg=\"monitor verified\"", absl::Seconds(30)))
      << ReadFileOrEmpty(monitor_log_);
  const std::string app_path = std::string("/api/push/") + kAppToken;
  ASSERT_TRUE(WaitFor(app_path, "status=up", 1, absl::Seconds(10)));

  testing::FlipBit(files.back());
  ASSERT_TRUE(WaitFor(app_path, "status=down", 1, absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  EXPECT_THAT(RequestsTo(app_path).back().query, HasSubstr("msg=app%3A%20verification%20failed"));
  // {msg} holds at most 200 characters; the log has the whole reason, naming the file.
  const std::string log = ReadFileOrEmpty(monitor_log_);
  EXPECT_THAT(log, HasSubstr("msg=\"monitor verification failed\""));
  const std::string name = files.back().substr(files.back().rfind('/') + 1);
  EXPECT_THAT(log, HasSubstr(name.substr(0, name.find('.'))));
  ExpectNoTokenInLogs();
}

// SIGHUP reads monitor.yml again: an added replica is judged and served at once;
// a config with an error is logged, naming file, line and key, and the running
// one goes on.
TEST_F(MonitorDaemonCliTest, SighupLoadsTheConfigAgainAndABrokenOneLeavesTheRunningOne) {
  StartWriter();
  StartSidecar();
  StartMonitor(fmt::format("  - name: app\n    push-token: {}\n", kAppToken));
  ASSERT_TRUE(WaitFor(std::string("/api/push/") + kAppToken, "status=up", 1, absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  EXPECT_FALSE(WaitForMetrics("replica=\"ghost\"", absl::ZeroDuration()));
  std::string healthz;
  EXPECT_EQ(testing::HttpGet("http://" + addr_ + "/healthz", &healthz), 200) << healthz;
  healthz.clear();

  WriteMonitorConfig(
      fmt::format("  - name: app\n    push-token: {}\n  - name: ghost\n", kAppToken));
  monitor_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForText(monitor_log_, "msg=\"monitor reloaded\"", absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  EXPECT_TRUE(WaitForMetrics("litesync_monitor_replica_fresh{replica=\"ghost\"", absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  absl::Time end = absl::Now() + absl::Seconds(20);
  do {
    healthz.clear();
  } while (testing::HttpGet("http://" + addr_ + "/healthz", &healthz) == 503 &&
           healthz.find("ghost: empty: s3://") == std::string::npos && absl::Now() < end);
  EXPECT_THAT(healthz, HasSubstr("ghost: empty: s3://"));
  EXPECT_THAT(healthz, Not(HasSubstr("app"))) << "app kept its verdict over the reload";

  const std::string config = dir_.Join("monitor.yml");
  WriteFileOrDie(config, "replicas:\n  - name: app\n    path: /r/app\n    max-age: often\n");
  monitor_->Signal(SIGHUP);
  ASSERT_TRUE(
      WaitForText(monitor_log_, "reload failed; the running config goes on", absl::Seconds(20)))
      << ReadFileOrEmpty(monitor_log_);
  EXPECT_THAT(ReadFileOrEmpty(monitor_log_), HasSubstr(config + ":4: replicas[0].max-age"));
  EXPECT_TRUE(WaitForMetrics("litesync_monitor_replica_fresh{replica=\"ghost\"", absl::Seconds(5)))
      << "the running config is still served";
  EXPECT_TRUE(monitor_->Running());
  monitor_->Signal(SIGTERM);
  EXPECT_EQ(monitor_->Wait(absl::Seconds(30)), 0) << ReadFileOrEmpty(monitor_log_);
  ExpectNoTokenInLogs();
}

TEST_F(MonitorDaemonCliTest, AConfigErrorExitsTwoNamingFileLineAndKey) {
  std::string config = dir_.Join("monitor.yml");
  WriteFileOrDie(config, "replicas:\n  - name: app\n    path: /r/app\n    max-age: often\n");
  testing::CliResult r = cli_.Run({"monitor", "-config", config});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr(config + ":4: replicas[0].max-age: must be a duration"));
}

}  // namespace
}  // namespace litesync
