// ValidateReplica against a real file replica written by the watcher: a healthy
// replica passes, a flipped bit in a tx file or a wrong expected checksum is
// DataLoss, and the scratch directory is left empty either way.
#include "replica/maintenance/validator.h"

#include <filesystem>
#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "replica/storage/file/file_replica_client.h"
#include "replica/storage/replica_head.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;

class ValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(scratch());
    std::string db = dir_.Join("app.db");
    testing::CreateWalDb(db);
    testing::FakeClock clock;
    SyncRegistry registry;
    DbOptions options = testing::DbWithReplica(db, testing::FileReplica(replica_dir()));
    DbWatcher watcher(options, &registry, &clock);
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(testing::RunProcess(
                    {testing::WriterBin(), db, "-txns", "5", "-seed", std::to_string(i + 1)},
                    absl::Seconds(30)),
                0);
      watcher.Step();
      clock.Advance(absl::Seconds(10));
    }
    LS_ASSERT_OK(watcher.FinalSync(absl::Now() + absl::Seconds(10)));
    auto client = NewFileReplicaClient(testing::FileReplica(replica_dir()));
    LS_ASSERT_OK(client);
    client_ = std::move(*client);
    auto head = ReadReplicaHead(*client_);
    LS_ASSERT_OK(head);
    ASSERT_TRUE(head->has_value());
    head_ = **head;
  }
  std::string replica_dir() const { return dir_.Join("replica"); }
  std::string scratch() const { return dir_.Join("scratch"); }
  bool ScratchIsEmpty() const { return std::filesystem::is_empty(scratch()); }

  testing::TempDir dir_;
  std::unique_ptr<ReplicaClient> client_;
  ReplicaHead head_;
};

TEST_F(ValidatorTest, AValidReplicaPassesAndMatchesTheTrackedChecksum) {
  ValidationResult r;
  LS_ASSERT_OK(
      ValidateReplica(*client_, scratch(), head_.info.max_txid, head_.header.post_checksum, &r));
  EXPECT_TRUE(r.compared);
  EXPECT_EQ(r.txid, head_.info.max_txid);
  EXPECT_EQ(r.lineage, head_.info.lineage);
  EXPECT_EQ(r.checksum, head_.header.post_checksum);
  EXPECT_GT(r.pages, 0u);
  EXPECT_GE(r.files, 1u);
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(ValidatorTest, AnOlderExpectedTxidSkipsTheChecksumComparison) {
  ValidationResult r;
  LS_ASSERT_OK(ValidateReplica(*client_, scratch(), head_.info.max_txid - 1, 0, &r));
  EXPECT_FALSE(r.compared);
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(ValidatorTest, AWrongExpectedChecksumIsDataLossNamingBothValues) {
  uint64_t wrong = head_.header.post_checksum ^ 0x1;
  ValidationResult r;
  absl::Status s = ValidateReplica(*client_, scratch(), head_.info.max_txid, wrong, &r);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr(fmt::format("{:016x}", head_.header.post_checksum)));
  EXPECT_THAT(s.message(), HasSubstr(fmt::format("{:016x}", wrong)));
  EXPECT_THAT(s.message(), HasSubstr(TxidString(head_.info.max_txid)));
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(ValidatorTest, ABitFlippedInsideATxFileIsDataLoss) {
  auto snapshots = client_->List(head_.info.lineage, kSnapshotLevel);
  LS_ASSERT_OK(snapshots);
  ASSERT_FALSE(snapshots->empty());
  std::string path = replica_dir() + "/" + snapshots->front().RelativePath();
  std::string bytes = testing::ReadFileOrDie(path);
  ASSERT_GT(bytes.size(), 200u);
  bytes[bytes.size() / 2] ^= 0x10;  // inside the compressed page body
  testing::WriteFileOrDie(path, bytes);

  absl::Status s = ValidateReplica(*client_, scratch(), head_.info.max_txid,
                                   head_.header.post_checksum, nullptr);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("validate replica"));
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(ValidatorTest, AnEmptyReplicaIsNotFound) {
  auto empty = NewFileReplicaClient(testing::FileReplica(dir_.Join("empty")));
  LS_ASSERT_OK(empty);
  absl::Status s = ValidateReplica(**empty, scratch(), 1, 0, nullptr);
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_TRUE(ScratchIsEmpty());
}

}  // namespace
}  // namespace litesync
