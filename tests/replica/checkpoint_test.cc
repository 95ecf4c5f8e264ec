// litesync's own checkpoints beside an application that checkpoints too
// (DESIGN.md invariant 2: the sidecar keeps the WAL bounded under continuous writes).
#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "replica/db_reader.h"
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

}  // namespace
}  // namespace litesync
