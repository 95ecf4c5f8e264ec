// litesync's own checkpoints beside an application that checkpoints too
// (the sidecar keeps the WAL bounded under continuous writes).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/handles.h"
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "replica/sqlite/db_reader.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

// SQLite never waits for the checkpointer lock: a second checkpointer fails at
// once with SQLITE_BUSY. An application past its autocheckpoint size takes that
// lock at nearly every commit, so a sidecar that gave up at once would seldom
// restart the WAL. DbReader::Checkpoint waits for it, up to its busy timeout.
TEST(DbReaderCheckpointTest, WaitsForAnotherCheckpointerInsteadOfFailingAtOnce) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  SqliteDb app = testing::OpenDb(db);  // open throughout: its close would checkpoint
  testing::ExecOrDie(app.get(), "PRAGMA wal_autocheckpoint=0; CREATE TABLE items(v);");
  for (int i = 0; i < 20; ++i) testing::ExecOrDie(app.get(), "INSERT INTO items VALUES(1)");
  auto reader = DbReader::Open(db, absl::Seconds(5));
  LS_ASSERT_OK(reader);

  // The other checkpointer: a TRUNCATE that, once it has backfilled, waits in its
  // busy handler for a reader, holding the checkpointer lock for ~300 ms.
  SqliteDb app_reader = testing::OpenDb(db);
  testing::ExecOrDie(app_reader.get(), "BEGIN; SELECT count(*) FROM items;");
  SqliteDb other = testing::OpenDb(db);
  std::atomic<bool> waiting{false};
  struct Waiter {
    std::atomic<bool>* waiting;
    absl::Time give_up;
  } waiter{&waiting, absl::Now() + absl::Milliseconds(300)};
  sqlite3_busy_handler(
      other.get(),
      [](void* arg, int) {
        auto* w = static_cast<Waiter*>(arg);
        w->waiting->store(true);
        absl::SleepFor(absl::Milliseconds(5));
        return absl::Now() < w->give_up ? 1 : 0;
      },
      &waiter);
  std::thread other_checkpoint([&] {
    testing::ExecOrDie(other.get(), "SELECT 1 FROM sqlite_schema LIMIT 1");
    int log = 0, done = 0;
    EXPECT_EQ(
        sqlite3_wal_checkpoint_v2(other.get(), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done),
        SQLITE_BUSY);
    testing::ExecOrDie(app_reader.get(), "COMMIT");  // now ours can restart the WAL
  });
  while (!waiting.load()) absl::SleepFor(absl::Milliseconds(1));

  absl::Time start = absl::Now();
  int log = -1, done = -1;
  absl::Status s = (*reader)->Checkpoint(SQLITE_CHECKPOINT_RESTART, &log, &done);
  absl::Duration took = absl::Now() - start;
  other_checkpoint.join();
  LS_EXPECT_OK(s) << "gave up after " << took;
  EXPECT_EQ(log, done) << "every frame backfilled";
  EXPECT_GE(took, absl::Milliseconds(100)) << "it waited for the other checkpointer";
}

int64_t SizeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

// The application's checkpoint, from its own process: 0 when it ran, 1 when
// SQLite answered SQLITE_BUSY (the checkpointer lock was taken).
int AppCheckpoint(const std::string& db) {
  return testing::RunProcess({testing::WriterBin(), db, "-checkpoint", "PASSIVE"},
                             absl::Seconds(30));
}

class CheckpointerLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_THREAD__)
    // The lock is held only while the wal-index header reads whole, and a TSan
    // build never reads it (DbReader::ReadWalIndexHeader).
    GTEST_SKIP() << "TSan builds never hold the checkpointer lock";
#endif
    testing::CreateWalDb(db_);
    auto r = DbReader::Open(db_, absl::Seconds(5));
    LS_ASSERT_OK(r);
    reader_ = std::move(*r);
    ASSERT_EQ(Write("300"), 0);  // the application, in its own process
  }
  // Inserts of a page each: past 1000 pages the application's autocheckpoint
  // would copy them into the database file.
  int Write(const std::string& txns) {
    return testing::RunProcess(
        {testing::WriterBin(), db_, "-mode", "insert", "-txns", txns, "-payload", "3000"},
        absl::Seconds(60));
  }

  testing::TempDir dir_;
  std::string db_ = dir_.Join("app.db");
  std::unique_ptr<DbReader> reader_;
};

// Held, the application's checkpoints (its autocheckpoint after each commit,
// and its own wal_checkpoint calls) return SQLITE_BUSY without touching the
// database file, while litesync's own run on the held lock, and it is still
// held after them.
TEST_F(CheckpointerLockTest, HeldTheApplicationsCheckpointsDoNothingAndOursRun) {
  reader_->HoldCheckpointLock(true);
  ASSERT_TRUE(reader_->holds_checkpoint_lock());
  int64_t before = SizeOf(db_);
  ASSERT_EQ(Write("1500"), 0);
  EXPECT_EQ(SizeOf(db_), before) << "the application's autocheckpoint backfilled";
  EXPECT_EQ(AppCheckpoint(db_), 1);

  int log = -1, done = -1;
  LS_ASSERT_OK(reader_->Checkpoint(SQLITE_CHECKPOINT_PASSIVE, &log, &done));
  EXPECT_GT(log, 1500);
  EXPECT_EQ(done, log);
  EXPECT_GT(SizeOf(db_), before + (1500 << 12)) << "ours backfilled every page";
  EXPECT_TRUE(reader_->holds_checkpoint_lock());
  EXPECT_EQ(AppCheckpoint(db_), 1) << "our checkpoint let go of the lock";

  reader_->HoldCheckpointLock(false);
  EXPECT_FALSE(reader_->holds_checkpoint_lock());
  EXPECT_EQ(AppCheckpoint(db_), 0);
}

TEST_F(CheckpointerLockTest, ClosingTheReaderLetsGo) {
  reader_->HoldCheckpointLock(true);
  ASSERT_EQ(AppCheckpoint(db_), 1);
  reader_.reset();
  EXPECT_EQ(AppCheckpoint(db_), 0);
}

// A writer killed between the two copies of the wal-index header leaves them
// different; every process's next read then rebuilds the wal-index, under the
// checkpointer lock. Held, SQLite would retry for ~10 s and fail with
// SQLITE_PROTOCOL ("locking protocol"), in the application and in our pin.
TEST_F(CheckpointerLockTest, ATornWalIndexHeaderLetsGoForRecovery) {
  auto before = reader_->PinNext();
  LS_ASSERT_OK(before);
  reader_->ReleaseNext();
  ASSERT_GT(before->cursor.frames, 0u);
  reader_->HoldCheckpointLock(true);
  ASSERT_TRUE(reader_->holds_checkpoint_lock());
  {
    UniqueFd shm(::open((db_ + "-shm").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(shm.valid());
    uint8_t change = 0;  // WalIndexHdr.iChange of the first copy
    ASSERT_EQ(::pread(shm.get(), &change, 1, 8), 1);
    change ^= 0x5a;
    ASSERT_EQ(::pwrite(shm.get(), &change, 1, 8), 1);
  }
  auto pin = reader_->PinNext();
  LS_ASSERT_OK(pin);
  EXPECT_FALSE(reader_->holds_checkpoint_lock());
  EXPECT_EQ(pin->cursor.frames, before->cursor.frames) << "the rebuilt wal-index has every frame";
  EXPECT_EQ(pin->cursor.cksum1, before->cursor.cksum1);
  reader_->ReleaseNext();
  EXPECT_EQ(Write("5"), 0) << "the application could not recover the wal-index";
  reader_->HoldCheckpointLock(true);
  EXPECT_TRUE(reader_->holds_checkpoint_lock()) << "a whole header again";
}

}  // namespace
}  // namespace litesync
