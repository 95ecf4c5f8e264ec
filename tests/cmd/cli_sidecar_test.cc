// litesync as a sidecar, end to end: `replicate -exec` (exit status,
// forwarded signals, the final sync after the application's last write), SIGHUP
// config reload, dirs: rescans, the restore-on-start cycle, and the etc/ files.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::DumpContent;
using ::testing::HasSubstr;
using testing::IntegrityCheck;
using testing::OneDbConfig;
using testing::Process;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(60);

class CliSidecarTest : public testing::CliDbTest {
 protected:
  std::string WriterCommand(const std::string& db, int txns, int seed) {
    return fmt::format("{} {} -txns {} -seed {}", testing::WriterBin(), db, txns, seed);
  }
  void Write(const std::string& db, int txns, int seed) {
    int code = testing::RunProcess(
        {testing::WriterBin(), db, "-txns", std::to_string(txns), "-seed", std::to_string(seed)},
        absl::Seconds(60), dir_.Join("writer.log"));
    ASSERT_EQ(code, 0) << ReadFileOrEmpty(dir_.Join("writer.log"));
  }
  std::unique_ptr<Process> StartReplicate(std::string* log, std::string_view ready) {
    auto p = cli_.Start({"replicate", "-config", config_}, log);
    EXPECT_TRUE(WaitForText(*log, ready, kStartTimeout)) << ReadFileOrEmpty(*log);
    return p;
  }
  void Stop(Process* p, const std::string& log) {
    p->Signal(SIGTERM);
    ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  }
  // Restores `db` from the config's replica and compares it with the database.
  void ExpectRestoresTo(const std::string& db) {
    std::string out = dir_.Join(fmt::format("restored-{}.db", ++restores_));
    CliResult r = cli_.Run({"restore", "-config", config_, "-o", out, db});
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(IntegrityCheck(out), "ok");
    absl::StatusOr<std::string> want = DumpContent(db);
    absl::StatusOr<std::string> got = DumpContent(out);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want);
  }
  std::string TwoDbConfig(const std::string& db2) {
    return fmt::format(
        "dbs:\n  - path: {}\n    replica:\n      path: {}\n"
        "  - path: {}\n    replica:\n      path: {}\n",
        db_, replica_, db2, dir_.Join("replica2"));
  }

  int restores_ = 0;
};

TEST_F(CliSidecarTest, ExecExitsWithTheApplicationsExitCode) {
  Write(db_, 3, 1);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  CliResult r = cli_.Run({"replicate", "-config", config_, "-exec", "sh -c 'exit 3'"});
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("msg=\"application exited\""));
  EXPECT_THAT(r.output, HasSubstr("final_sync=ok"));
}

TEST_F(CliSidecarTest, ExecReportsAnApplicationKilledBySignalAs128PlusN) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  CliResult r = cli_.Run({"replicate", "-config", config_, "-exec", "kill -KILL $$"});
  EXPECT_EQ(r.code, 128 + SIGKILL) << r.output;
}

TEST_F(CliSidecarTest, ExecForwardsSigtermToTheApplication) {
  Write(db_, 3, 2);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string got = dir_.Join("got-term"), ready = dir_.Join("ready");
  std::string script = fmt::format(
      "trap 'echo term > {}; exit 0' TERM; echo ok > {}; while :; do sleep 0.05; done", got, ready);
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_, "-exec", script}, &log);
  ASSERT_TRUE(WaitForText(ready, "ok", kStartTimeout)) << ReadFileOrEmpty(log);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(kStopTimeout), 0) << ReadFileOrEmpty(log);
  EXPECT_EQ(ReadFileOrEmpty(got), "term\n");
  std::string output = ReadFileOrEmpty(log);
  EXPECT_THAT(output, HasSubstr("msg=\"forwarding signal to the application\" signal=SIGTERM"));
  // The final sync comes after the application is gone.
  EXPECT_LT(output.find("msg=\"application exited\""), output.find("msg=\"litesync stopped\""));
}

// sync-interval is far longer than the test: the rows reach the replica only
// through the final sync made after the application's exit.
TEST_F(CliSidecarTest, ExecFinalSyncShipsTheApplicationsLastWrites) {
  Write(db_, 5, 3);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_, "      sync-interval: 1h\n"));
  CliResult r = cli_.Run({"replicate", "-config", config_, "-exec", WriterCommand(db_, 40, 4)});
  ASSERT_EQ(r.code, 0) << r.output;
  ExpectRestoresTo(db_);
}

TEST_F(CliSidecarTest, SighupStartsAnAddedDatabase) {
  std::string db2 = dir_.Join("second.db");
  Write(db_, 3, 5);
  Write(db2, 7, 6);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log, "msg=replicating");
  WriteFileOrDie(config_, TwoDbConfig(db2));
  p->Signal(SIGHUP);
  ASSERT_TRUE(WaitForText(log, "msg=\"config reloaded\" dbs=2", absl::Seconds(20)))
      << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr(fmt::format("msg=replicating db={}", db2)));
  Stop(p.get(), log);
  ExpectRestoresTo(db2);
  ExpectRestoresTo(db_);
}

TEST_F(CliSidecarTest, SighupStopsARemovedDatabaseAfterAFinalSync) {
  std::string db2 = dir_.Join("second.db");
  Write(db_, 3, 7);
  Write(db2, 3, 8);
  WriteFileOrDie(config_, TwoDbConfig(db2));
  std::string log;
  auto p = StartReplicate(&log, fmt::format("msg=replicating db={}", db2));
  Write(db2, 9, 9);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  p->Signal(SIGHUP);
  ASSERT_TRUE(WaitForText(log, "msg=\"config reloaded\" dbs=1", absl::Seconds(20)))
      << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log),
              HasSubstr(fmt::format("msg=\"stopped replicating\" db={} final_sync=ok", db2)));
  Stop(p.get(), log);
  // The removed database's replica holds everything written before the reload.
  std::string out = dir_.Join("removed.db");
  CliResult r = cli_.Run({"restore", "-o", out, "file://" + dir_.Join("replica2")});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(*DumpContent(out), *DumpContent(db2));
}

TEST_F(CliSidecarTest, SighupRestartsADatabaseWhoseReplicaSettingsChanged) {
  Write(db_, 3, 17);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log, "msg=replicating");
  WriteFileOrDie(config_, OneDbConfig(db_, replica_, "      sync-interval: 1h\n"));
  p->Signal(SIGHUP);
  ASSERT_TRUE(WaitForText(log, "msg=\"config reloaded\" dbs=1", absl::Seconds(20)))
      << ReadFileOrEmpty(log);
  std::string output = ReadFileOrEmpty(log);
  EXPECT_THAT(output, HasSubstr(fmt::format(
                          "msg=\"stopped replicating to apply new settings\" db={}", db_)));
  EXPECT_NE(output.find("msg=replicating", output.find("apply new settings")), std::string::npos);
  Write(db_, 8, 18);
  Stop(p.get(), log);
  ExpectRestoresTo(db_);
}

TEST_F(CliSidecarTest, SighupWithABadConfigKeepsTheOldOneRunning) {
  Write(db_, 3, 10);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  std::string log;
  auto p = StartReplicate(&log, "msg=replicating");
  WriteFileOrDie(config_, "dbs:\n  - path: " + db_ + "\n    replica:\n      url: ftp://x/y\n");
  p->Signal(SIGHUP);
  ASSERT_TRUE(WaitForText(log, "config reload failed", absl::Seconds(20))) << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("ftp"));
  EXPECT_TRUE(p->Running());
  Write(db_, 10, 11);
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));  // for restore
  Stop(p.get(), log);
  ExpectRestoresTo(db_);
}

TEST_F(CliSidecarTest, DirRescanReplicatesADatabaseCreatedWhileRunning) {
  std::string tenants = dir_.Join("tenants");
  std::filesystem::create_directories(tenants);
  WriteFileOrDie(config_, fmt::format("dirs:\n  - dir: {}\n    replica:\n      path: {}\n", tenants,
                                      dir_.Join("tenant-replicas")));
  std::string log;
  auto p = StartReplicate(&log, "no databases yet");
  std::string db = tenants + "/acme.db";
  Write(db, 12, 12);
  ASSERT_TRUE(WaitForText(log, fmt::format("msg=replicating db={}", db), absl::Seconds(30)))
      << ReadFileOrEmpty(log);
  Stop(p.get(), log);
  ExpectRestoresTo(db);
  EXPECT_TRUE(std::filesystem::is_directory(dir_.Join("tenant-replicas/acme.db")));
}

TEST_F(CliSidecarTest, DirRescanStopsADeletedDatabase) {
  std::string tenants = dir_.Join("tenants");
  std::filesystem::create_directories(tenants);
  std::string db = tenants + "/gone.db";
  Write(db, 3, 16);
  WriteFileOrDie(config_, fmt::format("dirs:\n  - dir: {}\n    replica:\n      path: {}\n", tenants,
                                      dir_.Join("tenant-replicas")));
  std::string log;
  auto p = StartReplicate(&log, fmt::format("msg=replicating db={}", db));
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) std::remove(f.c_str());
  ASSERT_TRUE(WaitForText(log, fmt::format("msg=\"stopped replicating"), absl::Seconds(30)))
      << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr(db));
  EXPECT_TRUE(p->Running());
  Stop(p.get(), log);
}

int CountLineages(const std::string& replica) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(replica)) {
    std::string name = e.path().filename().string();
    if (e.is_directory() && name.size() == 16 &&
        name.find_first_not_of("0123456789abcdef") == std::string::npos) {
      ++n;
    }
  }
  return n;
}

// The container start-up cycle: the volume is lost, the init step restores, and
// replication resumes the same lineage (continuity), so one restore still gets all.
TEST_F(CliSidecarTest, RestoreOnStartResumesTheSameLineage) {
  WriteFileOrDie(config_, OneDbConfig(db_, replica_));
  Write(db_, 10, 13);
  std::string log;
  auto p = StartReplicate(&log, "msg=replicating");
  Write(db_, 10, 14);
  Stop(p.get(), log);
  ASSERT_EQ(CountLineages(replica_), 1);
  for (const std::string& f : {db_, db_ + "-wal", db_ + "-shm"}) std::remove(f.c_str());

  CliResult r =
      cli_.Run({"restore", "-if-db-not-exists", "-if-replica-exists", "-config", config_, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_EQ(IntegrityCheck(db_), "ok");
  p = StartReplicate(&log, "msg=replicating");
  Write(db_, 15, 15);
  Stop(p.get(), log);
  EXPECT_EQ(CountLineages(replica_), 1) << ReadFileOrEmpty(log);
  ExpectRestoresTo(db_);
}

std::string SourcePath(const std::string& relative) {
  return std::string(LITESYNC_SOURCE_DIR) + "/" + relative;
}

TEST(EtcFilesTest, YamlFilesParseAndTheSystemdUnitHasExecStart) {
  int parsed = 0;
  for (const auto& e : std::filesystem::directory_iterator(SourcePath("etc"))) {
    std::string ext = e.path().extension().string();
    if (ext != ".yml" && ext != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    EXPECT_NO_THROW({
      std::vector<YAML::Node> docs = YAML::LoadAllFromFile(e.path().string());
      EXPECT_FALSE(docs.empty());
    });
    ++parsed;
  }
  EXPECT_GE(parsed, 4);  // litesync.yml, prometheus-alerts.yml, docker-compose.yml, kubernetes.yaml
  std::string unit = ReadFileOrEmpty(SourcePath("etc/litesync.service"));
  EXPECT_THAT(unit, HasSubstr("\nExecStart=/usr/local/bin/litesync replicate"));
  EXPECT_THAT(unit, HasSubstr("[Service]"));
  EXPECT_THAT(unit, HasSubstr("Restart=on-failure"));
  std::string dockerfile = ReadFileOrEmpty(SourcePath("etc/Dockerfile"));
  EXPECT_THAT(dockerfile, HasSubstr("ENTRYPOINT"));
}

TEST(EtcFilesTest, TheExampleConfigLoads) {
  CliResult r;
  TempDir dir;
  Cli cli(dir);
  r = cli.Run({"databases", "-config", SourcePath("etc/litesync.yml")});
  EXPECT_EQ(r.code, 0) << r.output;
}

}  // namespace
}  // namespace litesync
