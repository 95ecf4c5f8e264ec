// Deployment as shipped: a real daemon's /metrics passes `promtool check metrics`
// with the heartbeat URLs of the common monitors, and their secret parts appear in
// no log line, status table, JSON or metric; the files in etc/ pass their tools.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cmd/restore_progress.h"
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
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);
constexpr char kPromtool[] = "/usr/bin/promtool";  // Debian's prometheus package (.ci/deps)
constexpr char kSystemdAnalyze[] = "/usr/bin/systemd-analyze";
constexpr uid_t kNobody = 65534;

std::string SourceFile(const std::string& relative) {
  return std::string(LITESYNC_SOURCE_DIR) + "/" + relative;
}

// The secret parts of the heartbeat URLs below.
constexpr char kHcUuid[] = "5b1f0e66-7d7c-4d6e-9a1b-3c2d4e5f6a7b";
constexpr char kPingKey[] = "pK3yq9Zr";
constexpr char kKumaToken[] = "kUmA7oken42";
constexpr char kBetterStackToken[] = "bS7ok3nXyZ";

// `promtool ARGS... [< stdin_file]` (bounded); its exit code, output in *out.
int Promtool(const TempDir& dir, const std::vector<std::string>& args, std::string* out,
             const std::string& stdin_file = "/dev/null") {
  std::string log = dir.Join("promtool.log");
  // `promtool check metrics` reads the exposition from stdin only.
  std::vector<std::string> argv = {"/bin/sh", "-c",       "f=$1; shift; exec \"$@\" < \"$f\"",
                                   "sh",      stdin_file, kPromtool};
  argv.insert(argv.end(), args.begin(), args.end());
  int code = testing::RunProcess(argv, absl::Seconds(60), log);
  *out = ReadFileOrEmpty(log);
  return code;
}

class CliDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET", "RUNTIME_DIRECTORY",
                          "XDG_RUNTIME_DIR", "FAIL_TOKEN"}) {
      unsetenv(v);
    }
    db_ = dir_.Join("app.db");
    config_ = dir_.Join("litesync.yml");
  }
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, config_;
};

// Issue: masking searched the finished output for every path segment of the
// heartbeat URLs, so a slug "litesync" made every metric `****_sync_total`, a
// fail-url token "fail" made "failed" `****ed`, and the socket `.****.yml.sock`.
TEST_F(CliDeployTest, MetricsPassPromtoolAndNoOutputCarriesAHeartbeatSecret) {
  ASSERT_TRUE(testing::FileExists(kPromtool)) << "install Debian's prometheus (bash .ci/deps)";
  testing::HttpServer monitor;
  Write(5, 1);
  // ${FAIL_TOKEN} is "fail": a token that is also a word of the output.
  setenv("FAIL_TOKEN", "fail", 1);
  WriteFileOrDie(
      config_,
      testing::OneDbConfig(
          db_, dir_.Join("replica"),
          fmt::format(R"(addr: 127.0.0.1:0
heartbeat-url: {}
heartbeat-interval: 1m
heartbeats:
  - url: {}
    fail-url: {}
  - url: {}
  - url: {}
)",
                      monitor.Url(fmt::format("/{}", kHcUuid)),
                      monitor.Url(fmt::format("/{}/litesync", kPingKey)),
                      monitor.Url("/fail/${FAIL_TOKEN}"),
                      monitor.Url(fmt::format(
                          "/api/push/{}?status={{status}}&msg={{msg}}&ping={{ping}}", kKumaToken)),
                      monitor.Url(fmt::format("/api/v1/heartbeat/{}", kBetterStackToken)))));
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(log);
  // The first check comes one check period (15s) after start; one ping per target.
  EXPECT_TRUE(monitor.WaitForRequests(4, absl::Seconds(45))) << ReadFileOrEmpty(log);

  std::smatch m;
  std::string text = ReadFileOrEmpty(log);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("addr=(127\\.0\\.0\\.1:[0-9]+)"))) << text;
  const std::string addr = m[1];
  std::string metrics, status_json;
  ASSERT_EQ(testing::HttpGet("http://" + addr + "/metrics", &metrics), 200);
  ASSERT_EQ(testing::HttpGet("http://" + addr + "/status", &status_json), 200);
  CliResult table = cli_.Run({"status", "-config", config_});
  CliResult json = cli_.Run({"status", "-json", "-config", config_});
  CliResult hb = cli_.Run({"heartbeat", "-config", config_});
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  unsetenv("FAIL_TOKEN");

  std::string file = dir_.Join("metrics.txt");
  WriteFileOrDie(file, metrics);
  std::string out;
  EXPECT_EQ(Promtool(dir_, {"check", "metrics"}, &out, file), 0) << out << "\n" << metrics;
  EXPECT_THAT(metrics, HasSubstr("# HELP litesync_heartbeat_pings_failed_total"));
  EXPECT_THAT(metrics, HasSubstr("litesync_sync_total"));
  EXPECT_THAT(metrics, HasSubstr("/api/push/****?status="));
  EXPECT_THAT(table.output, HasSubstr(dir_.Join(".litesync.yml.sock")));

  const std::string outputs[] = {ReadFileOrEmpty(log), metrics,     status_json,
                                 table.output,         json.output, hb.output};
  for (const std::string& o : outputs) {
    for (const char* secret : {kHcUuid, kPingKey, kKumaToken, kBetterStackToken}) {
      EXPECT_THAT(o, Not(HasSubstr(secret))) << o;
    }
    EXPECT_THAT(o, Not(HasSubstr("/fail/fail"))) << o;
    EXPECT_THAT(o, Not(HasSubstr("****ed"))) << o;
    EXPECT_THAT(o, Not(HasSubstr("****_"))) << o;
  }
}

// The sidecar had readOnlyRootFilesystem and no writable /tmp, so an S3
// download over the memory limit failed hours later. Every container running
// litesync with a read-only root mounts a volume at the scratch directory.
TEST_F(CliDeployTest, KubernetesContainersWithAReadOnlyRootMountTheScratchDirectory) {
  int checked = 0;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(SourceFile("etc/kubernetes.yaml"))) {
    if (doc["kind"].as<std::string>("") != "Pod") continue;
    std::vector<std::string> empty_dirs;
    for (const YAML::Node& v : doc["spec"]["volumes"]) {
      if (v["emptyDir"]) empty_dirs.push_back(v["name"].as<std::string>());
    }
    for (const char* list : {"initContainers", "containers"}) {
      for (const YAML::Node& c : doc["spec"][list]) {
        if (c["image"].as<std::string>().rfind("litesync", 0) != 0) continue;
        if (!c["securityContext"] || !c["securityContext"]["readOnlyRootFilesystem"] ||
            !c["securityContext"]["readOnlyRootFilesystem"].as<bool>()) {
          continue;
        }
        std::string scratch = "/tmp";
        for (const YAML::Node& e : c["env"]) {
          if (e["name"].as<std::string>() == "TMPDIR") scratch = e["value"].as<std::string>();
        }
        bool mounted = false;
        for (const YAML::Node& m : c["volumeMounts"]) {
          mounted = mounted || (m["mountPath"].as<std::string>() == scratch &&
                                std::find(empty_dirs.begin(), empty_dirs.end(),
                                          m["name"].as<std::string>()) != empty_dirs.end());
        }
        EXPECT_TRUE(mounted) << c["name"].as<std::string>() << ": no emptyDir at " << scratch;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 1);
}

// The scratch directory is checked at start-up, with an error naming it.
TEST_F(CliDeployTest, AnUnwritableScratchDirectoryIsAStartUpErrorNamingIt) {
  Write(3, 9);
  const std::string scratch = dir_.Join("no-such-scratch");
  const std::string s3 = "s3://bkt/app?endpoint=http://127.0.0.1:1&region=us-east-1";
  setenv("TMPDIR", scratch.c_str(), 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI", 1);
  CliResult replicate = cli_.Run({"replicate", db_, s3}, absl::Seconds(30));
  CliResult restore = cli_.Run({"restore", "-o", dir_.Join("out.db"), s3}, absl::Seconds(30));
  unsetenv("TMPDIR");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  for (const CliResult& r : {replicate, restore}) {
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("scratch directory " + scratch));
    EXPECT_THAT(r.output, HasSubstr("point TMPDIR at a writable directory"));
  }
}

TEST_F(CliDeployTest, PromtoolAcceptsTheAlertRules) {
  ASSERT_TRUE(testing::FileExists(kPromtool)) << "install Debian's prometheus (bash .ci/deps)";
  std::string out;
  EXPECT_EQ(Promtool(dir_, {"check", "rules", SourceFile("etc/prometheus-alerts.yml")}, &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("SUCCESS"));
}

// The shipped unit, with ExecStart pointed at this build's binary, passes
// `systemd-analyze verify` (which also checks that ExecStart is executable) with
// no warning at all.
TEST_F(CliDeployTest, SystemdAnalyzeVerifiesTheUnit) {
  ASSERT_TRUE(testing::FileExists(kSystemdAnalyze)) << "install Debian's systemd (bash .ci/deps)";
  std::string unit = ReadFileOrEmpty(SourceFile("etc/litesync.service"));
  const std::string from = "ExecStart=/usr/local/bin/litesync ";
  size_t at = unit.find(from);
  ASSERT_NE(at, std::string::npos) << unit;
  unit.replace(at, from.size(), "ExecStart=" + testing::LitesyncBin() + " ");
  EXPECT_THAT(unit, HasSubstr("RuntimeDirectory=litesync"));
  std::string path = dir_.Join("litesync.service");
  WriteFileOrDie(path, unit);
  std::string log = dir_.Join("verify.log");
  int code = testing::RunProcess({kSystemdAnalyze, "verify", path}, absl::Seconds(60), log);
  std::string out = ReadFileOrEmpty(log);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr("litesync.service"))) << out;  // no warning about our unit
}

// As an unprivileged service (User=, ProtectSystem=strict) litesync could
// not create its socket beside a config in /etc and exited 1 in a restart loop.
class CliUnprivilegedTest : public CliDeployTest {
 protected:
  void SetUp() override {
    CliDeployTest::SetUp();
    // The config in a root-owned directory nobody may write; the data is nobody's.
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    etc_ = dir_.Join("etc");
    data_ = dir_.Join("data");
    run_ = dir_.Join("run");
    std::filesystem::create_directories(etc_);
    std::filesystem::create_directories(data_);
    std::filesystem::create_directories(run_);
    ASSERT_EQ(::chmod(etc_.c_str(), 0755), 0);
    db_ = data_ + "/app.db";
    Write(5, 7);
    for (const auto& e : std::filesystem::recursive_directory_iterator(data_)) {
      ASSERT_EQ(::chown(e.path().c_str(), kNobody, kNobody), 0);
    }
    ASSERT_EQ(::chown(data_.c_str(), kNobody, kNobody), 0);
    ASSERT_EQ(::chown(run_.c_str(), kNobody, kNobody), 0);
    config_ = etc_ + "/litesync.yml";
    WriteFileOrDie(config_, testing::OneDbConfig(db_, data_ + "/replica"));
    ASSERT_EQ(::chmod(config_.c_str(), 0644), 0);
  }
  std::vector<std::string> AsNobody(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                     "--clear-groups", testing::LitesyncBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  void TearDown() override { unsetenv("RUNTIME_DIRECTORY"); }

  std::string etc_, data_, run_;
};

TEST_F(CliUnprivilegedTest, ASocketThatCannotBeCreatedIsAWarningAndReplicationGoesOn) {
  std::string log = dir_.Join("replicate.log");
  Process p(AsNobody({"replicate", "-config", config_}), log);
  ASSERT_TRUE(WaitForText(log, "msg=replicating", kStartTimeout)) << ReadFileOrEmpty(log);
  EXPECT_TRUE(WaitForText(log, "msg=\"new lineage\"", kStartTimeout)) << ReadFileOrEmpty(log);
  EXPECT_TRUE(p.Running()) << ReadFileOrEmpty(log);
  std::string text = ReadFileOrEmpty(log);
  EXPECT_THAT(text,
              HasSubstr("level=WARN msg=\"control socket unavailable; replicating without it\""));
  EXPECT_THAT(text, HasSubstr(etc_ + "/.litesync.yml.sock"));
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  std::string out = dir_.Join("restored.db");
  CliResult r = cli_.Run({"restore", "-o", out, data_ + "/replica"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db_));
}

TEST_F(CliUnprivilegedTest, TheSocketGoesToTheRuntimeDirectoryAndStatusFindsIt) {
  setenv("RUNTIME_DIRECTORY", run_.c_str(), 1);  // as systemd's RuntimeDirectory= sets it
  std::string log = dir_.Join("replicate.log");
  Process p(AsNobody({"replicate", "-config", config_}), log);
  ASSERT_TRUE(WaitForText(log, "msg=\"control endpoint listening\"", kStartTimeout))
      << ReadFileOrEmpty(log);
  const std::string socket = run_ + "/litesync.yml.sock";
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("socket=" + socket));
  EXPECT_THAT(ReadFileOrEmpty(log), Not(HasSubstr("level=WARN")));
  // Healthy once the first sync is done; `status` with the service's environment
  // asks the daemon there.
  absl::Time deadline = absl::Now() + kStartTimeout;
  CliResult status;
  do {
    status = cli_.RunWith({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"},
                          {"status", "-config", config_});
  } while (status.code != 0 && absl::Now() < deadline);
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("daemon running (socket " + socket + ")"));
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  EXPECT_FALSE(testing::FileExists(socket));
}

TEST(RestoreProgressTest, TheLineSaysDoneTotalRateTimeLeftAndTheFileFetched) {
  RestoreProgress p;
  p.files_done = 2;
  p.files_total = 8;
  p.bytes_done = 2 << 20;
  p.bytes_total = 8 << 20;
  p.fetching = "s3://bkt/app/0000000000000003-0000000000000003.ltx";
  std::string line = FormatRestoreProgress(p, absl::Seconds(2), 0);
  EXPECT_EQ(line,
            "restore: 2/8 files, 2.0 MiB of 8.0 MiB, 1.0 MiB/s, 6s left, fetching "
            "s3://bkt/app/0000000000000003-0000000000000003.ltx");
  EXPECT_EQ(FormatRestoreProgress(p, absl::Seconds(2), 40).size(), 39u);  // never wraps
  p.bytes_total = 0;  // a size unknown: by files
  EXPECT_THAT(FormatRestoreProgress(p, absl::Seconds(2), 0),
              ::testing::StartsWith("restore: 2/8 files, 1.0 files/s, 6s left, fetching "));
}

// On a terminal a slow restore shows one progress line, with the S3
// object being fetched; with stderr not a terminal, nothing of it.
TEST_F(CliDeployTest, ASlowRestoreShowsProgressOnATerminalOnly) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.running());
  testing::FaultProxy proxy(s3.port());
  setenv("AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey, 1);
  const std::string url = fmt::format("s3://{}/app?endpoint={}", s3.bucket(), proxy.endpoint());
  Write(20, 11);
  std::string log;
  auto p = cli_.Start({"replicate", db_, url}, &log);
  // The snapshot is in the replica ("replicating" comes before the first step).
  ASSERT_TRUE(WaitForText(log, "msg=\"new lineage\"", kStartTimeout)) << ReadFileOrEmpty(log);
  Write(20, 12);  // shipped as a second file by the final sync at the latest
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);

  // A throttled replica: every request waits 1.1s, so fetching the second file
  // starts after the quiet first second.
  proxy.set_stall_time(absl::Milliseconds(1100));
  proxy.SetMode(testing::Fault::kDelay);
  const std::string tty_out = dir_.Join("tty.db");
  std::string command = fmt::format("stty cols 250 rows 40; {} restore -parallelism 1 -o {} '{}'",
                                    testing::LitesyncBin(), tty_out, url);
  std::string tty_log = dir_.Join("script.log");
  int code = testing::RunProcess({"/usr/bin/script", "-qfec", command, "/dev/null"},
                                 absl::Seconds(120), tty_log);
  std::string on_tty = ReadFileOrEmpty(tty_log);
  EXPECT_EQ(code, 0) << on_tty;
  EXPECT_THAT(on_tty, HasSubstr("\r\033[Krestore: 1/"));
  EXPECT_THAT(on_tty, HasSubstr("/s, "));
  EXPECT_THAT(on_tty, HasSubstr(" left, fetching s3://" + s3.bucket() + "/app/"));
  // Erased before the result is logged: no log line starts on the progress line.
  EXPECT_THAT(on_tty, Not(::testing::ContainsRegex("left[^\r\n]*ts=")));

  CliResult piped = cli_.Run({"restore", "-parallelism", "1", "-o", dir_.Join("piped.db"), url},
                             absl::Seconds(120));
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(piped.code, 0) << piped.output;
  EXPECT_THAT(piped.output, Not(HasSubstr("restore: 1/")));
  EXPECT_THAT(piped.output, Not(HasSubstr("\r")));
  EXPECT_EQ(*testing::DumpContent(tty_out), *testing::DumpContent(db_));
}

}  // namespace
}  // namespace litesync
