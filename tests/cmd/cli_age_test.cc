// Encrypted replicas through the litesync binary: `age:` in the config,
// -age-identity-file for restore/ltx/snapshots on a replica URL, validation on
// an encrypted replica, clear errors for a missing or wrong identity (nothing
// written to OUT), and the identity never in logs, `status`, /status or /metrics.
#include <signal.h>
#include <stdlib.h>

#include <regex>
#include <string>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/crypto/age_keys.h"
#include "tests/cmd/cli_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using ::testing::HasSubstr;
using testing::HttpGet;
using ::testing::Not;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WaitForText;
using testing::WriteFileOrDie;

class CliAgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    db_ = dir_.Join("app.db");
    replica_ = dir_.Join("replica");
    config_ = dir_.Join("litesync.yml");
    key_file_ = dir_.Join("key.txt");
    WriteFileOrDie(key_file_, "# created by the test\n" + key_.Reveal() + "\n");
    WriteFileOrDie(dir_.Join("wrong.txt"), wrong_.Reveal() + "\n");
  }
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  // Every way the identity could be spelled in output.
  void ExpectNoIdentity(const std::string& text, std::string_view where) {
    std::string id = key_.Reveal();
    EXPECT_THAT(text, Not(HasSubstr(id.substr(16)))) << where;
    EXPECT_THAT(text, Not(HasSubstr(absl::AsciiStrToLower(id.substr(16))))) << where;
  }

  TempDir dir_;
  Cli cli_{dir_};
  AgeIdentity key_ = AgeIdentity::Generate();
  AgeIdentity wrong_ = AgeIdentity::Generate();
  std::string db_, replica_, config_, key_file_;
};

TEST_F(CliAgeTest, EncryptedReplicaValidatesRestoresWithTheIdentityAndNeverShowsIt) {
  Write(40, 1);
  WriteFileOrDie(config_, fmt::format(R"(addr: 127.0.0.1:0
dbs:
  - path: {}
    replica:
      path: {}
      sync-interval: 100ms
      validation-interval: 1s
      age:
        recipients: [{}]
        identities: [{}]
)",
                                      db_, replica_, key_.recipient().ToString(), key_.Reveal()));
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=\"replica validated\"", absl::Seconds(30)))
      << ReadFileOrEmpty(log);
  std::smatch m;
  std::string text = ReadFileOrEmpty(log);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("addr=(127\\.0\\.0\\.1:[0-9]+)"))) << text;
  const std::string addr = m[1];
  for (const char* path : {"/status", "/metrics"}) {
    std::string body;
    EXPECT_EQ(HttpGet("http://" + addr + path, &body), 200) << path;
    EXPECT_THAT(body, HasSubstr(replica_)) << path;
    ExpectNoIdentity(body, path);
  }
  CliResult status = cli_.Run({"status", "-config", config_});
  EXPECT_EQ(status.code, 0) << status.output;
  ExpectNoIdentity(status.output, "status");
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(log);
  ExpectNoIdentity(ReadFileOrEmpty(log), "replicate log");

  // Through the config, and from the replica directory with an identity file.
  std::string out = dir_.Join("out.db");
  CliResult r = cli_.Run({"restore", "-config", config_, "-o", out, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db_));
  std::string out2 = dir_.Join("out2.db");
  r = cli_.Run({"restore", "-age-identity-file", dir_.Join("wrong.txt"), "-age-identity-file",
                key_file_, "-o", out2, replica_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(*testing::DumpContent(out2), *testing::DumpContent(db_));
  // The container start-up step, with the config's identity.
  std::string started = dir_.Join("started.db");
  r = cli_.Run({"restore", "-config", config_, "-if-db-not-exists", "-if-replica-exists", "-o",
                started, db_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(*testing::DumpContent(started), *testing::DumpContent(db_));
  r = cli_.Run({"restore", "-dry-run", "-age-identity-file", key_file_, "-o", dir_.Join("dry.db"),
                replica_});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_FALSE(testing::FileExists(dir_.Join("dry.db")));
  for (const char* cmd : {"ltx", "snapshots"}) {
    r = cli_.Run({cmd, "-age-identity-file", key_file_, replica_});
    EXPECT_EQ(r.code, 0) << cmd << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("0000000000000001")) << cmd;
  }
}

TEST_F(CliAgeTest, MissingOrWrongIdentityNamesTheReplicaAndFileAndWritesNothing) {
  Write(20, 2);
  WriteFileOrDie(config_, fmt::format(R"(dbs:
  - path: {}
    replica:
      path: {}
      age:
        recipient-files: [{}]
)",
                                      db_, replica_, dir_.Join("recipients.txt")));
  WriteFileOrDie(dir_.Join("recipients.txt"), key_.recipient().ToString() + "\n");
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config_}, &log);
  ASSERT_TRUE(WaitForText(log, "msg=\"new lineage\"", absl::Seconds(30))) << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("compaction and validation are off"));
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(log);

  std::string out = dir_.Join("out.db");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"restore", "-o", out, replica_},
        std::vector<std::string>{"restore", "-config", config_, "-o", out, db_},
        std::vector<std::string>{"restore", "-age-identity-file", dir_.Join("wrong.txt"), "-o", out,
                                 replica_}}) {
    CliResult r = cli_.Run(args);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr(replica_));
    EXPECT_THAT(r.output, HasSubstr(".ltx"));
    EXPECT_THAT(r.output, HasSubstr("age identit"));
    EXPECT_FALSE(testing::FileExists(out)) << r.output;
    ExpectNoIdentity(r.output, args[1]);
  }
  CliResult ok = cli_.Run({"restore", "-age-identity-file", key_file_, "-o", out, replica_});
  ASSERT_EQ(ok.code, 0) << ok.output;
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db_));
}

TEST_F(CliAgeTest, BadKeysInTheConfigAreErrorsAtTheirLineWithoutTheKey) {
  std::string broken = key_.Reveal();
  broken[30] = broken[30] == 'Q' ? 'P' : 'Q';
  for (const std::string& age :
       {fmt::format("recipients: [{}]", key_.Reveal()), fmt::format("identities: [{}]", broken),
        fmt::format("identity-files: [{}]", dir_.Join("missing.txt")), std::string("{}"),
        std::string("recipient: [x]")}) {
    WriteFileOrDie(config_, fmt::format("dbs:\n  - path: {}\n    replica:\n      path: {}\n"
                                        "      age:\n        {}\n",
                                        db_, replica_, age));
    CliResult r = cli_.Run({"replicate", "-config", config_});
    EXPECT_EQ(r.code, 2) << age << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("litesync.yml:")) << age;
    EXPECT_THAT(r.output, HasSubstr("age")) << age;
    EXPECT_THAT(r.output, Not(HasSubstr(broken.substr(16)))) << age;
    ExpectNoIdentity(r.output, age);
  }
}

}  // namespace
}  // namespace litesync
