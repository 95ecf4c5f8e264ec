// Compaction: hand-made tx files pin down the merge rules (newest page wins, a
// shrink drops pages, checksums must chain, runs split at gaps, timestamps come
// from the last input); a writer process over hours of FakeClock time shows
// restores at every level boundary equal the source.
#include "replica/maintenance/compactor.h"

#include <filesystem>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/format/page_checksum.h"
#include "replica/format/tx_file.h"
#include "replica/storage/replica_head.h"
#include "tests/replica/lifecycle_history.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr uint32_t kPageSize = 512;
const absl::Time kT0 = absl::FromUnixSeconds(1'699'999'200);  // on an hour boundary

// Writes hand-made tx files of one lineage and tracks the database image they
// describe, so checksums chain exactly as the watcher's do.
class Synthetic {
 public:
  Synthetic(ReplicaClient* client, Lineage lineage) : client_(client), lineage_(lineage) {}

  // The lineage's first snapshot: `commit` pages filled with 'a', 'b', ...
  TxFileInfo Begin(uint32_t commit, absl::Time ts) {
    for (uint32_t p = 1; p <= commit; ++p) image_[p] = Page(static_cast<char>('a' + p - 1));
    commit_ = commit;
    return Snapshot(lineage_, ts);
  }
  TxFileInfo Snapshot(uint64_t txid, absl::Time ts) {
    TxHeader h = Header(lineage_, txid, ts);
    h.snapshot = true;
    return Emit(h, image_, kSnapshotLevel);
  }
  // Sets pages (pgno -> fill byte) after dropping those beyond `commit`; a
  // growth must list every new page. `pre` overrides the pre-checksum.
  TxFileInfo Increment(uint64_t min, uint64_t max, uint32_t commit,
                       const std::map<uint32_t, char>& set, absl::Time ts,
                       std::optional<uint64_t> pre = std::nullopt) {
    TxHeader h = Header(min, max, ts);
    h.pre_checksum = pre.value_or(Sum());
    image_.erase(image_.upper_bound(commit), image_.end());
    std::map<uint32_t, std::string> pages;
    for (const auto& [p, c] : set) pages[p] = image_[p] = Page(c);
    commit_ = commit;
    h.commit = commit;
    return Emit(h, pages, 0);
  }
  // The database file the image stands for.
  std::string Bytes() const {
    std::string out;
    for (const auto& [p, page] : image_) out += page;
    return out;
  }

 private:
  static std::string Page(char c) { return std::string(kPageSize, c); }
  uint64_t Sum() const {
    uint64_t sum = 0;
    for (const auto& [p, page] : image_) sum ^= PageHash(p, page);
    return sum;
  }
  TxHeader Header(uint64_t min, uint64_t max, absl::Time ts) const {
    TxHeader h;
    h.page_size = kPageSize;
    h.commit = commit_;
    h.lineage = lineage_;
    h.min_txid = min;
    h.max_txid = max;
    h.timestamp_ms = absl::ToUnixMillis(ts);
    h.resume[0] = static_cast<uint8_t>(max);  // tells the inputs' tokens apart
    return h;
  }
  TxFileInfo Emit(const TxHeader& h, const std::map<uint32_t, std::string>& pages, int level) {
    auto builder = TxFileBuilder::Create(h);
    EXPECT_TRUE(builder.ok()) << builder.status();
    for (const auto& [p, page] : pages) LS_EXPECT_OK((*builder)->AddPage(p, page));
    auto bytes = (*builder)->Finish(Sum());
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    TxFileInfo info = h.Info(level);
    info.size = (*bytes)->Size();
    LS_EXPECT_OK(client_->Write(info, **bytes));
    return info;
  }

  ReplicaClient* client_;
  Lineage lineage_;
  std::map<uint32_t, std::string> image_;
  uint32_t commit_ = 0;
};

struct ReadBack {
  TxHeader header;
  std::map<uint32_t, char> pages;  // pgno -> fill byte
};

ReadBack ReadTxFile(ReplicaClient& client, const TxFileInfo& info) {
  ReadBack out;
  auto src = client.Open(info);
  EXPECT_TRUE(src.ok()) << src.status();
  auto reader = TxFileReader::Open(std::move(*src), info.Name());
  EXPECT_TRUE(reader.ok()) << reader.status();
  out.header = (*reader)->header();
  uint32_t pgno;
  std::string_view page;
  while (true) {
    auto more = (*reader)->Next(&pgno, &page);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    out.pages[pgno] = page[0];
  }
  return out;
}

class CompactorTest : public ::testing::Test {
 protected:
  CompactorTest() {
    auto c = NewFileReplicaClient(testing::FileReplica(dir_.Join("replica")));
    EXPECT_TRUE(c.ok());
    client_ = std::move(*c);
  }
  std::vector<TxFileInfo> List(int level, Lineage lineage = 1) {
    auto files = client_->List(lineage, level);
    EXPECT_TRUE(files.ok()) << files.status();
    return *files;
  }
  // Restores `target` and returns the database file's bytes.
  std::string Restore(RestoreTarget target = {}) {
    std::string out = dir_.Join("restore-" + std::to_string(++restores_) + ".db");
    auto plan = testing::RestoreTo(*client_, target, out);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? testing::ReadFileOrDie(out) : "";
  }
  // Deletes every file of `level` in lineage 1 (what retention would do).
  void DropLevel(int level) { LS_ASSERT_OK(client_->Delete(List(level))); }

  TempDir dir_;
  std::unique_ptr<ReplicaClient> client_;
  CompactionOptions options_;
  int restores_ = 0;
};

TEST_F(CompactorTest, MergedFileKeepsNewestPagesAndDropsPagesCutByAShrink) {
  Synthetic s(client_.get(), 1);
  s.Begin(3, kT0);
  s.Increment(2, 2, 5, {{1, 'A'}, {4, 'D'}, {5, 'E'}}, kT0 + absl::Seconds(1));  // grows to 5
  s.Increment(3, 3, 2, {{2, 'B'}}, kT0 + absl::Seconds(2));                      // shrinks to 2
  s.Increment(4, 4, 4, {{3, 'x'}, {4, 'y'}}, kT0 + absl::Seconds(3));            // grows to 4
  s.Increment(5, 6, 4, {{1, 'z'}}, kT0 + absl::Seconds(4));
  CompactionResult result;
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &result));
  ASSERT_EQ(result.written.size(), 1u);
  EXPECT_EQ(result.inputs.size(), 4u);
  ReadBack merged = ReadTxFile(*client_, result.written[0]);
  // Page 5 died in the shrink; page 4 is the regrown one, page 1 the newest.
  EXPECT_EQ(merged.pages, (std::map<uint32_t, char>{{1, 'z'}, {2, 'B'}, {3, 'x'}, {4, 'y'}}));
  EXPECT_EQ(merged.header.commit, 4u);
  EXPECT_EQ(result.pages, 4u);

  // The merged file alone (with the snapshot) restores the same database.
  std::string want = s.Bytes();
  DropLevel(0);
  EXPECT_EQ(Restore(), want);
}

TEST_F(CompactorTest, MergedHeaderTakesTheRunsEndsAndTheLastInputsTimestamp) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  TxFileInfo a = s.Increment(2, 4, 2, {{1, 'A'}}, kT0 + absl::Minutes(1));
  s.Increment(5, 5, 3, {{3, 'C'}}, kT0 + absl::Minutes(2));
  TxFileInfo c = s.Increment(6, 9, 3, {{2, 'B'}}, kT0 + absl::Minutes(3));
  ReadBack first = ReadTxFile(*client_, a), last = ReadTxFile(*client_, c);
  CompactionResult result;
  // Compaction runs long after the inputs were captured; their time is kept.
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &result));
  ASSERT_EQ(result.written.size(), 1u);
  const TxFileInfo& info = result.written[0];
  EXPECT_EQ(info.level, 1);
  EXPECT_EQ(info.min_txid, 2u);
  EXPECT_EQ(info.max_txid, 9u);
  EXPECT_EQ(info.timestamp, c.timestamp);
  ReadBack merged = ReadTxFile(*client_, info);
  EXPECT_EQ(merged.header.timestamp_ms, last.header.timestamp_ms);
  EXPECT_EQ(merged.header.pre_checksum, first.header.pre_checksum);
  EXPECT_EQ(merged.header.post_checksum, last.header.post_checksum);
  EXPECT_EQ(merged.header.resume, last.header.resume);
  EXPECT_FALSE(merged.header.snapshot);
  EXPECT_THAT(List(1), ElementsAre(info));
}

TEST_F(CompactorTest, ChecksumMismatchIsDataLossNamingBothFilesAndWritesNothing) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  TxFileInfo a = s.Increment(2, 2, 2, {{1, 'A'}}, kT0 + absl::Seconds(1));
  TxFileInfo b = s.Increment(3, 3, 2, {{2, 'B'}}, kT0 + absl::Seconds(2), /*pre=*/0x1234);
  CompactionResult result;
  absl::Status st = Compact(*client_, 1, 1, options_, &result);
  ASSERT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr(a.Name()));
  EXPECT_THAT(std::string(st.message()), HasSubstr(b.Name()));
  EXPECT_TRUE(List(1).empty());
  EXPECT_TRUE(result.written.empty());
}

TEST_F(CompactorTest, TxidGapSplitsTheMergeAndNoFileSpansIt) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  s.Increment(2, 2, 2, {{1, 'A'}}, kT0 + absl::Seconds(1));
  s.Increment(3, 3, 2, {{2, 'B'}}, kT0 + absl::Seconds(2));
  std::string at3 = s.Bytes();
  // A replica that fell behind never got txids 4..5, but a snapshot at 5.
  TxFileInfo missed = s.Increment(4, 5, 3, {{3, 'C'}}, kT0 + absl::Seconds(3));
  LS_ASSERT_OK(client_->Delete({&missed, 1}));
  s.Snapshot(5, kT0 + absl::Seconds(3));
  s.Increment(6, 6, 3, {{1, 'D'}}, kT0 + absl::Seconds(4));
  s.Increment(7, 8, 3, {{3, 'E'}}, kT0 + absl::Seconds(5));
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, nullptr));
  std::vector<TxFileInfo> l1 = List(1);
  ASSERT_EQ(l1.size(), 2u);
  EXPECT_EQ(l1[0].min_txid, 2u);
  EXPECT_EQ(l1[0].max_txid, 3u);
  EXPECT_EQ(l1[1].min_txid, 6u);
  EXPECT_EQ(l1[1].max_txid, 8u);
  std::string want = s.Bytes();
  DropLevel(0);
  EXPECT_EQ(Restore(), want);
  RestoreTarget t3;
  t3.txid = 3;
  EXPECT_EQ(Restore(t3), at3);
}

TEST_F(CompactorTest, RunsAgainMergeOnlyWhatNoHigherLevelCoversYet) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  s.Increment(2, 2, 2, {{1, 'A'}}, kT0 + absl::Seconds(1));
  s.Increment(3, 3, 2, {{2, 'B'}}, kT0 + absl::Seconds(2));
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, nullptr));
  CompactionResult again;
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &again));
  EXPECT_TRUE(again.written.empty());
  EXPECT_TRUE(again.inputs.empty());

  s.Increment(4, 4, 3, {{3, 'C'}}, kT0 + absl::Seconds(3));
  s.Increment(5, 5, 3, {{1, 'D'}}, kT0 + absl::Seconds(4));
  CompactionResult next;
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &next));
  ASSERT_EQ(next.written.size(), 1u);
  EXPECT_EQ(next.written[0].min_txid, 4u);
  EXPECT_EQ(next.written[0].max_txid, 5u);

  // Level 2 merges both level-1 files; level 3 then covers it all.
  CompactionResult l2;
  LS_ASSERT_OK(Compact(*client_, 1, 2, options_, &l2));
  ASSERT_EQ(l2.written.size(), 1u);
  EXPECT_EQ(l2.inputs.size(), 2u);
  EXPECT_EQ(l2.written[0].min_txid, 2u);
  EXPECT_EQ(l2.written[0].max_txid, 5u);
  EXPECT_EQ(l2.written[0].timestamp, kT0 + absl::Seconds(4));
  LS_ASSERT_OK(Compact(*client_, 1, 3, options_, nullptr));
  ASSERT_EQ(List(3).size(), 1u);
  // Files covered at level 3 are not merged into level 1 or 2 again, even once
  // retention removed the levels in between.
  DropLevel(1);
  DropLevel(2);
  CompactionResult none;
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &none));
  LS_ASSERT_OK(Compact(*client_, 1, 2, options_, &none));
  EXPECT_TRUE(none.written.empty());
  std::string want = s.Bytes();
  DropLevel(0);
  EXPECT_EQ(Restore(), want);
}

TEST_F(CompactorTest, MergeBeyondTheMemoryLimitStagesOnDiskAndWritesTheSameBytes) {
  Synthetic s(client_.get(), 1);
  s.Begin(40, kT0);
  for (uint64_t txid = 2; txid <= 12; ++txid) {
    std::map<uint32_t, char> set;
    for (uint32_t p = 1; p <= 40; p += static_cast<uint32_t>(txid % 4 + 1)) {
      set[p] = static_cast<char>('A' + txid);
    }
    uint32_t commit = txid == 7 ? 30 : 40;  // one shrink, then regrowth
    if (txid == 8) {
      for (uint32_t p = 31; p <= 40; ++p) set[p] = 'R';
    }
    for (auto it = set.begin(); it != set.end();) it = it->first > commit ? set.erase(it) : ++it;
    s.Increment(txid, txid, commit, set, kT0 + absl::Seconds(static_cast<int64_t>(txid)));
  }
  // The same merge in memory and within a 2 KiB bound.
  CompactionResult in_memory, spilled;
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &in_memory));
  ASSERT_EQ(in_memory.written.size(), 1u);
  EXPECT_FALSE(in_memory.spilled);
  auto first = client_->Open(in_memory.written[0]);
  ASSERT_TRUE(first.ok());
  std::string memory_bytes = *ReadAll(**first);
  LS_ASSERT_OK(client_->Delete(List(1)));

  CompactionOptions small;
  small.memory_limit = 2048;
  small.scratch_dir = dir_.Join("scratch");
  std::filesystem::create_directory(small.scratch_dir);
  LS_ASSERT_OK(Compact(*client_, 1, 1, small, &spilled));
  EXPECT_TRUE(spilled.spilled);
  ASSERT_EQ(spilled.written.size(), 1u);
  auto second = client_->Open(spilled.written[0]);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*ReadAll(**second), memory_bytes);
  EXPECT_TRUE(std::filesystem::is_empty(small.scratch_dir)) << "staging files left behind";
  std::string want = s.Bytes();
  DropLevel(0);
  EXPECT_EQ(Restore(), want);
}

TEST_F(CompactorTest, CrashAfterTheFirstWriteLeavesAnExactReplicaAndTheNextRunFinishes) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  s.Increment(2, 2, 2, {{1, 'A'}}, kT0 + absl::Seconds(1));
  s.Increment(3, 4, 3, {{3, 'C'}}, kT0 + absl::Seconds(2));
  std::string at4 = s.Bytes();
  TxFileInfo missed = s.Increment(5, 5, 3, {{2, 'X'}}, kT0 + absl::Seconds(3));
  LS_ASSERT_OK(client_->Delete({&missed, 1}));
  s.Snapshot(5, kT0 + absl::Seconds(3));
  s.Increment(6, 6, 3, {{2, 'B'}}, kT0 + absl::Seconds(4));
  s.Increment(7, 7, 3, {{1, 'D'}}, kT0 + absl::Seconds(5));
  std::string latest = s.Bytes();
  // Two runs to merge; the process "dies" after writing the first merged file.
  testing::FaultClient crashing(client_.get());
  crashing.writes_left = 1;
  EXPECT_FALSE(Compact(crashing, 1, 1, options_, nullptr).ok());
  ASSERT_EQ(List(1).size(), 1u);
  EXPECT_EQ(Restore(), latest);
  RestoreTarget t4;
  t4.txid = 4;
  EXPECT_EQ(Restore(t4), at4);
  // Restarted, it merges only what is left.
  CompactionResult result;
  LS_ASSERT_OK(Compact(*client_, 1, 1, options_, &result));
  ASSERT_EQ(result.written.size(), 1u);
  EXPECT_EQ(result.written[0].min_txid, 6u);
  EXPECT_EQ(result.written[0].max_txid, 7u);
  DropLevel(0);
  EXPECT_EQ(Restore(), latest);
  EXPECT_EQ(Restore(t4), at4);
}

TEST_F(CompactorTest, RejectsLevelsOutsideOneToThree) {
  EXPECT_TRUE(absl::IsInvalidArgument(Compact(*client_, 1, 0, options_, nullptr)));
  EXPECT_TRUE(absl::IsInvalidArgument(Compact(*client_, 1, 4, options_, nullptr)));
  LS_EXPECT_OK(Compact(*client_, 1, 1, options_, nullptr));  // an empty replica: nothing to do
}

TEST_F(CompactorTest, SchedulerRunsEachLevelOncePerIntervalSlot) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  uint64_t txid = 1;
  auto write = [&](absl::Time ts) {
    ++txid;
    s.Increment(txid, txid, 2, {{1, static_cast<char>('A' + txid % 20)}}, ts);
  };
  CompactionScheduler sched;
  write(kT0);
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0, nullptr));  // the first call runs every level
  EXPECT_EQ(List(1).size(), 1u);
  EXPECT_EQ(List(2).size(), 1u);
  EXPECT_EQ(List(3).size(), 1u);
  EXPECT_EQ(sched.NextDue(kT0), kT0 + absl::Seconds(30));

  write(kT0 + absl::Seconds(10));
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Seconds(29), nullptr));
  EXPECT_EQ(List(1).size(), 1u);
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Seconds(30), nullptr));
  EXPECT_EQ(List(1).size(), 2u);
  EXPECT_EQ(List(2).size(), 1u);
  write(kT0 + absl::Minutes(4));
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Minutes(5), nullptr));
  EXPECT_EQ(List(1).size(), 3u);
  EXPECT_EQ(List(2).size(), 2u);
  EXPECT_EQ(List(3).size(), 1u);
  EXPECT_EQ(sched.NextDue(kT0 + absl::Minutes(5)), kT0 + absl::Minutes(5) + absl::Seconds(30));
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Hours(1), nullptr));
  EXPECT_EQ(List(3).size(), 2u);
  EXPECT_EQ(List(3).back().max_txid, txid);

  CompactionOptions no_level2;
  no_level2.intervals[2] = absl::ZeroDuration();
  CompactionScheduler partial(no_level2);
  write(kT0 + absl::Hours(2));
  LS_ASSERT_OK(partial.RunDue(*client_, 1, kT0 + absl::Hours(2), nullptr));
  EXPECT_EQ(List(1).size(), 4u);
  EXPECT_EQ(List(2).size(), 2u) << "level 2 is disabled";
  EXPECT_EQ(List(3).size(), 2u) << "level 3 draws from the disabled level 2";
}

// The watcher's mode: it reports each level-0 file it writes, and a due level
// whose input level got nothing new is skipped without listing the replica.
TEST_F(CompactorTest, SchedulerOnlyAfterWritesSkipsLevelsWithNoNewInput) {
  Synthetic s(client_.get(), 1);
  s.Begin(2, kT0);
  uint64_t txid = 1;
  auto write = [&](absl::Time ts) {
    ++txid;
    s.Increment(txid, txid, 2, {{1, static_cast<char>('A' + txid % 20)}}, ts);
  };
  CompactionOptions options;
  options.only_after_writes = true;
  CompactionScheduler sched(options);
  write(kT0);
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0, nullptr));  // the first call runs every level
  EXPECT_EQ(List(1).size(), 1u);
  EXPECT_EQ(List(3).size(), 1u);

  write(kT0 + absl::Seconds(10));  // not reported: the scheduler cannot know of it
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Seconds(30), nullptr));
  EXPECT_EQ(List(1).size(), 1u) << "level 1 ran although nothing was reported";
  sched.NoteLevel0Written();
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Seconds(60), nullptr));
  EXPECT_EQ(List(1).size(), 2u) << "a reported write is compacted at the next slot";
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Minutes(5), nullptr));
  EXPECT_EQ(List(2).size(), 2u) << "level 1 wrote a file, so level 2 has work";
  LS_ASSERT_OK(sched.RunDue(*client_, 1, kT0 + absl::Hours(1), nullptr));
  EXPECT_EQ(List(3).size(), 2u);
  EXPECT_EQ(List(3).back().max_txid, txid);
}

// Hours of real increments (VACUUMs included) with the scheduler at its default
// intervals: every compacted file restores exactly on its own, carries its last
// input's timestamp, and the plan for the latest state reads a handful of files.
TEST(CompactorHistoryTest, ScheduledCompactionRestoresExactlyAtEveryLevelBoundary) {
  TempDir dir;
  testing::History h(dir.path());
  CompactionScheduler sched;
  for (int i = 0; i < 80; ++i) {
    ASSERT_NO_FATAL_FAILURE(h.Tick(2, absl::Seconds(120)));  // ~2.7 hours
    LS_ASSERT_OK(sched.RunDue(h.client(), h.lineage(), h.clock().Now(), nullptr));
  }
  ReplicaClient& client = h.client();
  Lineage lineage = h.lineage();
  std::map<int, std::vector<TxFileInfo>> levels;
  for (int level : {0, 1, 2, 3}) levels[level] = *client.List(lineage, level);
  for (int level : {0, 1, 2, 3}) {
    RecordProperty("level_" + std::to_string(level) + "_files",
                   std::to_string(levels[level].size()));
  }
  EXPECT_EQ(levels[0].size(), 79u);  // the first sync is the lineage's snapshot
  EXPECT_GE(levels[3].size(), 2u);
  for (int level : {1, 2, 3}) {
    for (const TxFileInfo& f : levels[level]) {
      // The capture time of the state it ends at: its last input's timestamp.
      const testing::HistoryPoint* p = h.WithTxid(f.max_txid);
      ASSERT_NE(p, nullptr) << f.Name();
      EXPECT_EQ(f.timestamp, p->time) << f.Name();
    }
  }

  // The latest state: a snapshot and a few files from the compacted levels.
  size_t plan_files = 0;
  ASSERT_NO_FATAL_FAILURE(h.ExpectRestore({}, h.points().back(), nullptr, &plan_files));
  RecordProperty("latest_plan_files", std::to_string(plan_files));
  EXPECT_LE(plan_files, 1 + levels[3].size() + 12 + 10 + 3);
  auto plan = PlanRestore(client, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->files[1].level, 3);

  // Each level on its own (with the snapshot): restore at each of its boundaries.
  for (int level : {1, 2, 3}) {
    std::string copy = dir.Join("level-" + std::to_string(level));
    std::filesystem::copy(h.replica_dir(), copy, std::filesystem::copy_options::recursive);
    auto only = NewFileReplicaClient(testing::FileReplica(copy));
    ASSERT_TRUE(only.ok());
    for (int other : {0, 1, 2, 3}) {
      if (other != level) {
        LS_ASSERT_OK((*only)->Delete(levels[other]));
      }
    }
    const std::vector<TxFileInfo>& files = levels[level];
    size_t step = level == 1 ? 9 : level == 2 ? 3 : 1;
    for (size_t i = 0; i < files.size(); i += step) {
      const testing::HistoryPoint* p = h.WithTxid(files[i].max_txid);
      RestoreTarget by_txid, by_time;
      by_txid.txid = files[i].max_txid;
      by_time.timestamp = files[i].timestamp;
      ASSERT_NO_FATAL_FAILURE(h.ExpectRestore(by_txid, *p, only->get()));
      ASSERT_NO_FATAL_FAILURE(h.ExpectRestore(by_time, *p, only->get()));
      if (i + 1 < files.size()) {
        // A second later the next sync may have happened: the level-0 files that
        // said when are gone, so that time is refused, never answered with *p.
        by_time.timestamp = files[i].timestamp + absl::Seconds(1);
        auto later = PlanRestore(**only, by_time);
        EXPECT_TRUE(absl::IsNotFound(later.status())) << later.status();
      }
    }
  }
}

}  // namespace
}  // namespace litesync
