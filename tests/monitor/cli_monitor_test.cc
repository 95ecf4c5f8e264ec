// `litesync monitor -once` end to end: the replicating sidecar (`litesync
// replicate`) and the monitor are real processes, tests/test_writer plays the
// application, s3rver and the logging proxy stand in for object storage, and an
// HTTP server on loopback receives the monitor's ping.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/crypto/age_keys.h"
#include "tests/cmd/cli_util.h"
#include "tests/monitor/monitor_util.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3_server.h"
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

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kMaxAge = absl::Seconds(3);
constexpr char kMaxAgeFlag[] = "3s";

class CliMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET", "AWS_ACCESS_KEY_ID",
                          "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"}) {
      unsetenv(v);
    }
    db_ = dir_.Join("app.db");
    replica_ = dir_.Join("replica");
    config_ = dir_.Join("litesync.yml");
    ASSERT_EQ(testing::WriteTxns(db_, 10, 1, dir_.Join("writer-1.log")), "");
  }
  // Starts the sidecar on db_ with `replica_lines` as its replica block; returns
  // once the first sync reached the replica.
  std::unique_ptr<Process> StartSidecar(const std::string& replica_lines) {
    WriteFileOrDie(config_,
                   fmt::format("dbs:\n  - path: {}\n    replica:\n{}\n", db_, replica_lines));
    auto p = cli_.Start({"replicate", "-config", config_}, &sidecar_log_);
    EXPECT_TRUE(WaitForText(sidecar_log_, "msg=\"new lineage\"", kStartTimeout))
        << ReadFileOrEmpty(sidecar_log_);
    return p;
  }
  std::string FileReplicaLines(const std::string& extra = "") {
    return fmt::format("      path: {}\n      sync-interval: 100ms\n{}", replica_, extra);
  }
  CliResult Monitor(std::vector<std::string> args) {
    std::vector<std::string> all = {"monitor", "-once", "-max-age", kMaxAgeFlag};
    all.insert(all.end(), args.begin(), args.end());
    return cli_.Run(all);
  }
  // Runs `monitor -once` every 200 ms until it exits 1; the time that took from
  // `since` (or InfiniteDuration after `limit`), and the last output in *out.
  absl::Duration UntilNotFresh(absl::Time since, absl::Duration limit, std::string* out) {
    while (absl::Now() - since < limit) {
      CliResult r = Monitor({replica_});
      *out = r.output;
      if (r.code == 1) return absl::Now() - since;
      EXPECT_EQ(r.code, 0) << r.output;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return absl::InfiniteDuration();
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, replica_, config_, sidecar_log_;
};

TEST_F(CliMonitorTest, FreshWhileWritingThenStaleSoonAfterTheSidecarDies) {
  auto sidecar = StartSidecar(FileReplicaLines());
  Process writer({testing::WriterBin(), db_, "-duration", "60", "-rate", "20", "-seed", "2"},
                 dir_.Join("writer-2.log"));
  absl::SleepFor(absl::Seconds(1));
  CliResult fresh = Monitor({replica_});
  EXPECT_EQ(fresh.code, 0) << fresh.output;
  EXPECT_THAT(fresh.output, HasSubstr("fresh"));
  // Writing goes on; only the replica stops moving.
  const absl::Time killed = absl::Now();
  sidecar->Signal(SIGKILL);
  sidecar->Wait(absl::Seconds(10));
  std::string out;
  absl::Duration took = UntilNotFresh(killed, kMaxAge + absl::Seconds(10), &out);
  EXPECT_LE(took, kMaxAge + absl::Seconds(2)) << out;  // max-age + one check, with slack
  EXPECT_THAT(out, HasSubstr("no-liveness-record"));
  EXPECT_THAT(out, HasSubstr(replica_));
  writer.Signal(SIGKILL);
}

TEST_F(CliMonitorTest, AnIdleDatabaseWithoutLivenessIsReportedAsSuch) {
  auto sidecar = StartSidecar(FileReplicaLines());
  absl::SleepFor(kMaxAge + absl::Seconds(1));
  CliResult r = Monitor({replica_});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no-liveness-record"));
  EXPECT_THAT(r.output, HasSubstr("liveness-interval"));
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(sidecar_log_);
}

TEST_F(CliMonitorTest, AnIdleDatabaseWithLivenessStaysFreshUntilTheSidecarDies) {
  auto sidecar = StartSidecar(FileReplicaLines("      liveness-interval: 1s\n"));
  absl::SleepFor(kMaxAge + absl::Seconds(2));  // no write since the first sync
  CliResult r = Monitor({"-json", replica_});
  ASSERT_EQ(r.code, 0) << r.output << ReadFileOrEmpty(sidecar_log_);
  nlohmann::json j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_TRUE(j["replicas"][0]["liveness"]["confirmed"].get<bool>()) << r.output;
  const absl::Time killed = absl::Now();
  sidecar->Signal(SIGKILL);
  sidecar->Wait(absl::Seconds(10));
  std::string out;
  absl::Duration took = UntilNotFresh(killed, kMaxAge + absl::Seconds(10), &out);
  // The last record is at most liveness-interval (+ a sync interval) older than the death.
  EXPECT_LE(took, kMaxAge + absl::Seconds(2)) << out;
  EXPECT_THAT(out, HasSubstr("stale"));
  EXPECT_THAT(out, HasSubstr("liveness record"));
}

TEST_F(CliMonitorTest, SendsOnlyReadRequestsAFewPerReplica) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::FaultProxy proxy(s3.port());
  setenv("AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey, 1);
  auto sidecar = StartSidecar(fmt::format(
      "      url: s3://{}/app\n      endpoint: {}\n      access-key-id: {}\n"
      "      secret-access-key: {}\n      sync-interval: 100ms\n      liveness-interval: 1s\n",
      s3.bucket(), s3.endpoint(), testing::S3Server::kAccessKeyId,
      testing::S3Server::kSecretAccessKey));
  absl::SleepFor(absl::Seconds(2));  // the liveness record is written
  const std::string url =
      fmt::format("s3://{}/app?endpoint={}&force-path-style=true", s3.bucket(), proxy.endpoint());
  // Freshness is not the point here (a long max-age keeps a loaded machine out of it).
  CliResult check = cli_.Run({"monitor", "-once", "-max-age", "5m", "-json", url});
  ASSERT_EQ(check.code, 0) << check.output;
  std::vector<std::string> lines = proxy.request_lines();
  for (const std::string& line : lines) {
    EXPECT_TRUE(line.rfind("GET ", 0) == 0 || line.rfind("HEAD ", 0) == 0)
        << "the monitor sent " << line;
  }
  nlohmann::json j = nlohmann::json::parse(check.output.substr(check.output.find('{')));
  int reported = 0;
  for (auto& [op, n] : j["replicas"][0]["requests"].items()) reported += n.get<int>();
  EXPECT_EQ(static_cast<size_t>(reported), lines.size()) << check.output;
  EXPECT_LE(lines.size(), 6u) << "requests per check: " << ::testing::PrintToString(lines);
  std::printf("monitor -once: %zu requests per check of one replica\n", lines.size());

  const size_t before = proxy.request_lines().size();
  CliResult verify = cli_.Run({"monitor", "-once", "-max-age", "5m", "-verify", url});
  EXPECT_EQ(verify.code, 0) << verify.output;
  lines = proxy.request_lines();
  for (size_t i = before; i < lines.size(); ++i) {
    EXPECT_TRUE(lines[i].rfind("GET ", 0) == 0 || lines[i].rfind("HEAD ", 0) == 0)
        << "the monitor's verification sent " << lines[i];
  }
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(sidecar_log_);
}

// What liveness-interval costs an idle database: one PUT of the record per
// interval, and nothing else but the reach GETs (no LIST, no other PUT).
TEST_F(CliMonitorTest, LivenessCostsAnIdleDatabaseOnePutPerInterval) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::FaultProxy proxy(s3.port());
  auto sidecar = StartSidecar(fmt::format(
      "      url: s3://{}/app\n      endpoint: {}\n      access-key-id: {}\n"
      "      secret-access-key: {}\n      sync-interval: 100ms\n      liveness-interval: 2s\n",
      s3.bucket(), proxy.endpoint(), testing::S3Server::kAccessKeyId,
      testing::S3Server::kSecretAccessKey));
  absl::SleepFor(absl::Seconds(3));  // the first sync, start-up maintenance
  const size_t from = proxy.request_lines().size();
  absl::SleepFor(absl::Seconds(10));
  std::vector<std::string> lines = proxy.request_lines();
  int puts = 0;
  for (size_t i = from; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    EXPECT_EQ(line.find("list-type"), std::string::npos) << "an idle database listed: " << line;
    if (line.rfind("PUT ", 0) != 0) continue;
    EXPECT_TRUE(line.ends_with("/app/liveness")) << "an idle database wrote " << line;
    puts++;
  }
  EXPECT_GE(puts, 4) << "liveness-interval 2s over 10 s";
  EXPECT_LE(puts, 6) << "liveness-interval 2s over 10 s";
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(sidecar_log_);
}

// The sidecar wrote a replica and stopped cleanly (liveness on: its record names
// the newest file); then the replica is damaged behind its back.
TEST_F(CliMonitorTest, VerificationNamesAFlippedBitAndADeletedNewestFile) {
  auto sidecar = StartSidecar(FileReplicaLines("      liveness-interval: 1s\n"));
  ASSERT_EQ(testing::WriteTxns(db_, 20, 2, dir_.Join("writer-2.log")), "");
  absl::SleepFor(absl::Seconds(2));  // shipped, and the liveness record names it
  sidecar->Signal(SIGTERM);
  ASSERT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(sidecar_log_);
  CliResult good = cli_.Run({"monitor", "-once", "-max-age", "5m", "-verify", replica_});
  ASSERT_EQ(good.code, 0) << good.output;
  std::vector<std::string> files = testing::TxFilePaths(replica_);
  ASSERT_GE(files.size(), 2u);
  // The newest file: the highest max TXID (names sort by min TXID within a level).
  std::string newest = files[0];
  for (const std::string& f : files) {
    auto max_of = [](const std::string& p) { return p.substr(p.size() - 37, 16); };
    if (max_of(f) > max_of(newest)) newest = f;
  }
  const std::string name = newest.substr(newest.rfind('/') + 1);
  const std::string kept = dir_.Join("kept.ltx");
  WriteFileOrDie(kept, testing::ReadFileOrDie(newest));
  testing::FlipBit(newest);
  CliResult flipped = cli_.Run({"monitor", "-once", "-max-age", "5m", "-verify", replica_});
  EXPECT_EQ(flipped.code, 1) << flipped.output;
  EXPECT_THAT(flipped.output, HasSubstr("verify-failed"));
  EXPECT_THAT(flipped.output, HasSubstr(name));
  ASSERT_EQ(::unlink(newest.c_str()), 0);
  CliResult deleted = cli_.Run({"monitor", "-once", "-max-age", "5m", "-verify", replica_});
  EXPECT_EQ(deleted.code, 1) << deleted.output;
  EXPECT_THAT(deleted.output, HasSubstr(name));
}

TEST_F(CliMonitorTest, AnEncryptedReplicaIsJudgedWithoutAnIdentityAndVerifiedWithOne) {
  AgeIdentity key = AgeIdentity::Generate();
  const std::string key_file = dir_.Join("key.txt");
  WriteFileOrDie(key_file, key.Reveal() + "\n");
  auto sidecar = StartSidecar(FileReplicaLines(
      fmt::format("      age:\n        recipients: [{}]\n", key.recipient().ToString())));
  CliResult plain = Monitor({replica_});
  EXPECT_EQ(plain.code, 0) << plain.output;
  CliResult no_identity = Monitor({"-verify", replica_});
  EXPECT_EQ(no_identity.code, 1) << no_identity.output;
  EXPECT_THAT(no_identity.output, HasSubstr("verify-impossible"));
  EXPECT_THAT(no_identity.output, HasSubstr("-age-identity-file"));
  CliResult with_identity = Monitor({"-verify", "-age-identity-file", key_file, replica_});
  EXPECT_EQ(with_identity.code, 0) << with_identity.output;
  EXPECT_THAT(with_identity.output, HasSubstr("verified"));
  EXPECT_THAT(with_identity.output, Not(HasSubstr(key.Reveal().substr(16))));
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(sidecar_log_);
}

TEST_F(CliMonitorTest, PingsOnlyWhenEveryReplicaIsFreshAndNeverShowsTheToken) {
  testing::HttpServer receiver;
  const std::string token = "tok-3f9a2c7d41";
  const std::string url = receiver.Url("/api/push/" + token + "?status={status}&msg={msg}");
  auto sidecar = StartSidecar(FileReplicaLines());
  const std::string missing = dir_.Join("never-written");
  CliResult one_bad = Monitor({"-url", url, replica_, missing});
  EXPECT_EQ(one_bad.code, 1) << one_bad.output;
  EXPECT_THAT(one_bad.output, HasSubstr(missing));
  EXPECT_EQ(receiver.RequestCount(), 0u);
  CliResult good = Monitor({"-url", url, replica_});
  EXPECT_EQ(good.code, 0) << good.output;
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_EQ(receiver.Requests()[0].path, "/api/push/" + token);
  EXPECT_THAT(receiver.Requests()[0].query, HasSubstr("status=up"));
  EXPECT_THAT(one_bad.output + good.output, Not(HasSubstr(token)));
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(sidecar_log_);
}

TEST_F(CliMonitorTest, UsageErrorsExitTwo) {
  EXPECT_EQ(cli_.Run({"monitor", replica_}).code, 2);  // no -once
  EXPECT_EQ(cli_.Run({"monitor", "-once"}).code, 2);   // no replica
  CliResult age = cli_.Run({"monitor", "-once", "-max-age", "soon", replica_});
  EXPECT_EQ(age.code, 2);
  EXPECT_THAT(age.output, HasSubstr("-max-age"));
  CliResult url = cli_.Run({"monitor", "-once", "-url", "ftp://x/y", replica_});
  EXPECT_EQ(url.code, 2);
  EXPECT_THAT(url.output, HasSubstr("-url"));
}

}  // namespace
}  // namespace litesync
