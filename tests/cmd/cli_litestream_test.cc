// A Litestream user's config through the litesync binary: `databases`
// explains the keys it reads differently (text and -json), and `replicate` with
// `logging: {type: json}` and `addr: ":0"` logs JSON lines and says it bound
// loopback only and how to listen on every interface.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "base/handles.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "cmd/restore_output.h"
#include "tests/cmd/cli_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using ::testing::HasSubstr;
using testing::TempDir;

class CliLitestreamTest : public ::testing::Test {
 protected:
  std::string LitestreamConfig(const std::string& extra) {
    return fmt::format(
        "{}dbs:\n  - path: {}\n    replica:\n      url: file://{}\n      auto-recover: true\n",
        extra, dir_.Join("app.db"), dir_.Join("replica"));
  }
  TempDir dir_;
  Cli cli_{dir_};
};

TEST_F(CliLitestreamTest, DatabasesExplainsTheKeysReadDifferently) {
  std::string config = dir_.Join("litestream.yml");
  testing::WriteFileOrDie(config, LitestreamConfig("addr: \":9090\"\nl0-retention: 5m\n"));
  CliResult r = cli_.Run({"databases", "-config", config});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Keys litesync reads differently from Litestream:"));
  EXPECT_THAT(r.output, HasSubstr(config + ":1: addr: without a host litesync listens on "
                                           "127.0.0.1:9090 only"));
  EXPECT_THAT(r.output, HasSubstr(config + ":2: l0-retention: ignored"));
  EXPECT_THAT(r.output, HasSubstr(config + ":7: dbs[0].replica.auto-recover: ignored"));

  CliResult j = cli_.Run({"databases", "-config", config, "-json"});
  ASSERT_EQ(j.code, 0) << j.output;
  nlohmann::json doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["config"], config);
  ASSERT_EQ(doc["databases"].size(), 1u);
  EXPECT_EQ(doc["databases"][0]["path"], dir_.Join("app.db"));
  EXPECT_EQ(doc["databases"][0]["replicas"][0]["type"], "file");
  EXPECT_EQ(doc["notes"].size(), 3u);
}

TEST_F(CliLitestreamTest, ARefusedKeyStopsEveryCommandNamingTheKey) {
  std::string config = dir_.Join("litestream.yml");
  testing::WriteFileOrDie(config, LitestreamConfig("mcp-addr: \":3001\"\n"));
  CliResult r = cli_.Run({"databases", "-config", config});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(config + ":1: mcp-addr: litesync has no MCP server"));
}

TEST_F(CliLitestreamTest, ReplicateLogsJsonAndSaysTheAddrIsLoopbackOnly) {
  std::string config = dir_.Join("litestream.yml");
  testing::WriteFileOrDie(
      config, LitestreamConfig("addr: \":0\"\nlogging:\n  type: json\n  stderr: true\n"));
  ASSERT_EQ(testing::WriteTxns(dir_.Join("app.db"), 3, 1, dir_.Join("writer.log")), "");
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config}, &log);
  ASSERT_TRUE(
      testing::WaitForText(log, "addr without a host listens on loopback only", absl::Seconds(30)))
      << testing::ReadFileOrEmpty(log);
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(absl::Seconds(30)), 0) << testing::ReadFileOrEmpty(log);
  std::istringstream lines(testing::ReadFileOrEmpty(log));
  std::string line;
  int parsed = 0;
  bool addr_line = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);  // throws (fails the test) on a non-JSON line
    ++parsed;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j["msg"] == "addr without a host listens on loopback only") {
      addr_line = true;
      EXPECT_THAT(std::string(j["bound"]), ::testing::StartsWith("127.0.0.1:"));
      EXPECT_EQ(j["all_interfaces"], "set addr: \"0.0.0.0:0\" (or \"[::]:0\")");
    }
  }
  EXPECT_GT(parsed, 3);
  EXPECT_TRUE(addr_line);
}

TEST_F(CliLitestreamTest, RestoreJsonReportsThePlanAndTheResultAndRunsTheIntegrityCheck) {
  std::string db = dir_.Join("app.db");
  ASSERT_EQ(testing::WriteTxns(db, 10, 1, dir_.Join("writer.log")), "");
  std::string config = dir_.Join("litestream.yml");
  testing::WriteFileOrDie(config, LitestreamConfig(""));
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config}, &log);
  ASSERT_TRUE(testing::WaitForText(log, "msg=replicating", absl::Seconds(30)))
      << testing::ReadFileOrEmpty(log);
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(absl::Seconds(60)), 0) << testing::ReadFileOrEmpty(log);

  std::string planned = dir_.Join("planned.db");
  CliResult plan = cli_.Run({"restore", "-config", config, "-o", planned, "-dry-run", "-json", db});
  ASSERT_EQ(plan.code, 0) << plan.output;
  nlohmann::json pj = nlohmann::json::parse(plan.output.substr(plan.output.find('{')));
  EXPECT_EQ(pj["status"], "planned");
  EXPECT_EQ(pj["output"], planned);
  EXPECT_EQ(std::string(pj["txid"]).size(), 16u);
  EXPECT_GE(pj["files"].size(), 1u);
  EXPECT_FALSE(testing::FileExists(planned));

  std::string out = dir_.Join("restored.db");
  CliResult r =
      cli_.Run({"restore", "-config", config, "-o", out, "-integrity-check", "full", "-json", db});
  ASSERT_EQ(r.code, 0) << r.output;
  nlohmann::json rj = nlohmann::json::parse(r.output.substr(r.output.find("{\"status\"")));
  EXPECT_EQ(rj["status"], "restored");
  EXPECT_EQ(rj["integrity_check"], "full");
  EXPECT_EQ(rj["txid"], pj["txid"]);
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");

  CliResult again =
      cli_.Run({"restore", "-config", config, "-o", out, "-if-db-not-exists", "-json", db});
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_THAT(again.output,
              HasSubstr("{\"status\":\"skipped\",\"reason\":\"the database exists\""));

  CliResult bad =
      cli_.Run({"restore", "-config", config, "-o", out, "-integrity-check", "some", db});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.output, HasSubstr("-integrity-check must be none, quick or full (got \"some\")"));
}

TEST_F(CliLitestreamTest, ReplicateOnceSyncsEveryDatabaseAndExitsWithTheOutcome) {
  std::string db = dir_.Join("app.db");
  ASSERT_EQ(testing::WriteTxns(db, 10, 1, dir_.Join("writer.log")), "");
  std::string config = dir_.Join("litestream.yml");
  testing::WriteFileOrDie(config, LitestreamConfig(""));
  CliResult once = cli_.Run({"replicate", "-once", "-config", config}, absl::Seconds(60));
  ASSERT_EQ(once.code, 0) << once.output;
  EXPECT_THAT(once.output, HasSubstr("msg=\"litesync stopped\" final_sync=ok"));
  CliResult status = cli_.Run({"status", "-config", config});
  EXPECT_EQ(status.code, 0) << status.output;  // no daemon: read from the replica itself
  std::string out = dir_.Join("restored.db");
  CliResult r = cli_.Run({"restore", "-config", config, "-o", out, db});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(testing::DumpContent(out).value_or("x"), testing::DumpContent(db).value_or("y"));

  // A replica nothing answers for: the one sync fails within shutdown-sync-timeout, exit 1.
  std::string down = dir_.Join("down.yml");
  testing::WriteFileOrDie(
      down, fmt::format("shutdown-sync-timeout: 2s\naccess-key-id: AKID\nsecret-access-key: "
                        "SECRET\ndbs:\n  - path: {}\n    replica:\n      url: "
                        "s3://bkt/app?endpoint=http://127.0.0.1:1\n",
                        db));
  CliResult failed = cli_.Run({"replicate", "-once", "-config", down}, absl::Seconds(60));
  EXPECT_EQ(failed.code, 1) << failed.output;
  EXPECT_THAT(failed.output, HasSubstr("final_sync=failed"));
  CliResult both = cli_.Run({"replicate", "-once", "-exec", "true", "-config", config});
  EXPECT_EQ(both.code, 2) << both.output;
  EXPECT_THAT(both.output, HasSubstr("give either -once or -exec, not both"));
}

// Litestream's `replicate -once -enforce-retention`: litesync's -once applies
// retention anyway; the flag is accepted (with -once only, as in Litestream) and
// what fell out of the window is gone after the run.
TEST_F(CliLitestreamTest, ReplicateOnceWithEnforceRetentionDropsWhatRetentionNoLongerKeeps) {
  std::string db = dir_.Join("app.db");
  std::string replica = dir_.Join("replica");
  std::string config = dir_.Join("litestream.yml");
  testing::WriteFileOrDie(config, fmt::format("dbs:\n  - path: {}\n    replicas:\n      - path: "
                                              "{}\n        retention: 1s\n",
                                              db, replica));
  auto lineages = [&] {  // lineage directories that hold a tx file
    std::set<std::string> seen;
    for (const auto& e : std::filesystem::recursive_directory_iterator(replica)) {
      if (e.path().extension() == ".ltx") {
        seen.insert(std::filesystem::relative(e.path(), replica).begin()->string());
      }
    }
    return seen.size();
  };
  // Two lineages: the writer's last connection checkpoints and removes the WAL
  // between the runs, so the second run cannot prove continuity.
  std::string outputs;
  for (int seed : {1, 2}) {
    ASSERT_EQ(testing::WriteTxns(db, 5, seed, dir_.Join("writer.log")), "");
    CliResult r = cli_.Run({"replicate", "-once", "-enforce-retention", "-config", config});
    ASSERT_EQ(r.code, 0) << r.output;
    outputs += r.output;
  }
  absl::SleepFor(absl::Milliseconds(1500));  // the first lineage is out of the window
  CliResult r = cli_.Run({"replicate", "-once", "-enforce-retention", "-config", config});
  ASSERT_EQ(r.code, 0) << r.output;
  outputs += r.output;
  // The second run removes the first lineage too when it came more than 1s later.
  EXPECT_THAT(outputs, HasSubstr("msg=\"retention removed files\""));
  EXPECT_EQ(lineages(), 1u);
  std::string out = dir_.Join("restored.db");
  ASSERT_EQ(cli_.Run({"restore", "-config", config, "-o", out, db}).code, 0);
  EXPECT_EQ(testing::DumpContent(out).value_or("x"), testing::DumpContent(db).value_or("y"));

  CliResult alone = cli_.Run({"replicate", "-enforce-retention", "-config", config});
  EXPECT_EQ(alone.code, 2) << alone.output;
  EXPECT_THAT(alone.output, HasSubstr("-enforce-retention needs -once"));
}

// A database whose b-tree is damaged (checksums of tx files cannot catch a page
// that was already bad in the source) fails both checks, naming the file.
TEST(RestoreIntegrityCheckTest, QuickAndFullCatchADamagedDatabase) {
  TempDir dir;
  std::string path = dir.Join("damaged.db");
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    SqliteDb db(raw);
    ASSERT_EQ(sqlite3_exec(db.get(),
                           "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n "
                           "WHERE i < 2000) INSERT INTO t SELECT i, hex(randomblob(40)) FROM n;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  LS_EXPECT_OK(CheckIntegrity(path, IntegrityCheck::kFull));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 3 + 8);  // inside page 4: a b-tree page of t
    std::string junk(200, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  for (IntegrityCheck c : {IntegrityCheck::kQuick, IntegrityCheck::kFull}) {
    absl::Status s = CheckIntegrity(path, c);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path)) << s;
  }
  LS_EXPECT_OK(CheckIntegrity(path, IntegrityCheck::kNone));
}

}  // namespace
}  // namespace litesync
