// A database replaced in place while litesync replicates it: the application
// closes, its -wal and -shm are deleted and another database is copied over the
// same inode. litesync must let go of the old WAL (never checkpoint it into the
// new file, which would revert the application's data), start a new lineage, and
// ship the writes that follow (docs/FORMAT.md, "A database replaced in place").
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::TempDir;

void Fill(const std::string& path, int rows) {
  testing::CreateWalDb(path);
  SqliteDb db = testing::OpenDb(path);
  testing::ExecOrDie(db.get(), "BEGIN");
  for (int i = 0; i < rows; ++i) {
    testing::ExecOrDie(db.get(), "INSERT INTO t(v) VALUES (hex(randomblob(300)))");
  }
  testing::ExecOrDie(db.get(), "COMMIT");
}

std::string Rows(const std::string& path) {
  SqliteDb db = testing::OpenDb(path);
  return testing::QueryOne(db.get(), "SELECT count(*) FROM t");
}

// Copies `from` over `to` in place: the same inode, as `cp other.db src.db` does.
void CopyInPlace(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

class ReplacedDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Fill(db_, 400);
    Fill(other_, 77);
    // A clean copy of `other` without its WAL: the file a user would copy in.
    SqliteDb o = testing::OpenDb(other_);
    testing::ExecOrDie(o.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
  }

  // litesync replicates src.db; then, as a user would with the application
  // stopped, its -wal and -shm are deleted and other.db is copied over it.
  std::unique_ptr<testing::Process> ReplicateThenReplaceInPlace() {
    auto sidecar = std::make_unique<testing::Process>(
        std::vector<std::string>{testing::LitesyncBin(), "replicate", db_, replica_}, log_);
    absl::SleepFor(absl::Seconds(2));
    std::filesystem::remove(db_ + "-wal");
    std::filesystem::remove(db_ + "-shm");
    CopyInPlace(other_, db_);
    return sidecar;
  }

  // The replica restores exactly to the database, and holds `lineages` lineages.
  void ExpectReplicaIsTheDatabase(size_t lineages) {
    auto client = NewFileReplicaClient(testing::FileReplica(replica_));
    ASSERT_TRUE(client.ok()) << client.status();
    auto got = (*client)->ListLineages();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->size(), lineages) << testing::ReadFileOrDie(log_);
    std::string out = dir_.Join("restored.db");
    absl::StatusOr<RestorePlan> plan = testing::RestoreTo(**client, {}, out);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(testing::IntegrityCheck(out), "ok");
    EXPECT_TRUE(*testing::DumpContent(out) == *testing::DumpContent(db_))
        << "the restored database differs from " << db_;
  }

  TempDir dir_;
  std::string db_ = dir_.Join("src.db"), other_ = dir_.Join("other.db");
  std::string replica_ = dir_.Join("replica"), log_ = dir_.Join("litesync.log");
};

TEST_F(ReplacedDbTest, CopiedOverInPlaceIsNeverRevertedAndLaterWritesReachTheReplica) {
  std::unique_ptr<testing::Process> sidecar = ReplicateThenReplaceInPlace();
  // litesync's next steps (and checkpoints) come and go.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(Rows(db_), "77") << "the replaced database was reverted";
  {
    SqliteDb app = testing::OpenDb(db_);
    testing::ExecOrDie(app.get(), "INSERT INTO t(v) VALUES ('after the replacement')");
  }
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(Rows(db_), "78");
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << testing::ReadFileOrDie(log_);
  std::string log = testing::ReadFileOrDie(log_);
  EXPECT_NE(log.find("level=WARN msg=\"database file replaced; reopening\""), std::string::npos)
      << log;
  ExpectReplicaIsTheDatabase(2);
}

// The same with the application writing right after the replacement (a writer
// process that starts on the new file at once).
TEST_F(ReplacedDbTest, CopiedOverInPlaceWithAWriterActiveLosesNothing) {
  std::unique_ptr<testing::Process> sidecar = ReplicateThenReplaceInPlace();
  EXPECT_EQ(testing::RunProcess({testing::WriterBin(), db_, "-txns", "300", "-rate", "100", "-log",
                                 dir_.Join("writer.log")},
                                absl::Seconds(60), dir_.Join("writer.out")),
            0)
      << testing::ReadFileOrDie(dir_.Join("writer.out"));
  EXPECT_EQ(Rows(db_), "77") << "the replaced database was reverted";
  absl::SleepFor(absl::Seconds(1));
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(absl::Seconds(60)), 0) << testing::ReadFileOrDie(log_);
  ExpectReplicaIsTheDatabase(2);
}

}  // namespace
}  // namespace litesync
