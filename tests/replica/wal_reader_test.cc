#include "replica/sqlite/wal_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/handles.h"
#include <gtest/gtest.h>

#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::TempDir;

// A real WAL with `txns` committed transactions, copied aside while a
// connection keeps it from being checkpointed away.
std::string MakeWal(const TempDir& dir, int txns) {
  std::string db_path = dir.Join("w.db");
  SqliteDb db = testing::OpenDb(db_path);
  testing::ExecOrDie(db.get(), "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;");
  testing::ExecOrDie(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  for (int i = 0; i < txns; ++i) {
    testing::ExecOrDie(db.get(), "INSERT INTO t(v) VALUES(randomblob(3000))");
  }
  return testing::ReadFileOrDie(db_path + "-wal");
}

struct ScanResult {
  absl::Status status;
  int commits = 0;
  WalCursor end;
};

ScanResult Scan(const TempDir& dir, const std::string& bytes) {
  std::string path = dir.Join("copy-wal");
  testing::WriteFileOrDie(path, bytes);
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  ScanResult r;
  auto hdr = ReadWalHeader(fd.get(), path);
  if (!hdr.ok()) {
    r.status = hdr.status();
    return r;
  }
  auto end = ScanWal(fd.get(), path, *hdr, StartCursor(*hdr), 0,
                     [&](const std::vector<WalFrame>&, uint32_t, const WalCursor&) {
                       ++r.commits;
                       return absl::OkStatus();
                     });
  r.status = end.status();
  if (end.ok()) r.end = *end;
  return r;
}

TEST(WalReaderTest, FindsEveryCommittedTransaction) {
  TempDir dir;
  ScanResult r = Scan(dir, MakeWal(dir, 5));
  LS_ASSERT_OK(r.status);
  EXPECT_EQ(r.commits, 6);  // CREATE TABLE + 5 inserts
}

TEST(WalReaderTest, TruncationAtEveryLengthStopsCleanlyAtACommit) {
  TempDir dir;
  std::string wal = MakeWal(dir, 3);
  int last_commits = -1;
  for (size_t len = 0; len <= wal.size(); len += 97) {
    ScanResult r = Scan(dir, wal.substr(0, len));
    if (len < kWalHeaderSize) {
      EXPECT_TRUE(absl::IsNotFound(r.status)) << len;
      continue;
    }
    LS_ASSERT_OK(r.status);
    EXPECT_GE(r.commits, last_commits) << "commits never go backwards as the file grows";
    last_commits = r.commits;
  }
  EXPECT_EQ(Scan(dir, wal).commits, 4);
}

TEST(WalReaderTest, StopsAtFrameWithWrongSaltOrChecksum) {
  TempDir dir;
  std::string wal = MakeWal(dir, 3);
  ScanResult full = Scan(dir, wal);
  ASSERT_EQ(full.commits, 4);
  // Corrupt the salt of the last frame: the last transaction is not shipped.
  std::string bad = wal;
  uint32_t page_size = 4096;
  size_t frame = kWalHeaderSize + (full.end.frames - 1) * (kWalFrameHeaderSize + page_size);
  bad[frame + 8] ^= 0x01;
  EXPECT_EQ(Scan(dir, bad).commits, 3);
  // Flip a byte of the first frame's page: nothing is valid after the header.
  bad = wal;
  bad[kWalHeaderSize + kWalFrameHeaderSize + 100] ^= 0x40;
  EXPECT_EQ(Scan(dir, bad).commits, 0);
}

}  // namespace
}  // namespace litesync
