// Replicas written by the Litestream v0.3.13 binary, restored by the litesync
// binary: latest and by time, from a directory and from s3rver, byte for byte
// what Litestream's own restore gives; damaged objects are named; and litesync
// replicating beside such a replica leaves it alone while restore spans both.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cmd/cli_util.h"
#include "tests/compat/litestream_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::DumpContent;
using testing::FileExists;
using ::testing::HasSubstr;
using testing::IntegrityCheck;
using testing::Litestream3;
using ::testing::Not;
using testing::ReadFileOrEmpty;
using testing::Rfc3339;
using testing::TempDir;

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class LitestreamV3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
    ASSERT_EQ(::access(testing::LitestreamBin().c_str(), X_OK), 0)
        << testing::LitestreamBin() << " is missing: run make deps";
    db_ = dir_.Join("app.db");
    replica_ = dir_.Join("replica");
  }
  void Write(int txns, int seed) {
    ASSERT_EQ(testing::WriteTxns(db_, txns, seed, dir_.Join("writer.log")), "");
  }
  std::string Dump(const std::string& path) {
    absl::StatusOr<std::string> d = DumpContent(path);
    EXPECT_TRUE(d.ok()) << path << ": " << d.status();
    return d.value_or("");
  }
  // Two states in Litestream's replica, a second apart: returns the time between
  // them; *first and *second are the database's content at each.
  void WriteTwoStates(Litestream3& litestream, const std::string& watch, absl::Time* between,
                      std::string* first, std::string* second) {
    Write(200, 1);
    ASSERT_TRUE(litestream.WaitShipped(watch)) << litestream.log();
    *first = Dump(db_);
    // S3's LastModified (s3rver's too) has one-second resolution.
    absl::SleepFor(absl::Milliseconds(1200));
    *between = absl::Now();
    absl::SleepFor(absl::Milliseconds(1200));
    Write(300, 2);
    ASSERT_TRUE(litestream.WaitShipped(watch)) << litestream.log();
    *second = Dump(db_);
    ASSERT_NE(*first, *second);
  }
  // `litesync restore -o OUT URL [extra...]`; the result.
  CliResult Restore(const std::string& url, const std::string& out,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"restore", "-o", out};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    return cli_.Run(args);
  }

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, replica_;
};

TEST_F(LitestreamV3Test, RestoresTheLatestStateAndAnEarlierTimeFromADirectory) {
  testing::CreateWalDb(db_);
  Litestream3 litestream(dir_, db_,
                         fmt::format("      - type: file\n        path: {}\n", replica_));
  absl::Time between;
  std::string first, second;
  WriteTwoStates(litestream, replica_, &between, &first, &second);
  ASSERT_EQ(litestream.Stop(), 0) << litestream.log();

  std::string latest = dir_.Join("latest.db");
  CliResult r = Restore("file://" + replica_, latest);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Litestream v0.3 generation"));
  EXPECT_EQ(IntegrityCheck(latest), "ok");
  EXPECT_EQ(Dump(latest), second);

  // -json describes what was restored from Litestream's files.
  std::string earlier = dir_.Join("earlier.db");
  r = Restore("file://" + replica_, earlier,
              {"-timestamp", Rfc3339(between), "-json", "-log-level", "warn"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(IntegrityCheck(earlier), "ok");
  EXPECT_EQ(Dump(earlier), first);
  nlohmann::json j = nlohmann::json::parse(r.output);  // throws (fails the test) unless one object
  EXPECT_EQ(j["status"], "restored");
  EXPECT_EQ(j["format"], "litestream-v0.3");
  EXPECT_EQ(std::string(j["generation"]).size(), 16u);
  absl::Time restored_time;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, std::string(j["time"]), &restored_time, &err));
  EXPECT_LE(restored_time, between);
  ASSERT_GE(j["files"].size(), 2u);
  EXPECT_THAT(std::string(j["files"][0]["path"]), HasSubstr("/snapshots/"));
  EXPECT_GT(j["files"][0]["size"], 0);

  // Litestream's own restore of the same replica: the very same bytes.
  std::string theirs = dir_.Join("theirs.db");
  int code =
      testing::RunProcess({testing::LitestreamBin(), "restore", "-o", theirs, "file://" + replica_},
                          absl::Seconds(60), dir_.Join("litestream-restore.log"));
  ASSERT_EQ(code, 0) << ReadFileOrEmpty(dir_.Join("litestream-restore.log"));
  EXPECT_EQ(Dump(theirs), second);
  EXPECT_TRUE(ReadBytes(theirs) == ReadBytes(latest))
      << "litesync's restore differs from Litestream's byte for byte";

  // `snapshots` lists litesync's files only, and says where Litestream's went.
  r = cli_.Run({"snapshots", "file://" + replica_});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("also holds Litestream's files: restore reads them"));
  EXPECT_THAT(r.output, HasSubstr("litestream=v0.3"));
}

// Litestream v0.3 with `age:` (its own encryption, made by the real binary):
// litesync restores it with the identity, and without one says an identity is
// needed, naming the object, and writes nothing.
TEST_F(LitestreamV3Test, AnAgeEncryptedReplicaRestoresWithTheIdentity) {
  const std::string key = dir_.Join("key.txt");
  ASSERT_EQ(testing::RunProcess({"/usr/bin/age-keygen", "-o", key}, absl::Seconds(30)), 0);
  std::string identity, recipient;
  const std::vector<std::string> lines = absl::StrSplit(ReadFileOrEmpty(key), '\n');
  for (const std::string& line : lines) {
    if (line.rfind("AGE-SECRET-KEY-", 0) == 0) identity = line;
    if (line.rfind("# public key: ", 0) == 0) recipient = line.substr(14);
  }
  ASSERT_FALSE(identity.empty());
  ASSERT_FALSE(recipient.empty());
  testing::CreateWalDb(db_);
  Litestream3 litestream(dir_, db_,
                         fmt::format("      - type: file\n        path: {}\n        age:\n"
                                     "          identities: [{}]\n          recipients: [{}]\n",
                                     replica_, identity, recipient));
  Write(200, 1);
  ASSERT_TRUE(litestream.WaitShipped(replica_)) << litestream.log();
  ASSERT_EQ(litestream.Stop(), 0) << litestream.log();
  const std::string want = Dump(db_);

  std::string without = dir_.Join("without.db");
  CliResult r = Restore("file://" + replica_, without);
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("age")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("generations/")) << "names the object: " << r.output;
  EXPECT_FALSE(FileExists(without));

  std::string with = dir_.Join("with.db");
  r = Restore("file://" + replica_, with, {"-age-identity-file", key});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Litestream v0.3 generation"));
  EXPECT_EQ(IntegrityCheck(with), "ok");
  EXPECT_EQ(Dump(with), want);
  EXPECT_THAT(r.output, Not(HasSubstr(identity))) << "the identity never appears";
}

TEST_F(LitestreamV3Test, RestoresFromS3rver) {
  testing::S3Server s3("lt-bucket");
  ASSERT_TRUE(s3.running());
  testing::CreateWalDb(db_);
  Litestream3 litestream(
      dir_, db_,
      fmt::format(
          "      - type: s3\n        bucket: lt-bucket\n        path: app\n"
          "        endpoint: {}\n        region: us-east-1\n        force-path-style: true\n"
          "        access-key-id: {}\n        secret-access-key: {}\n",
          s3.endpoint(), testing::S3Server::kAccessKeyId, testing::S3Server::kSecretAccessKey));
  absl::Time between;
  std::string first, second;
  WriteTwoStates(litestream, s3.data_dir(), &between, &first, &second);
  ASSERT_EQ(litestream.Stop(), 0) << litestream.log();

  setenv("AWS_ACCESS_KEY_ID", testing::S3Server::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::S3Server::kSecretAccessKey, 1);
  const std::string url = fmt::format(
      "s3://lt-bucket/app?endpoint={}&region=us-east-1&force-path-style=true", s3.endpoint());
  std::string latest = dir_.Join("latest.db");
  CliResult r = Restore(url, latest);
  std::string earlier = dir_.Join("earlier.db");
  CliResult r2 = Restore(url, earlier, {"-timestamp", Rfc3339(between)});
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(IntegrityCheck(latest), "ok");
  EXPECT_EQ(Dump(latest), second);
  ASSERT_EQ(r2.code, 0) << r2.output;
  EXPECT_EQ(Dump(earlier), first);
}

// A damaged object: the restore names it and says what to do; nothing is left
// at the output, nor a temporary file beside it.
TEST_F(LitestreamV3Test, ADamagedObjectIsNamedAndNothingIsWritten) {
  testing::CreateWalDb(db_);
  Litestream3 litestream(dir_, db_,
                         fmt::format("      - type: file\n        path: {}\n", replica_));
  Write(300, 3);
  ASSERT_TRUE(litestream.WaitShipped(replica_)) << litestream.log();
  ASSERT_EQ(litestream.Stop(), 0) << litestream.log();
  std::string segment, snapshot;
  for (const auto& [path, what] : testing::Snapshot(replica_)) {
    if (path.ends_with(".wal.lz4") && std::filesystem::file_size(path) > 1000) segment = path;
    if (path.ends_with(".snapshot.lz4")) snapshot = path;
  }
  ASSERT_FALSE(segment.empty());
  ASSERT_FALSE(snapshot.empty());
  const std::string out_dir = dir_.Join("out");
  std::filesystem::create_directories(out_dir);

  // Truncated: cut inside its LZ4 frame.
  std::filesystem::resize_file(segment, std::filesystem::file_size(segment) / 2);
  CliResult r = Restore(replica_, out_dir + "/a.db");
  EXPECT_EQ(r.code, 1) << r.output;
  std::string key = segment.substr(replica_.size() + 1);
  EXPECT_THAT(r.output, HasSubstr(key)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("truncated")) << r.output;

  // Corrupt: bytes changed inside the snapshot.
  {
    std::fstream f(snapshot, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(snapshot) / 2));
    f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  r = Restore(replica_, out_dir + "/b.db");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(snapshot.substr(replica_.size() + 1))) << r.output;
  EXPECT_THAT(r.output, HasSubstr("corrupt")) << r.output;
  EXPECT_TRUE(std::filesystem::is_empty(out_dir)) << "something was left in " << out_dir;
}

TEST_F(LitestreamV3Test, ATxidIsRefusedWithTheReason) {
  testing::CreateWalDb(db_);
  Litestream3 litestream(dir_, db_,
                         fmt::format("      - type: file\n        path: {}\n", replica_));
  Write(10, 4);
  ASSERT_TRUE(litestream.WaitShipped(replica_)) << litestream.log();
  ASSERT_EQ(litestream.Stop(), 0) << litestream.log();
  CliResult r = Restore(replica_, dir_.Join("x.db"), {"-txid", "0000000000000001"});
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("has no TXIDs"));
  EXPECT_THAT(r.output, HasSubstr("-timestamp"));
  EXPECT_FALSE(FileExists(dir_.Join("x.db")));
}

// The switch: Litestream replicated to the directory, then litesync replicates
// to the same one. litesync says so, writes beside it (its retention and
// compaction running), never changes Litestream's files, and restore takes a
// time before the switch from Litestream's files and the latest from its own.
TEST_F(LitestreamV3Test, ReplicatingBesideLitestreamKeepsItsFilesAndRestoreSpansTheSwitch) {
  testing::CreateWalDb(db_);
  std::string before_switch;
  absl::Time switch_time;
  {
    Litestream3 litestream(dir_, db_,
                           fmt::format("      - type: file\n        path: {}\n", replica_));
    Write(200, 5);
    ASSERT_TRUE(litestream.WaitShipped(replica_)) << litestream.log();
    ASSERT_EQ(litestream.Stop(), 0) << litestream.log();
  }
  before_switch = Dump(db_);
  absl::SleepFor(absl::Milliseconds(600));
  switch_time = absl::Now();
  absl::SleepFor(absl::Milliseconds(600));
  const auto theirs = testing::Snapshot(replica_ + "/generations");
  ASSERT_FALSE(theirs.empty());

  const std::string config = dir_.Join("litesync.yml");
  testing::WriteFileOrDie(config,
                          testing::OneDbConfig(db_, replica_,
                                               "      retention: 1s\n      snapshot-interval: 1s\n"
                                               "      compaction-intervals: [1s, 2s, 3s]\n"));
  std::string log;
  auto p = cli_.Start({"replicate", "-config", config}, &log);
  ASSERT_TRUE(testing::WaitForText(log, "msg=replicating", absl::Seconds(30)))
      << ReadFileOrEmpty(log);
  // The first step (after "replicating" is logged) finds Litestream's files.
  EXPECT_TRUE(testing::WaitForText(log, "replica holds a Litestream replica", absl::Seconds(30)))
      << ReadFileOrEmpty(log);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("litestream=v0.3"));
  Write(300, 6);
  absl::SleepFor(absl::Seconds(5));  // compaction and retention run meanwhile
  p->Signal(SIGTERM);
  ASSERT_EQ(p->Wait(absl::Seconds(60)), 0) << ReadFileOrEmpty(log);
  const std::string after_switch = Dump(db_);
  ASSERT_NE(before_switch, after_switch);

  EXPECT_EQ(testing::Snapshot(replica_ + "/generations"), theirs)
      << "litesync changed Litestream's files";
  CliResult r = Restore(replica_, dir_.Join("latest.db"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("Litestream v0.3 generation")));
  EXPECT_EQ(Dump(dir_.Join("latest.db")), after_switch);
  r = Restore(replica_, dir_.Join("before.db"), {"-timestamp", Rfc3339(switch_time)});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Litestream v0.3 generation"));
  EXPECT_EQ(Dump(dir_.Join("before.db")), before_switch);
}

}  // namespace
}  // namespace litesync
