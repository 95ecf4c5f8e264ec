// Replicas written by Litestream v0.5.17 itself (its VFS extension in write mode,
// one sync per writer process), restored by the litesync binary: every TXID,
// times between syncs and the latest state, from a directory and from s3rver;
// a damaged LTX file is named.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cmd/cli_util.h"
#include "tests/compat/litestream_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::FileExists;
using ::testing::HasSubstr;
using testing::Rfc3339;
using testing::TempDir;

class LitestreamV5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    ASSERT_EQ(::access(testing::LitestreamVfsExtension().c_str(), R_OK), 0)
        << testing::LitestreamVfsExtension() << " is missing: run make deps";
    ASSERT_EQ(::access("/usr/bin/python3", X_OK), 0) << "Debian's python3 is needed";
  }
  // `writes` syncs by Litestream's VFS, one writer process each; the content
  // after each, and a time between each sync and the next.
  void WriteSyncs(const std::string& url, int writes,
                  const std::map<std::string, std::string>& env = {}) {
    for (int i = 1; i <= writes; ++i) {
      absl::StatusOr<std::string> hash = testing::VfsWrite(dir_, url, 40, i, env);
      ASSERT_TRUE(hash.ok()) << hash.status();
      contents_.push_back(*hash);
      absl::SleepFor(absl::Milliseconds(300));
      times_.push_back(absl::Now());
      absl::SleepFor(absl::Milliseconds(300));
    }
  }
  // Restores into a new file; its content hash, or the failure's output.
  std::string RestoreContent(const std::string& url, std::vector<std::string> extra) {
    std::string out = dir_.Join(fmt::format("restored-{}.db", ++restores_));
    std::vector<std::string> args = {"restore", "-o", out};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    CliResult r = cli_.Run(args);
    if (r.code != 0) return "restore failed: " + r.output;
    absl::StatusOr<std::string> hash = testing::ContentHashOf(dir_, out);
    return hash.ok() ? *hash : hash.status().ToString();
  }
  void ExpectEveryPointRestores(const std::string& url) {
    ASSERT_EQ(contents_.size(), 3u);
    EXPECT_EQ(RestoreContent(url, {}), contents_[2]);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(RestoreContent(url, {"-txid", fmt::format("{:016x}", i + 1)}), contents_[i])
          << "TXID " << i + 1;
      EXPECT_EQ(RestoreContent(url, {"-timestamp", Rfc3339(times_[i])}), contents_[i])
          << "time after sync " << i + 1;
    }
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::vector<std::string> contents_;
  std::vector<absl::Time> times_;
  int restores_ = 0;
};

TEST_F(LitestreamV5Test, RestoresEveryTxidAndTimeFromADirectory) {
  const std::string replica = dir_.Join("replica");
  WriteSyncs("file://" + replica, 3);
  ASSERT_TRUE(FileExists(replica + "/ltx/0/0000000000000003-0000000000000003.ltx"));
  ExpectEveryPointRestores(replica);
  // -dry-run -json: the plan names Litestream's TXID and LTX files.
  CliResult plan = cli_.Run({"restore", "-o", dir_.Join("planned.db"), "-dry-run", "-json", "-txid",
                             "0000000000000002", replica});
  ASSERT_EQ(plan.code, 0) << plan.output;
  nlohmann::json j = nlohmann::json::parse(plan.output);  // throws (fails the test) on other text
  EXPECT_EQ(j["status"], "planned");
  EXPECT_EQ(j["format"], "litestream-v0.5");
  EXPECT_EQ(j["txid"], "0000000000000002");
  ASSERT_GE(j["files"].size(), 1u);
  EXPECT_THAT(std::string(j["files"].back()["path"]), HasSubstr("0000000000000002.ltx"));
  EXPECT_FALSE(FileExists(dir_.Join("planned.db")));
  // Before the first sync there is nothing; the message says what there is.
  std::string early =
      RestoreContent(replica, {"-timestamp", Rfc3339(absl::Now() - absl::Hours(1))});
  EXPECT_THAT(early, HasSubstr("Litestream v0.5 replica"));
  EXPECT_THAT(early, HasSubstr("holds no state at or before"));
}

TEST_F(LitestreamV5Test, RestoresEveryTxidAndTimeFromS3rver) {
  testing::S3Server s3("lt5-bucket");
  ASSERT_TRUE(s3.running());
  const std::string endpoint_query =
      fmt::format("endpoint={}&region=us-east-1&force-path-style=true", s3.endpoint());
  WriteSyncs("s3://lt5-bucket/app?" + endpoint_query, 3,
             {{"AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId},
              {"AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey},
              {"AWS_REGION", "us-east-1"}});
  // Litestream's S3 client keys levels as 4 hex digits, not ltx/<level>/.
  ASSERT_TRUE(FileExists(
      s3.data_dir() + "/lt5-bucket/app/0000/0000000000000003-0000000000000003.ltx._S3rver_object"));
  setenv("AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey, 1);
  ExpectEveryPointRestores("s3://lt5-bucket/app?" + endpoint_query);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST_F(LitestreamV5Test, ADamagedLtxFileIsNamedAndEarlierTxidsStillRestore) {
  const std::string replica = dir_.Join("replica");
  WriteSyncs("file://" + replica, 2);
  const std::string second = replica + "/ltx/0/0000000000000002-0000000000000002.ltx";
  ASSERT_TRUE(FileExists(second));
  {
    std::fstream f(second, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(second) / 2));
    f.write("\x01\x02\x03\x04", 4);
  }
  std::string damaged = RestoreContent(replica, {});
  EXPECT_THAT(damaged, HasSubstr("ltx/0/0000000000000002-0000000000000002.ltx"));
  EXPECT_THAT(damaged, HasSubstr("corrupt"));
  EXPECT_EQ(RestoreContent(replica, {"-txid", "0000000000000001"}), contents_[0]);

  std::filesystem::resize_file(second, 60);  // inside the header
  std::string truncated = RestoreContent(replica, {});
  EXPECT_THAT(truncated, HasSubstr("ltx/0/0000000000000002-0000000000000002.ltx"));
  EXPECT_THAT(truncated, HasSubstr("truncated"));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr(".tmp-")));
  }
}

}  // namespace
}  // namespace litesync
