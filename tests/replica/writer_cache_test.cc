// The writer's cache (replica/storage/writer_cache.h): compaction merges the
// level-0 files this instance just wrote from its local copies (in memory, or
// spilled to disk) without listing or reading the replica; after a restart it
// reads them from the replica; the merged files restore exactly either way; and
// the cache forgets what it knew when the lease record changes hands.
#include "replica/storage/writer_cache.h"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "base/log.h"
#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

// Counts what reaches the storage, then delegates to a real client.
class CountingClient : public ReplicaClient {
 public:
  explicit CountingClient(std::unique_ptr<ReplicaClient> inner) : inner_(std::move(inner)) {}
  int lists = 0, opens = 0;

  std::string_view Type() const override { return inner_->Type(); }
  std::string Describe() const override { return inner_->Describe(); }
  absl::StatusOr<std::vector<Lineage>> ListLineages() override {
    ++lists;
    return inner_->ListLineages();
  }
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage l, int level) override {
    ++lists;
    return inner_->List(l, level);
  }
  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override {
    return inner_->Write(info, bytes);
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    ++opens;
    return inner_->Open(info);
  }
  absl::Status Delete(std::span<const TxFileInfo> files) override { return inner_->Delete(files); }
  absl::Status Ping() override { return inner_->Ping(); }
  absl::StatusOr<Record> ReadRecord(std::string_view name) override {
    return inner_->ReadRecord(name);
  }
  absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                           const RecordCondition& when, std::string* version) override {
    return inner_->WriteRecord(name, bytes, when, version);
  }
  RecordConditions record_conditions() const override { return inner_->record_conditions(); }
  absl::StatusOr<std::vector<std::string>> ListRootNames() override {
    return inner_->ListRootNames();
  }

 private:
  std::unique_ptr<ReplicaClient> inner_;
};

class WriterCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getenv("LITESYNC_DEBUG")) SetLogLevel(LogLevel::kDebug);
    testing::CreateWalDb(db());
    // Two minutes past an hour: level 1 is next due at 00:30, level 2 at 05:00.
    clock_.Advance(absl::Hours(1) - (clock_.Now() - absl::UnixEpoch()) % absl::Hours(1) +
                   absl::Seconds(2));
  }
  std::string db() const { return dir_.Join("app.db"); }
  ReplicaOptions Replica() const { return testing::FileReplica(dir_.Join("replica")); }

  // The cache alone over a counting client of the directory replica.
  std::unique_ptr<ReplicaClient> CacheOverCounting(CountingClient** counting) {
    auto file = NewFileReplicaClient(Replica());
    EXPECT_TRUE(file.ok()) << file.status();
    if (!file.ok()) return nullptr;
    auto owned = std::make_unique<CountingClient>(std::move(*file));
    *counting = owned.get();
    return NewWriterCache(std::move(owned), {});
  }
  // A watcher whose client is the cache over a counting client (counting_).
  std::unique_ptr<DbWatcher> Watcher(WriterCacheOptions cache,
                                     absl::Duration validation = absl::ZeroDuration()) {
    cache.scratch_dir = dir_.path();
    auto factory =
        [this, cache](const ReplicaOptions& ro) -> absl::StatusOr<std::unique_ptr<ReplicaClient>> {
      auto file = NewFileReplicaClient(ro);
      if (!file.ok()) return file.status();
      auto counting = std::make_unique<CountingClient>(std::move(*file));
      counting_ = counting.get();
      return NewWriterCache(std::move(counting), cache);
    };
    ReplicaOptions replica = Replica();
    replica.validation_interval = validation;
    // Validating: no compaction, which would merge the level-0 files (from the
    // copies) before validation reads them.
    if (validation > absl::ZeroDuration()) replica.compaction_intervals.fill(absl::ZeroDuration());
    return std::make_unique<DbWatcher>(testing::DbWithReplica(db(), replica), &registry_, &clock_,
                                       factory);
  }
  // A few transactions per step, a second apart: one level-0 file each.
  void WriteSteps(DbWatcher& w, int steps, int seed) {
    for (int i = 0; i < steps; ++i) {
      ASSERT_EQ(testing::RunProcess(
                    {testing::WriterBin(), db(), "-txns", "3", "-seed", std::to_string(seed + i)},
                    absl::Seconds(30)),
                0);
      clock_.Advance(absl::Seconds(1));
      w.Step();
    }
  }
  std::vector<TxFileInfo> Stored(int level) {
    auto client = NewFileReplicaClient(Replica());
    auto lineages = (*client)->ListLineages();
    std::vector<TxFileInfo> out;
    for (Lineage l : *lineages) {
      auto files = (*client)->List(l, level);
      out.insert(out.end(), files->begin(), files->end());
    }
    return out;
  }
  // The replica's latest state (the level-1 file ends at it) equals the database.
  void ExpectRestoresExactly() {
    auto client = NewFileReplicaClient(Replica());
    std::string out = dir_.Join("restored.db");
    LS_ASSERT_OK(testing::RestoreTo(**client, {}, out));
    EXPECT_EQ(testing::IntegrityCheck(out), "ok");
    EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
  }
  // Runs level-1 compaction: the clock crosses the next 30-second boundary.
  void CompactLevel1(DbWatcher& w) {
    clock_.Advance(absl::Seconds(30));
    w.Step();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  SyncRegistry registry_;
  CountingClient* counting_ = nullptr;
};

TEST_F(WriterCacheTest, CompactionMergesItsOwnCopiesWithoutListingOrReadingTheReplica) {
  std::unique_ptr<DbWatcher> w = Watcher({});
  w->Step();  // start-up: snapshot, lease, every level's first pass
  WriteSteps(*w, 5, 1);
  size_t level0 = Stored(0).size();
  ASSERT_GE(level0, 5u);
  counting_->lists = counting_->opens = 0;
  CompactLevel1(*w);
  EXPECT_EQ(counting_->opens, 0) << "level-0 files read back from the replica";
  EXPECT_EQ(counting_->lists, 0) << "the replica listed although this instance wrote it all";
  std::vector<TxFileInfo> level1 = Stored(1);
  ASSERT_FALSE(level1.empty());
  EXPECT_EQ(level1.back().max_txid, Stored(0).back().max_txid);
  LS_ASSERT_OK(w->FinalSync(absl::Now() + absl::Seconds(10)));
  ExpectRestoresExactly();
}

TEST_F(WriterCacheTest, CopiesOverTheMemoryLimitSpillToDiskAndStillMergeExactly) {
  std::unique_ptr<DbWatcher> w = Watcher({.memory_limit = 0, .scratch_dir = ""});
  w->Step();
  WriteSteps(*w, 4, 11);
  counting_->lists = counting_->opens = 0;
  CompactLevel1(*w);
  EXPECT_EQ(counting_->opens, 0);
  ASSERT_FALSE(Stored(1).empty());
  LS_ASSERT_OK(w->FinalSync(absl::Now() + absl::Seconds(10)));
  ExpectRestoresExactly();
}

// Over both limits nothing is kept: compaction reads the files from the replica.
TEST_F(WriterCacheTest, CopiesOverBothLimitsAreReadFromTheReplica) {
  std::unique_ptr<DbWatcher> w = Watcher({.memory_limit = 0, .disk_limit = 0, .scratch_dir = ""});
  w->Step();
  WriteSteps(*w, 3, 21);
  counting_->opens = 0;
  CompactLevel1(*w);
  EXPECT_GE(counting_->opens, 3);
  ASSERT_FALSE(Stored(1).empty());
  LS_ASSERT_OK(w->FinalSync(absl::Now() + absl::Seconds(10)));
  ExpectRestoresExactly();
}

// A restart between upload and compaction: the new process has no copies of the
// level-0 files the old one wrote, reads them from the replica, and the merged
// file restores exactly.
TEST_F(WriterCacheTest, ARestartBetweenUploadAndCompactionCompactsFromTheReplica) {
  std::unique_ptr<DbWatcher> before = Watcher({});
  before->Step();
  WriteSteps(*before, 4, 31);
  LS_ASSERT_OK(before->FinalSync(absl::Now() + absl::Seconds(10)));
  before.reset();  // a clean stop: the lease is released
  std::vector<TxFileInfo> written = Stored(0);
  ASSERT_GE(written.size(), 4u);

  std::unique_ptr<DbWatcher> after = Watcher({});
  counting_->opens = 0;
  clock_.Advance(absl::Seconds(1));
  after->Step();  // start-up: every level's first pass
  CompactLevel1(*after);
  EXPECT_GE(counting_->opens, static_cast<int>(written.size()) - 1)
      << "the files the earlier process wrote come from the replica";
  std::vector<TxFileInfo> level1 = Stored(1);
  ASSERT_FALSE(level1.empty());
  EXPECT_GE(level1.back().max_txid, written.back().max_txid);
  ExpectRestoresExactly();
}

// Validation reads the storage, not the copies: a level-0 file damaged in the
// replica after the upload fails it although the local copy is intact.
TEST_F(WriterCacheTest, ValidationReadsTheStorageNotTheLocalCopies) {
  std::unique_ptr<DbWatcher> w = Watcher({}, absl::Hours(1));
  w->Step();  // start-up: the snapshot, then the first validation (it passes)
  WriteSteps(*w, 3, 41);
  std::vector<TxFileInfo> level0 = Stored(0);
  ASSERT_FALSE(level0.empty());
  std::string path = dir_.Join("replica/" + level0.back().RelativePath());
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x01;
  testing::WriteFileOrDie(path, bytes);
  ASSERT_FALSE(registry_.Snapshot()[0].validation_failed);
  clock_.Advance(absl::Hours(1));
  w->Step();
  SyncRecord r = registry_.Snapshot()[0];
  EXPECT_TRUE(r.validation_failed) << "validated the local copy, not the replica: " << r.last_error;
}

// A record read back unlike the one this client wrote: another writer was at
// work, so the listings are asked again.
TEST_F(WriterCacheTest, ListingsAreForgottenWhenTheRecordChangesHands) {
  CountingClient* counting = nullptr;
  std::unique_ptr<ReplicaClient> cache = CacheOverCounting(&counting);
  ASSERT_NE(cache, nullptr);
  LS_ASSERT_OK(cache->ListLineages());
  LS_ASSERT_OK(cache->ListLineages());
  EXPECT_EQ(counting->lists, 1);
  LS_ASSERT_OK(cache->WriteRecord("lease", "mine", {}, nullptr));
  LS_ASSERT_OK(cache->ReadRecord("lease"));
  LS_ASSERT_OK(cache->ListLineages());
  EXPECT_EQ(counting->lists, 1) << "its own record: nothing changed";
  auto other = NewFileReplicaClient(Replica());
  LS_ASSERT_OK((*other)->WriteRecord("lease", "theirs"));
  LS_ASSERT_OK(cache->ReadRecord("lease"));
  LS_ASSERT_OK(cache->ListLineages());
  EXPECT_EQ(counting->lists, 2);
}

// A record still absent that this client never wrote: nobody has held the lease
// since the listing (a writer writes the record before any file), so the start-up's
// listing stands. Once it wrote the record, its absence means someone removed it.
TEST_F(WriterCacheTest, ListingsStandWhileTheRecordWasNeverWritten) {
  CountingClient* counting = nullptr;
  std::unique_ptr<ReplicaClient> cache = CacheOverCounting(&counting);
  ASSERT_NE(cache, nullptr);
  LS_ASSERT_OK(cache->ListLineages());
  EXPECT_TRUE(absl::IsNotFound(cache->ReadRecord("lease").status()));
  LS_ASSERT_OK(cache->ListLineages());
  EXPECT_EQ(counting->lists, 1) << "an absent record it never wrote: nothing changed";
  LS_ASSERT_OK(cache->WriteRecord("lease", "mine", {}, nullptr));
  ASSERT_EQ(::unlink(dir_.Join("replica/lease").c_str()), 0) << dir_.Join("replica/lease");
  EXPECT_TRUE(absl::IsNotFound(cache->ReadRecord("lease").status()));
  LS_ASSERT_OK(cache->ListLineages());
  EXPECT_EQ(counting->lists, 2) << "its own record gone: someone else was at work";
}

}  // namespace
}  // namespace litesync
