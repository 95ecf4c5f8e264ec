// The verdict (monitor/verdict.h) over directory replicas that the real litesync
// binary wrote (`replicate -once`), judged in process at times a FakeClock sets
// relative to the replica's own capture times.
#include "monitor/verdict.h"

#include <sys/stat.h>
#include <utime.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/format/liveness.h"
#include "replica/storage/file/file_settings.h"
#include "tests/monitor/monitor_util.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::FakeClock;
using ::testing::HasSubstr;
using testing::TempDir;

class VerdictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Join("app.db");
    replica_ = dir_.Join("replica");
  }
  void Sync(int txns, int seed) {
    ASSERT_EQ(testing::WriteAndSyncOnce(dir_, db_, replica_, txns, seed), "");
  }
  std::unique_ptr<ReplicaClient> Client(bool read_only = true) {
    ReplicaOptions o;
    o.type = "file";
    o.settings<FileSettings>().path = replica_;
    o.read_only = read_only;
    absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewReplicaClient(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  // The verdict at `after` past the newest file's capture time.
  ReplicaVerdict JudgeAt(absl::Duration after, bool verify = false) {
    auto c = Client();
    JudgeOptions o;
    o.max_age = kMaxAge;
    ReplicaVerdict probe = Judge(*c, o, *clock_);
    EXPECT_TRUE(probe.newest_file.has_value()) << probe.reason;
    clock_ = std::make_unique<FakeClock>(probe.newest_capture + after);
    o.verify = verify;
    o.scratch_dir = scratch();
    return Judge(*c, o, *clock_);
  }
  // Writes a liveness record as a sidecar would: for `file`, confirmed at `at`.
  void WriteLiveness(const TxFileInfo& file, uint64_t txid, absl::Time at) {
    LivenessRecord r{
        .lineage = file.lineage, .txid = txid, .file = file, .confirmed = at, .host = "app-host"};
    LS_ASSERT_OK(Client(false)->WriteRecord(kLivenessRecord, EncodeLiveness(r)));
  }
  std::string scratch() {
    std::string s = dir_.Join("scratch");
    std::filesystem::create_directories(s);
    return s;
  }

  static constexpr absl::Duration kMaxAge = absl::Seconds(10);
  TempDir dir_;
  std::string db_, replica_;
  std::unique_ptr<FakeClock> clock_ = std::make_unique<FakeClock>(absl::Now());
};

TEST_F(VerdictTest, FreshRightAfterASync) {
  Sync(20, 1);
  ReplicaVerdict v = JudgeAt(absl::Seconds(1));
  EXPECT_TRUE(v.fresh) << v.reason;
  EXPECT_EQ(v.state, VerdictState::kFresh);
  EXPECT_EQ(v.reason, "");
  EXPECT_EQ(v.current_at, v.newest_capture);
  EXPECT_FALSE(v.liveness.present);
}

TEST_F(VerdictTest, IdlePastMaxAgeWithoutLivenessIsItsOwnState) {
  Sync(20, 1);
  ReplicaVerdict v = JudgeAt(kMaxAge + absl::Seconds(5));
  EXPECT_FALSE(v.fresh);
  EXPECT_EQ(v.state, VerdictState::kNoLivenessRecord);
  EXPECT_EQ(VerdictStateName(v.state), "no-liveness-record");
  EXPECT_THAT(v.reason, HasSubstr(v.newest_file->RelativePath()));
  EXPECT_THAT(v.reason, HasSubstr("no liveness record"));
  EXPECT_THAT(v.reason, HasSubstr("liveness-interval"));
}

TEST_F(VerdictTest, AConfirmedLivenessRecordKeepsAnIdleReplicaFresh) {
  Sync(20, 1);
  ReplicaVerdict before = JudgeAt(absl::Seconds(1));
  const absl::Time now = before.newest_capture + absl::Minutes(5);
  WriteLiveness(*before.newest_file, before.newest_file->max_txid, now - absl::Seconds(2));
  ReplicaVerdict v = JudgeAt(absl::Minutes(5));
  EXPECT_TRUE(v.fresh) << v.reason;
  EXPECT_TRUE(v.liveness.present);
  EXPECT_TRUE(v.liveness.confirmed);
  EXPECT_EQ(v.liveness.host, "app-host");
  EXPECT_EQ(v.current_at, now - absl::Seconds(2));
}

TEST_F(VerdictTest, AnOldLivenessRecordIsStaleAndSaysWhen) {
  Sync(20, 1);
  ReplicaVerdict before = JudgeAt(absl::Seconds(1));
  const absl::Time now = before.newest_capture + absl::Minutes(5);
  WriteLiveness(*before.newest_file, before.newest_file->max_txid, now - absl::Seconds(30));
  ReplicaVerdict v = JudgeAt(absl::Minutes(5));
  EXPECT_EQ(v.state, VerdictState::kStale) << v.reason;
  EXPECT_THAT(v.reason, HasSubstr("liveness record (host app-host) was written 30s ago"));
}

TEST_F(VerdictTest, AClaimBeyondWhatStorageHoldsIsReportedNotTrusted) {
  Sync(20, 1);
  ReplicaVerdict before = JudgeAt(absl::Seconds(1));
  const TxFileInfo& newest = *before.newest_file;
  TxFileInfo invented = newest;
  invented.level = 0;
  invented.min_txid = newest.max_txid + 1;
  invented.max_txid = newest.max_txid + 5;
  const absl::Time now = newest.timestamp + absl::Minutes(5);
  WriteLiveness(invented, invented.max_txid, now);
  ReplicaVerdict v = JudgeAt(absl::Minutes(5), /*verify=*/true);
  EXPECT_FALSE(v.fresh);
  EXPECT_EQ(v.state, VerdictState::kLivenessUnconfirmed);
  EXPECT_TRUE(v.liveness.present);
  EXPECT_FALSE(v.liveness.confirmed);
  EXPECT_THAT(v.reason, HasSubstr("claims txid " + TxidString(invented.max_txid)));
  EXPECT_THAT(v.reason, HasSubstr(invented.RelativePath()));
  EXPECT_FALSE(v.verification.ok);
}

TEST_F(VerdictTest, AnEmptyReplicaAndAnUnreadableOneAreNamed) {
  std::filesystem::create_directories(replica_);
  ReplicaVerdict empty = Judge(*Client(), {}, *clock_);
  EXPECT_EQ(empty.state, VerdictState::kEmpty);
  EXPECT_THAT(empty.reason, HasSubstr(replica_));
  std::filesystem::remove(replica_);
  testing::WriteFileOrDie(replica_, "not a directory");
  ReplicaVerdict broken = Judge(*Client(), {}, *clock_);
  EXPECT_EQ(broken.state, VerdictState::kUnreachable);
  EXPECT_THAT(broken.reason, HasSubstr(replica_));
}

TEST_F(VerdictTest, VerificationRestoresChecksAndCleansUp) {
  Sync(30, 1);
  Sync(10, 2);
  ReplicaVerdict v = JudgeAt(absl::Seconds(1), /*verify=*/true);
  EXPECT_TRUE(v.fresh) << v.reason;
  EXPECT_TRUE(v.verification.ran);
  EXPECT_TRUE(v.verification.ok) << v.verification.error;
  EXPECT_EQ(v.verification.txid, v.newest_file->max_txid);
  EXPECT_EQ(v.last_good_verification, v.checked);
  EXPECT_TRUE(std::filesystem::is_empty(scratch())) << "the scratch file was left behind";
}

TEST_F(VerdictTest, AFlippedBitFailsVerificationNamingTheFile) {
  Sync(30, 1);
  Sync(10, 2);
  ReplicaVerdict before = JudgeAt(absl::Seconds(1));
  const std::string path = replica_ + "/" + before.newest_file->RelativePath();
  testing::FlipBit(path);
  ReplicaVerdict v = JudgeAt(absl::Seconds(1), /*verify=*/true);
  EXPECT_EQ(v.state, VerdictState::kVerifyFailed);
  EXPECT_FALSE(v.verification.ok);
  EXPECT_THAT(v.reason, HasSubstr(before.newest_file->Name()));
  EXPECT_EQ(v.last_good_verification, absl::InfinitePast());
  EXPECT_TRUE(std::filesystem::is_empty(scratch())) << "the scratch file was left behind";
}

TEST_F(VerdictTest, ADeletedNewestFileFailsVerificationNamingIt) {
  Sync(30, 1);
  Sync(10, 2);
  ReplicaVerdict before = JudgeAt(absl::Seconds(1));
  const TxFileInfo newest = *before.newest_file;
  WriteLiveness(newest, newest.max_txid, newest.timestamp + absl::Milliseconds(500));
  std::filesystem::remove(replica_ + "/" + newest.RelativePath());
  ReplicaVerdict v = JudgeAt(absl::Seconds(1), /*verify=*/true);
  EXPECT_FALSE(v.fresh);
  EXPECT_FALSE(v.verification.ok);
  EXPECT_THAT(v.verification.error, HasSubstr(newest.RelativePath()));
  EXPECT_THAT(v.reason, HasSubstr(newest.RelativePath()));
}

TEST_F(VerdictTest, ReadOnlyLeavesAbandonedTempFilesAlone) {
  Sync(20, 1);
  ReplicaVerdict before = JudgeAt(absl::Seconds(1));
  const std::string level_dir =
      std::filesystem::path(replica_ + "/" + before.newest_file->RelativePath())
          .parent_path()
          .string();
  const std::string tmp = level_dir + "/.x.ltx.tmp-1-00000000";
  testing::WriteFileOrDie(tmp, "partial");
  struct utimbuf old = {.actime = 1'000'000'000, .modtime = 1'000'000'000};
  ASSERT_EQ(::utime(tmp.c_str(), &old), 0);
  JudgeAt(absl::Seconds(1));
  EXPECT_TRUE(testing::FileExists(tmp)) << "the monitor removed a file from the replica";
}

}  // namespace
}  // namespace litesync
