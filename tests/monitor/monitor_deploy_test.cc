// The monitor's files in etc/ pass their tools and say what the README promises:
// the annotated monitor.yml parses, the systemd pair verifies, the CronJob and the
// compose file run the monitor read-only with a writable scratch directory, and
// the IAM policy grants s3:ListBucket and s3:GetObject and nothing else.
#include <stdlib.h>

#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cmd/monitor_config.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WriteFileOrDie;

constexpr char kSystemdAnalyze[] = "/usr/bin/systemd-analyze";

std::string SourceFile(const std::string& relative) {
  return std::string(LITESYNC_SOURCE_DIR) + "/" + relative;
}

TEST(MonitorDeployTest, TheAnnotatedMonitorConfigParses) {
  for (const char* v : {"MONITOR_AWS_ACCESS_KEY_ID", "MONITOR_AWS_SECRET_ACCESS_KEY",
                        "KUMA_TOKEN_APP", "KUMA_TOKEN_BILLING", "HC_UUID_FILES", "HC_UUID_ALL"}) {
    setenv(v, "x-example-value", 1);
  }
  absl::StatusOr<MonitorConfig> c = LoadMonitorConfig(SourceFile("etc/monitor.yml"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->replicas.size(), 3u);
  EXPECT_EQ(c->replicas[0].replica.settings<S3Settings>().bucket, "my-bucket");
  EXPECT_EQ(c->replicas[0].replica.settings<S3Settings>().prefix, "app");
  EXPECT_EQ(c->replicas[1].max_age, absl::Hours(1));
  EXPECT_EQ(c->targets.size(), 4u);  // app, billing, files, and the aggregate
}

// `systemd-analyze verify` of the service (ExecStart pointed at this build's
// binary) with its timer, and no warning about either.
TEST(MonitorDeployTest, SystemdAnalyzeVerifiesTheServiceAndTimer) {
  if (!testing::FileExists(kSystemdAnalyze)) {
    GTEST_SKIP() << "install Debian's systemd (bash .ci/deps)";
  }
  TempDir dir;
  std::string unit = ReadFileOrEmpty(SourceFile("etc/litesync-monitor.service"));
  const std::string from = "\nExecStart=/usr/local/bin/litesync ";  // not the comments'
  size_t at = unit.find(from);
  ASSERT_NE(at, std::string::npos) << unit;
  unit.replace(at, from.size(), "\nExecStart=" + testing::LitesyncBin() + " ");
  EXPECT_THAT(unit, HasSubstr(" monitor -once "));
  // EnvironmentFile= must exist for verify; the real one holds the credentials.
  const std::string env_from = "EnvironmentFile=/etc/default/litesync-monitor";
  at = unit.find(env_from);
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, env_from.size(), "EnvironmentFile=" + dir.Join("env"));
  WriteFileOrDie(dir.Join("env"), "MONITOR_PING_URL=https://hc-ping.com/x\n");
  WriteFileOrDie(dir.Join("litesync-monitor.service"), unit);
  WriteFileOrDie(dir.Join("litesync-monitor.timer"),
                 ReadFileOrEmpty(SourceFile("etc/litesync-monitor.timer")));
  std::string log = dir.Join("verify.log");
  int code = testing::RunProcess({kSystemdAnalyze, "verify", dir.Join("litesync-monitor.service"),
                                  dir.Join("litesync-monitor.timer")},
                                 absl::Seconds(60), log);
  std::string out = ReadFileOrEmpty(log);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr("litesync-monitor"))) << out;
}

TEST(MonitorDeployTest, TheCronJobRunsOnceReadOnlyWithAScratchVolume) {
  YAML::Node job = YAML::LoadFile(SourceFile("etc/monitor-cronjob.yaml"));
  EXPECT_EQ(job["kind"].as<std::string>(), "CronJob");
  EXPECT_EQ(job["spec"]["concurrencyPolicy"].as<std::string>(), "Forbid");
  YAML::Node pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  ASSERT_TRUE(pod["containers"].IsSequence());
  YAML::Node c = pod["containers"][0];
  std::vector<std::string> args = c["args"].as<std::vector<std::string>>();
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[0], "monitor");
  EXPECT_EQ(args[1], "-once");
  EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  std::string scratch;
  for (const YAML::Node& e : c["env"]) {
    if (e["name"].as<std::string>() == "TMPDIR") scratch = e["value"].as<std::string>();
  }
  ASSERT_FALSE(scratch.empty());
  bool mounted = false;
  for (const YAML::Node& m : c["volumeMounts"]) {
    mounted = mounted || m["mountPath"].as<std::string>() == scratch;
  }
  EXPECT_TRUE(mounted) << "no volume at TMPDIR " << scratch;
  EXPECT_TRUE(c["envFrom"][0]["secretRef"]) << "credentials come from a Secret";
}

TEST(MonitorDeployTest, TheComposeExampleRunsTheDaemonReadOnly) {
  YAML::Node compose = YAML::LoadFile(SourceFile("etc/monitor-compose.yml"));
  YAML::Node m = compose["services"]["monitor"];
  std::vector<std::string> command = m["command"].as<std::vector<std::string>>();
  ASSERT_EQ(command.size(), 3u);
  EXPECT_EQ(command[0], "monitor");
  EXPECT_EQ(command[1], "-config");
  EXPECT_TRUE(m["read_only"].as<bool>());
  EXPECT_THAT(m["tmpfs"][0].as<std::string>(), HasSubstr("/tmp"));
}

TEST(MonitorDeployTest, TheIamPolicyGrantsListBucketAndGetObjectOnly) {
  nlohmann::json policy =
      nlohmann::json::parse(ReadFileOrEmpty(SourceFile("etc/monitor-iam-policy.json")));
  std::set<std::string> actions;
  for (const nlohmann::json& s : policy["Statement"]) {
    EXPECT_EQ(s["Effect"], "Allow");
    for (const nlohmann::json& a : s["Action"]) actions.insert(a.get<std::string>());
  }
  EXPECT_EQ(actions, (std::set<std::string>{"s3:GetObject", "s3:ListBucket"}));
}

}  // namespace
}  // namespace litesync
