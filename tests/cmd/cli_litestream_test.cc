// A Litestream user's config through the litesync binary (issue 18): `databases`
// explains the keys it reads differently (text and -json), and `replicate` with
// `logging: {type: json}` and `addr: ":0"` logs JSON lines and says it bound
// loopback only and how to listen on every interface.
#include <signal.h>

#include <sstream>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;
using testing::Cli;
using testing::CliResult;
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
  testing::WriteFileOrDie(config,
                          LitestreamConfig("addr: \":0\"\nlogging:\n  type: json\n  stderr: true\n"));
  ASSERT_EQ(testing::WriteTxns(dir_.Join("app.db"), 3, 1, dir_.Join("writer.log")), "");
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config}, &log);
  ASSERT_TRUE(testing::WaitForText(log, "addr without a host listens on loopback only",
                                   absl::Seconds(30)))
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

}  // namespace
}  // namespace litesync
