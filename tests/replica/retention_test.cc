// Retention: the rule on hand-made listings (restore plans compared before and
// after, for every point inside the window and any partial deletion), then real
// histories in FakeClock time: restores inside the window equal the source, the
// rest is gone, and an interrupted retention or compaction leaves an exact replica.
#include "replica/maintenance/retention.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/maintenance/compactor.h"
#include "replica/restore/restore.h"
#include "replica/storage/replica_head.h"
#include "tests/replica/lifecycle_history.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

const absl::Time kT0 = absl::FromUnixSeconds(1'699'999'200);

absl::Time Minute(double m) { return kT0 + absl::Seconds(m * 60); }

TxFileInfo File(Lineage lineage, int level, uint64_t min, uint64_t max, absl::Time ts) {
  TxFileInfo f;
  f.lineage = lineage;
  f.level = level;
  f.min_txid = min;
  f.max_txid = max;
  f.timestamp = ts;
  return f;
}

// A replica of names only: enough for PlanRestore and PlanRetention, which read
// listings and never file contents.
class ListingClient : public ReplicaClient {
 public:
  std::string_view Type() const override { return "listing"; }
  std::string Describe() const override { return "listing://test"; }
  absl::StatusOr<std::vector<Lineage>> ListLineages() override {
    std::set<Lineage> out;
    for (const TxFileInfo& f : files_) out.insert(f.lineage);
    return std::vector<Lineage>(out.begin(), out.end());
  }
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    std::vector<TxFileInfo> out;
    for (const TxFileInfo& f : files_) {
      if (f.lineage == lineage && f.level == level) out.push_back(f);
    }
    std::sort(out.begin(), out.end(), [](const TxFileInfo& a, const TxFileInfo& b) {
      return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
    });
    return out;
  }
  absl::Status Write(const TxFileInfo& info, const ByteSource&) override {
    Add(info);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo&) override {
    return absl::UnimplementedError("names only");
  }
  absl::Status Delete(std::span<const TxFileInfo> files) override {
    for (const TxFileInfo& d : files) std::erase(files_, d);
    return absl::OkStatus();
  }
  absl::Status Ping() override { return absl::OkStatus(); }

  void Add(const TxFileInfo& f) { files_.push_back(f); }
  const std::vector<TxFileInfo>& files() const { return files_; }
  std::map<Lineage, std::vector<TxFileInfo>> ByLineage() const {
    std::map<Lineage, std::vector<TxFileInfo>> out;
    for (const TxFileInfo& f : files_) out[f.lineage].push_back(f);
    return out;
  }

 private:
  std::vector<TxFileInfo> files_;
};

RestoreTarget AtTime(absl::Time t) {
  RestoreTarget r;
  r.timestamp = t;
  return r;
}
RestoreTarget AtTxid(uint64_t txid) {
  RestoreTarget r;
  r.txid = txid;
  return r;
}

// Every point inside the window restores to the same state in `after` as in
// `before`: each time from the cutoff on (file times and between them), the
// latest state, and every txid from the cutoff state on.
void ExpectWindowKept(ListingClient& before, ListingClient& after, absl::Time cutoff,
                      const RetentionPlan& plan) {
  std::vector<RestoreTarget> targets = {RestoreTarget{}, AtTime(cutoff)};
  for (const TxFileInfo& f : before.files()) {
    if (f.timestamp > cutoff) {
      targets.push_back(AtTime(f.timestamp));
      targets.push_back(AtTime(f.timestamp + absl::Seconds(1)));
    }
    if (std::tie(f.lineage, f.max_txid) >= std::tie(plan.cutoff_lineage, plan.cutoff_txid)) {
      targets.push_back(AtTxid(f.max_txid));
    }
  }
  for (const RestoreTarget& t : targets) {
    std::string what = t.txid        ? "txid " + std::to_string(*t.txid)
                       : t.timestamp ? absl::FormatTime(*t.timestamp)
                                     : "latest";
    auto want = PlanRestore(before, t);
    ASSERT_TRUE(want.ok()) << what << ": " << want.status();
    auto got = PlanRestore(after, t);
    ASSERT_TRUE(got.ok()) << what << ": " << got.status();
    EXPECT_EQ(got->lineage, want->lineage) << what;
    EXPECT_EQ(got->txid, want->txid) << what;
  }
}

ListingClient Without(const ListingClient& all, std::span<const TxFileInfo> deleted) {
  ListingClient out = all;
  LS_EXPECT_OK(out.Delete(deleted));
  return out;
}

TEST(RetentionPlanTest, KeepsTheSnapshotTheChainAndTheCutoffStateOfTheCutoffLineage) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  for (uint64_t t = 2; t <= 10; ++t) c.Add(File(1, 0, t, t, Minute(t - 1)));
  c.Add(File(1, 1, 2, 4, Minute(3)));
  c.Add(File(1, 1, 5, 7, Minute(6)));
  c.Add(File(1, 1, 8, 10, Minute(9)));
  c.Add(File(1, 2, 2, 7, Minute(6)));
  c.Add(File(1, kSnapshotLevel, 1, 6, Minute(7)));  // a later snapshot of txid 6
  auto plan = PlanRetention(c.ByLineage(), Minute(8));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cutoff_lineage, 1u);
  EXPECT_EQ(plan->cutoff_txid, 9u);
  EXPECT_EQ(plan->anchor, File(1, kSnapshotLevel, 1, 6, Minute(7)));
  ListingClient after = Without(c, plan->deletions);
  std::vector<std::string> kept;
  for (const TxFileInfo& f : after.files()) kept.push_back(f.RelativePath());
  EXPECT_THAT(
      kept,
      ::testing::UnorderedElementsAre(
          File(1, 0, 7, 7, Minute(6)).RelativePath(), File(1, 0, 8, 8, Minute(7)).RelativePath(),
          File(1, 0, 9, 9, Minute(8)).RelativePath(), File(1, 0, 10, 10, Minute(9)).RelativePath(),
          File(1, 1, 8, 10, Minute(9)).RelativePath(),
          File(1, kSnapshotLevel, 1, 6, Minute(7)).RelativePath()));
  ExpectWindowKept(c, after, Minute(8), *plan);
}

TEST(RetentionPlanTest, KeepsTheFileMarkingTheCutoffStateWhenItsSnapshotCameLater) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  c.Add(File(1, 0, 2, 3, Minute(1)));
  c.Add(File(1, 0, 4, 5, Minute(2)));
  c.Add(File(1, kSnapshotLevel, 1, 5, Minute(4)));  // txid 5 again, snapshotted later
  c.Add(File(1, 0, 6, 6, Minute(5)));
  auto plan = PlanRetention(c.ByLineage(), Minute(3));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cutoff_txid, 5u);
  EXPECT_EQ(plan->anchor, File(1, kSnapshotLevel, 1, 5, Minute(4)));
  // A restore at minute 3 must still find txid 5 captured by then.
  EXPECT_EQ(plan->deletions, (std::vector<TxFileInfo>{File(1, kSnapshotLevel, 1, 1, Minute(0)),
                                                      File(1, 0, 2, 3, Minute(1))}));
  ListingClient after = Without(c, plan->deletions);
  ExpectWindowKept(c, after, Minute(3), *plan);
}

TEST(RetentionPlanTest, PrefersTheHighestLevelAndDeletesTheFilesItCovers) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  for (uint64_t t = 2; t <= 9; ++t) c.Add(File(1, 0, t, t, Minute(t)));
  c.Add(File(1, 1, 2, 5, Minute(5)));
  c.Add(File(1, 1, 6, 9, Minute(9)));
  c.Add(File(1, 2, 2, 5, Minute(5)));
  c.Add(File(1, 3, 2, 5, Minute(5)));
  auto plan = PlanRetention(c.ByLineage(), Minute(7));
  ASSERT_TRUE(plan.ok()) << plan.status();
  ListingClient after = Without(c, plan->deletions);
  std::vector<std::string> kept;
  for (const TxFileInfo& f : after.files()) kept.push_back(f.RelativePath());
  // Up to the cutoff state (txid 7): the snapshot, level 3 to 5, level 0 to 7.
  EXPECT_THAT(
      kept,
      ::testing::UnorderedElementsAre(
          File(1, kSnapshotLevel, 1, 1, Minute(0)).RelativePath(),
          File(1, 3, 2, 5, Minute(5)).RelativePath(), File(1, 0, 6, 6, Minute(6)).RelativePath(),
          File(1, 0, 7, 7, Minute(7)).RelativePath(), File(1, 0, 8, 8, Minute(8)).RelativePath(),
          File(1, 0, 9, 9, Minute(9)).RelativePath(), File(1, 1, 6, 9, Minute(9)).RelativePath()));
  ExpectWindowKept(c, after, Minute(7), *plan);
}

TEST(RetentionPlanTest, DeletesOlderLineagesWholeUnlessOneHoldsAFileInsideTheWindow) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  c.Add(File(1, 0, 2, 5, Minute(5)));
  c.Add(File(6, kSnapshotLevel, 6, 6, Minute(10)));
  c.Add(File(6, 0, 7, 9, Minute(15)));
  c.Add(File(10, kSnapshotLevel, 10, 10, Minute(20)));
  c.Add(File(10, 0, 11, 12, Minute(25)));
  auto plan = PlanRetention(c.ByLineage(), Minute(21));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cutoff_lineage, 10u);
  EXPECT_EQ(plan->deletions.size(), 4u);
  EXPECT_EQ(plan->deletions.front(), File(1, kSnapshotLevel, 1, 1, Minute(0)));  // oldest first
  ListingClient after = Without(c, plan->deletions);
  ExpectWindowKept(c, after, Minute(21), *plan);

  // Clock trouble: an older lineage holding a file stamped inside the window stays.
  c.Add(File(6, 0, 10, 10, Minute(30)));
  plan = PlanRetention(c.ByLineage(), Minute(21));
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const TxFileInfo& f : plan->deletions) EXPECT_EQ(f.lineage, 1u) << f.RelativePath();
}

TEST(RetentionPlanTest, KeepsTheLatestStateOfAnIdleDatabaseWhateverItsAge) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  c.Add(File(1, 0, 2, 3, Minute(1)));
  c.Add(File(1, 0, 4, 4, Minute(2)));
  c.Add(File(1, 1, 2, 4, Minute(2)));
  auto plan = PlanRetention(c.ByLineage(), Minute(60 * 24 * 30));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cutoff_txid, 4u);
  ListingClient after = Without(c, plan->deletions);
  EXPECT_EQ(after.files().size(), 2u);  // the snapshot and level 1
  auto latest = PlanRestore(after, {});
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->txid, 4u);
}

TEST(RetentionPlanTest, DeletesNothingWhileEverythingIsInsideTheWindow) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(10)));
  c.Add(File(1, 0, 2, 3, Minute(11)));
  auto plan = PlanRetention(c.ByLineage(), Minute(9));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->deletions.empty());
  EXPECT_EQ(plan->cutoff_lineage, 0u);
}

TEST(RetentionPlanTest, CutoffStateWithoutASnapshotOrChainIsDataLossAndDeletesNothing) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  c.Add(File(1, 0, 2, 3, Minute(1)));
  c.Add(File(5, 0, 5, 6, Minute(5)));  // lineage 5 lost its snapshot
  auto plan = PlanRetention(c.ByLineage(), Minute(6));
  ASSERT_TRUE(absl::IsDataLoss(plan.status())) << plan.status();
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("0000000000000005"));
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("nothing deleted"));

  ListingClient gap;
  gap.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  gap.Add(File(1, 0, 2, 3, Minute(1)));
  gap.Add(File(1, 0, 5, 6, Minute(2)));  // txid 4 is missing
  plan = PlanRetention(gap.ByLineage(), Minute(3));
  ASSERT_TRUE(absl::IsDataLoss(plan.status())) << plan.status();
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("not restorable"));
}

TEST(RetentionPlanTest, EnforceDeletesInBatchesOldestFirst) {
  ListingClient c;
  c.Add(File(1, kSnapshotLevel, 1, 1, Minute(0)));
  for (uint64_t t = 2; t <= 2600; ++t) c.Add(File(1, 0, t, t, Minute(0)));
  c.Add(File(2601, kSnapshotLevel, 2601, 2601, Minute(1)));
  struct Recorder : ListingClient {
    std::vector<size_t> batches;
    absl::Status Delete(std::span<const TxFileInfo> files) override {
      batches.push_back(files.size());
      return ListingClient::Delete(files);
    }
  } r;
  for (const TxFileInfo& f : c.files()) r.Add(f);
  RetentionResult result;
  LS_ASSERT_OK(EnforceRetention(r, Minute(2), absl::Seconds(30), &result));
  EXPECT_EQ(r.batches, (std::vector<size_t>{1000, 1000, 600}));
  EXPECT_EQ(result.deleted.size(), 2600u);
  EXPECT_TRUE(std::is_sorted(
      result.deleted.begin(), result.deleted.end(),
      [](const TxFileInfo& a, const TxFileInfo& b) { return a.max_txid < b.max_txid; }));
  EXPECT_EQ(r.files().size(), 1u);
  EXPECT_TRUE(
      absl::IsInvalidArgument(EnforceRetention(r, Minute(2), absl::ZeroDuration(), nullptr)));
}

// Random histories shaped like the watcher's and the compactor's: level-0 files
// each minute, levels 1..3 merged on their own schedules, later snapshots, new
// lineages, and replicas that fell behind (gaps bridged by a snapshot).
class HistoryGenerator {
 public:
  explicit HistoryGenerator(unsigned seed) : rng_(seed) {}

  ListingClient Run(int minutes) {
    NewLineage();
    for (int m = 1; m <= minutes; ++m) {
      now_ = Minute(m);
      if (Chance(60)) NewLineage();
      uint64_t n = 1 + rng_() % 3;
      if (behind_ > 0) {  // this replica misses the increment
        txid_ += n;
        if (--behind_ == 0) c_.Add(File(lineage_, kSnapshotLevel, lineage_, txid_, now_));
      } else {
        c_.Add(File(lineage_, 0, txid_ + 1, txid_ + n, now_));
        txid_ += n;
        if (Chance(50)) behind_ = 1 + static_cast<int>(rng_() % 3);
      }
      if (Chance(10) && behind_ == 0) {  // taken a little after the state it holds
        c_.Add(File(lineage_, kSnapshotLevel, lineage_, txid_, now_ + absl::Seconds(30)));
      }
      for (int level = 1, every = 3; level <= kMaxCompactionLevel; ++level, every *= 3) {
        if (m % every == 0) Compact(level);
      }
    }
    return c_;
  }

 private:
  bool Chance(unsigned one_in) { return rng_() % one_in == 0; }
  void NewLineage() {
    lineage_ = txid_ + 1;
    txid_ = lineage_;
    behind_ = 0;
    c_.Add(File(lineage_, kSnapshotLevel, lineage_, lineage_, now_));
  }
  // What Compact() selects: uncovered files of level-1, one file per run.
  void Compact(int level) {
    uint64_t covered = 0;
    for (int l = level; l <= kMaxCompactionLevel; ++l) {
      std::vector<TxFileInfo> files = *c_.List(lineage_, l);
      for (const TxFileInfo& f : files) covered = std::max(covered, f.max_txid);
    }
    std::vector<TxFileInfo> run;
    auto flush = [&] {
      if (!run.empty()) {
        c_.Add(
            File(lineage_, level, run.front().min_txid, run.back().max_txid, run.back().timestamp));
      }
      run.clear();
    };
    std::vector<TxFileInfo> inputs = *c_.List(lineage_, level - 1);
    for (const TxFileInfo& f : inputs) {
      if (f.min_txid <= covered) continue;
      if (!run.empty() && f.min_txid != run.back().max_txid + 1) flush();
      run.push_back(f);
    }
    flush();
  }

  std::mt19937 rng_;
  ListingClient c_;
  absl::Time now_ = kT0;
  Lineage lineage_ = 0;
  uint64_t txid_ = 0;
  int behind_ = 0;
};

TEST(RetentionPlanTest, RandomHistoriesKeepEveryPointInsideTheWindowUnderAnyPartialDeletion) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ListingClient all = HistoryGenerator(seed).Run(150);
    for (double cut : {20.25, 61.0, 97.25, 140.25}) {
      SCOPED_TRACE("cutoff minute " + std::to_string(cut));
      auto plan = PlanRetention(all.ByLineage(), Minute(cut));
      ASSERT_TRUE(plan.ok()) << plan.status();
      const std::vector<TxFileInfo>& d = plan->deletions;
      std::mt19937 rng(seed);
      std::vector<TxFileInfo> subset;
      for (const TxFileInfo& f : d) {
        if (rng() % 2 == 0) subset.push_back(f);
      }
      for (std::span<const TxFileInfo> deleted :
           {std::span<const TxFileInfo>(d), std::span<const TxFileInfo>(d).first(d.size() / 2),
            std::span<const TxFileInfo>(d).first(1), std::span<const TxFileInfo>(subset)}) {
        ListingClient after = Without(all, deleted);
        ASSERT_NO_FATAL_FAILURE(ExpectWindowKept(all, after, Minute(cut), *plan));
      }
      // Retention is idempotent: a second pass finds nothing more.
      ListingClient after = Without(all, d);
      auto again = PlanRetention(after.ByLineage(), Minute(cut));
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(again->deletions.empty());
    }
  }
}

// Real histories in FakeClock time: a writer process, the watcher, compaction on
// its schedule, three lineages over five hours.
class RetentionHistoryTest : public ::testing::Test {
 protected:
  RetentionHistoryTest() : h_(dir_.path()) {}

  void Run(int ticks, absl::Duration retention = absl::ZeroDuration()) {
    for (int i = 0; i < ticks; ++i) {
      ASSERT_NO_FATAL_FAILURE(h_.Tick(2, absl::Minutes(4)));
      LS_ASSERT_OK(sched_.RunDue(h_.client(), h_.lineage(), h_.clock().Now(), nullptr));
      if (retention > absl::ZeroDuration()) {
        LS_ASSERT_OK(EnforceRetention(h_.client(), h_.clock().Now(), retention, nullptr));
      }
    }
  }
  void BuildThreeLineages(absl::Duration retention = absl::ZeroDuration()) {
    ASSERT_NO_FATAL_FAILURE(Run(25, retention));
    ASSERT_NO_FATAL_FAILURE(h_.BreakLineage());
    ASSERT_NO_FATAL_FAILURE(Run(25, retention));
    ASSERT_NO_FATAL_FAILURE(h_.BreakLineage());
    ASSERT_NO_FATAL_FAILURE(Run(25, retention));
  }
  // Restores at points spread over [from, now] and between them; each must
  // equal the source state captured last at or before it.
  void ExpectRestorableSince(absl::Time from, ReplicaClient* client = nullptr) {
    absl::Time now = h_.clock().Now();
    for (absl::Time t = from; t <= now; t += absl::Minutes(7)) {
      const testing::HistoryPoint* want = h_.At(t);
      ASSERT_NE(want, nullptr);
      ASSERT_NO_FATAL_FAILURE(h_.ExpectRestore(AtTime(t), *want, client));
    }
    ASSERT_NO_FATAL_FAILURE(h_.ExpectRestore({}, h_.points().back(), client));
  }
  std::vector<TxFileInfo> AllFiles() {
    std::vector<TxFileInfo> all;
    std::vector<Lineage> lineages = *h_.client().ListLineages();
    for (Lineage l : lineages) {
      std::vector<TxFileInfo> files = *ListLineageFiles(h_.client(), l);
      all.insert(all.end(), files.begin(), files.end());
    }
    return all;
  }
  size_t FileCount() { return AllFiles().size(); }

  TempDir dir_;
  testing::History h_;
  CompactionScheduler sched_;
};

TEST_F(RetentionHistoryTest, EveryPointInsideTheWindowRestoresExactlyAndTheRestIsGone) {
  const absl::Duration window = absl::Hours(2);
  ASSERT_NO_FATAL_FAILURE(BuildThreeLineages(window));  // retention runs on every tick
  absl::Time now = h_.clock().Now();
  absl::Time cutoff = now - window;
  std::set<Lineage> lineages;
  for (const testing::HistoryPoint& p : h_.points()) lineages.insert(p.lineage);
  ASSERT_EQ(lineages.size(), 3u);
  // The first lineage ended more than two hours ago: nothing of it is left.
  EXPECT_TRUE(ListLineageFiles(h_.client(), *lineages.begin())->empty());
  ASSERT_NO_FATAL_FAILURE(ExpectRestorableSince(cutoff));

  // Outside the window: points before the oldest kept file are NotFound, with a
  // message naming the oldest restorable time.
  std::vector<TxFileInfo> kept = AllFiles();
  absl::Time oldest = absl::InfiniteFuture();
  for (const TxFileInfo& f : kept) oldest = std::min(oldest, f.timestamp);
  EXPECT_LE(oldest, cutoff);
  auto plan = PlanRestore(h_.client(), AtTime(oldest - absl::Seconds(1)));
  ASSERT_TRUE(absl::IsNotFound(plan.status())) << plan.status();
  EXPECT_THAT(std::string(plan.status().message()),
              HasSubstr("oldest restorable time is " +
                        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", oldest, absl::UTCTimeZone())));

  // Of the cutoff lineage's history before the cutoff, only the snapshot and the
  // chain to the cutoff state are left: fewer files than it had syncs then.
  auto again = PlanRetention(
      [&] {
        std::map<Lineage, std::vector<TxFileInfo>> by_lineage;
        for (const TxFileInfo& f : kept) by_lineage[f.lineage].push_back(f);
        return by_lineage;
      }(),
      cutoff);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->deletions.empty());
  size_t syncs = 0, files = 0;
  for (const testing::HistoryPoint& p : h_.points()) {
    syncs += p.lineage == again->cutoff_lineage && p.time <= cutoff;
  }
  for (const TxFileInfo& f : kept)
    files += f.lineage == again->cutoff_lineage && f.timestamp <= cutoff;
  RecordProperty("files_kept", std::to_string(kept.size()));
  RecordProperty("cutoff_lineage_files_before_cutoff", std::to_string(files));
  RecordProperty("cutoff_lineage_syncs_before_cutoff", std::to_string(syncs));
  EXPECT_LT(files, syncs / 2) << "syncs " << syncs;
}

TEST_F(RetentionHistoryTest, InterruptedRetentionAndCompactionLeaveAnExactReplica) {
  ASSERT_NO_FATAL_FAILURE(BuildThreeLineages());
  const absl::Duration window = absl::Minutes(150);
  absl::Time now = h_.clock().Now();
  size_t before = FileCount();

  // Retention "crashes" part-way through its (single) batch.
  testing::FaultClient crashing(&h_.client());
  crashing.deletes_left = 40;
  RetentionResult partial;
  absl::Status s = EnforceRetention(crashing, now, window, &partial);
  ASSERT_TRUE(absl::IsUnavailable(s)) << s;
  ASSERT_GT(partial.plan.deletions.size(), 40u);
  EXPECT_EQ(FileCount(), before - 40);
  ASSERT_NO_FATAL_FAILURE(ExpectRestorableSince(now - window));

  // More history; compaction "crashes" after its first write.
  ASSERT_NO_FATAL_FAILURE(Run(3));
  ASSERT_NO_FATAL_FAILURE(h_.Tick(2, absl::Hours(1)));  // every level due
  testing::FaultClient crashing_compaction(&h_.client());
  crashing_compaction.writes_left = 1;
  CompactionResult compacted;
  EXPECT_FALSE(CompactionScheduler()
                   .RunDue(crashing_compaction, h_.lineage(), h_.clock().Now(), &compacted)
                   .ok());
  EXPECT_EQ(compacted.written.size(), 1u);
  now = h_.clock().Now();
  ASSERT_NO_FATAL_FAILURE(ExpectRestorableSince(now - window));

  // Restarted: both finish, and the window still restores exactly.
  LS_ASSERT_OK(sched_.RunDue(h_.client(), h_.lineage(), now, nullptr));
  RetentionResult done;
  LS_ASSERT_OK(EnforceRetention(h_.client(), now, window, &done));
  EXPECT_FALSE(done.deleted.empty());
  ASSERT_NO_FATAL_FAILURE(ExpectRestorableSince(now - window));
}

}  // namespace
}  // namespace litesync
