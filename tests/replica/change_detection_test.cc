// Idle databases cost almost nothing (1,000 of them in one process), yet
// every commit still reaches the replica within sync-interval (no
// "WAL space reuse -> silent stall") and a quiet database stays healthy only
// while its replica is reachable.
#include <filesystem>

#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "replica/sqlite/db_reader.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

// One transaction of one fixed-size row from another process, so WAL generations
// after a restart look alike: same frame count, same WAL file size.
void WriteOneTxn(const std::string& db, int seed) {
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), db, "-txns", "1", "-mode", "insert",
                                 "-payload", "100", "-seed", std::to_string(seed)},
                                absl::Seconds(30)),
            0);
}

bool Changed(DbReader& reader) {
  absl::StatusOr<bool> changed = reader.MayHaveChanged();
  EXPECT_TRUE(changed.ok()) << changed.status();
  return changed.ok() && *changed;
}

TEST(DbReaderChangeTest, QuietDatabaseNeedsNoNewPinAndEveryCommitIsSeen) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  WriteOneTxn(db, 1);
  auto reader = DbReader::Open(db, absl::Seconds(1));
  LS_ASSERT_OK(reader);
  LS_ASSERT_OK((*reader)->PinNext());
  (*reader)->PromoteNext();
  // PRAGMA data_version alone could not tell yet: the free connection never pinned.
  EXPECT_FALSE(Changed(**reader)) << "the wal-index header is read from the -shm";
  EXPECT_FALSE(Changed(**reader));
  for (int i = 0; i < 3; ++i) {
    WriteOneTxn(db, 10 + i);
    EXPECT_TRUE(Changed(**reader)) << "commit " << i;
    EXPECT_TRUE(Changed(**reader)) << "still unseen until a new pin";
    LS_ASSERT_OK((*reader)->PinNext());
    (*reader)->PromoteNext();
    EXPECT_FALSE(Changed(**reader)) << "after commit " << i;
  }
}

// A base pinned at a replicated position (resume after a restart) is older than
// the header at the time it was taken: commits after that position must count.
TEST(DbReaderChangeTest, AHistoricalPinIsNeverTakenForQuiet) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  WriteOneTxn(db, 1);
  auto reader = DbReader::Open(db, absl::Seconds(1));
  LS_ASSERT_OK(reader);
  absl::StatusOr<WalPin> old = (*reader)->PinNext();
  LS_ASSERT_OK(old);
  (*reader)->PromoteNext();
  WriteOneTxn(db, 2);
  (*reader)->ReleaseAll();
  LS_ASSERT_OK((*reader)->PinNextAt(old->token));
  (*reader)->PromoteNext();
  EXPECT_TRUE(Changed(**reader)) << "a commit after the pinned position";
}

class WatcherChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Join("app.db");
    testing::CreateWalDb(db_);
    options_ = testing::DbWithReplica(db_, testing::FileReplica(dir_.Join("replica")));
    options_.checkpoint_interval = absl::Minutes(1);
  }
  SyncRecord Record() {
    std::vector<SyncRecord> r = registry_.Snapshot();
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? SyncRecord{} : r[0];
  }

  testing::TempDir dir_;
  std::string db_;
  DbOptions options_;
  testing::FakeClock clock_;
  SyncRegistry registry_;
};

// Each step checkpoints (TRUNCATE: the WAL restarts empty), so every commit
// lands in a new WAL generation of the same size as the last: the case where a
// size or header check of the -wal file sees nothing new.
TEST_F(WatcherChangeTest, EveryCommitAfterAWalRestartIsShippedAtTheNextStep) {
  DbWatcher watcher(options_, &registry_, &clock_);
  watcher.Step();
  uint64_t txid = Record().replicated_txid;
  ASSERT_GT(txid, 0u);
  for (int i = 0; i < 4; ++i) {
    WriteOneTxn(db_, 20 + i);
    clock_.Advance(absl::Minutes(2));  // the checkpoint is due after this step's capture
    watcher.Step();
    EXPECT_GT(Record().local_txid, txid) << "commit " << i << " was not captured";
    EXPECT_EQ(Record().replicated_txid, Record().local_txid) << "commit " << i;
    EXPECT_EQ(std::filesystem::file_size(db_ + "-wal"), 0u) << "the WAL was truncated";
    txid = Record().replicated_txid;
    clock_.Advance(absl::Seconds(1));
    watcher.Step();  // quiet: nothing new
    EXPECT_EQ(Record().local_txid, txid);
  }
}

// Invariant 5 for a database with nothing to write: its last successful sync
// moves only when the replica is reached, so an unreachable replica turns the
// quiet database unhealthy instead of leaving it green.
TEST_F(WatcherChangeTest, AQuietDatabaseIsHealthyOnlyWhileItsReplicaIsReached) {
  DbWatcher watcher(options_, &registry_, &clock_);
  watcher.Step();
  ASSERT_TRUE(Record().SyncedOnce());
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(30));
    watcher.Step();
    EXPECT_EQ(Record().last_success, clock_.Now()) << "the replica was reached";
    EXPECT_TRUE(Record().last_error.ok()) << Record().last_error;
  }
  absl::Time reached = Record().last_success;
  std::filesystem::rename(dir_.Join("replica"), dir_.Join("replica.moved"));
  testing::WriteFileOrDie(dir_.Join("replica"), "not a directory");
  clock_.Advance(absl::Seconds(30));
  watcher.Step();
  EXPECT_EQ(Record().last_success, reached);
  EXPECT_FALSE(Record().last_error.ok());
}

}  // namespace
}  // namespace litesync
