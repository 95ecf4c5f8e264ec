// Restore at the edges of the retention window, in FakeClock histories: a point
// restores exactly or fails with an error naming the oldest restorable point,
// never silently as another point; and a restore racing retention (files of its
// plan deleted mid-restore) re-plans or says why it cannot.
#include <filesystem>
#include <functional>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/maintenance/compactor.h"
#include "replica/maintenance/retention.h"
#include "replica/restore/restore.h"
#include "replica/storage/replica_head.h"
#include "tests/replica/lifecycle_history.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}
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

std::vector<TxFileInfo> AllFiles(ReplicaClient& client) {
  std::vector<TxFileInfo> all;
  const std::vector<Lineage> lineages = *client.ListLineages();
  for (Lineage l : lineages) {
    std::vector<TxFileInfo> files = *ListLineageFiles(client, l);
    all.insert(all.end(), files.begin(), files.end());
  }
  return all;
}

class RestoreWindowTest : public ::testing::Test {
 protected:
  RestoreWindowTest() : h_(dir_.path()) {}

  // Ticks of 4 minutes with compaction on its schedule (unless `compact` is
  // false) and retention each tick (unless `retention` is zero).
  void Run(int ticks, absl::Duration retention, bool compact = true) {
    for (int i = 0; i < ticks; ++i) {
      ASSERT_NO_FATAL_FAILURE(h_.Tick(2, absl::Minutes(4)));
      if (compact) {
        LS_ASSERT_OK(sched_.RunDue(h_.client(), h_.lineage(), h_.clock().Now(), nullptr));
      }
      if (retention > absl::ZeroDuration()) {
        LS_ASSERT_OK(EnforceRetention(h_.client(), h_.clock().Now(), retention, nullptr));
      }
    }
  }

  TempDir dir_;
  testing::History h_;
  CompactionScheduler sched_;
};

TEST_F(RestoreWindowTest, EveryTimeRestoresItsExactStateOrFailsNamingTheOldestRestorableTime) {
  const absl::Duration window = absl::Hours(1);
  ASSERT_NO_FATAL_FAILURE(Run(20, window));
  ASSERT_NO_FATAL_FAILURE(h_.BreakLineage());
  ASSERT_NO_FATAL_FAILURE(Run(22, window));
  const absl::Time start = h_.points().front().time, now = h_.clock().Now();
  const absl::Time cutoff = now - window;

  // The oldest restorable time is a capture time: the first one that plans.
  std::vector<TxFileInfo> kept = AllFiles(h_.client());
  std::sort(kept.begin(), kept.end(),
            [](const TxFileInfo& a, const TxFileInfo& b) { return a.timestamp < b.timestamp; });
  absl::Time oldest = absl::InfiniteFuture();
  for (const TxFileInfo& f : kept) {
    if (PlanRestore(h_.client(), AtTime(f.timestamp)).ok()) {
      oldest = f.timestamp;
      break;
    }
  }
  ASSERT_LE(oldest, cutoff);

  // Every minute of the history, and just around each capture time.
  std::vector<absl::Time> times;
  for (absl::Time t = start - absl::Minutes(2); t <= now + absl::Minutes(1); t += absl::Minutes(1))
    times.push_back(t);
  for (const testing::HistoryPoint& p : h_.points()) {
    times.push_back(p.time - absl::Milliseconds(1));
    times.push_back(p.time);
  }
  int refused_before_cutoff = 0, restored_before_cutoff = 0;
  for (absl::Time t : times) {
    SCOPED_TRACE("at " + Rfc3339(t));
    absl::StatusOr<RestorePlan> plan = PlanRestore(h_.client(), AtTime(t));
    const testing::HistoryPoint* want = h_.At(t);
    if (t >= cutoff) {
      ASSERT_TRUE(plan.ok()) << plan.status();
      ASSERT_NE(want, nullptr);
      ASSERT_NO_FATAL_FAILURE(h_.ExpectRestore(AtTime(t), *want));
      continue;
    }
    if (plan.ok()) {  // before the cutoff, only where the state is still exact
      ASSERT_NE(want, nullptr);
      ASSERT_NO_FATAL_FAILURE(h_.ExpectRestore(AtTime(t), *want));
      ++restored_before_cutoff;
      continue;
    }
    ++refused_before_cutoff;
    ASSERT_TRUE(absl::IsNotFound(plan.status())) << plan.status();
    const std::string msg(plan.status().message());
    if (t < oldest) {
      EXPECT_THAT(msg, HasSubstr("nothing is restorable at " + Rfc3339(t) +
                                 ": the oldest restorable time is " + Rfc3339(oldest)));
    } else {
      EXPECT_THAT(msg, HasSubstr("the state at " + Rfc3339(t) + " is not restorable"));
      EXPECT_THAT(msg, HasSubstr("the oldest restorable time is " + Rfc3339(oldest)));
    }
  }
  // Retention removed most of the history before the cutoff: much is refused
  // (restoring "the nearest kept state" there would be a different point).
  EXPECT_GT(refused_before_cutoff, 20);
  EXPECT_GT(restored_before_cutoff, 0);  // the state at the cutoff itself

  // -txid: the oldest snapshot is the oldest restorable TXID.
  uint64_t oldest_txid = UINT64_MAX;
  for (const TxFileInfo& f : kept) {
    if (f.level == kSnapshotLevel) oldest_txid = std::min(oldest_txid, f.max_txid);
  }
  const testing::HistoryPoint* at_snapshot = h_.WithTxid(oldest_txid);
  ASSERT_NE(at_snapshot, nullptr);
  ASSERT_NO_FATAL_FAILURE(h_.ExpectRestore(AtTxid(oldest_txid), *at_snapshot));
  for (uint64_t txid : {oldest_txid - 1, uint64_t{1}}) {
    absl::StatusOr<RestorePlan> plan = PlanRestore(h_.client(), AtTxid(txid));
    ASSERT_TRUE(absl::IsNotFound(plan.status())) << plan.status();
    EXPECT_THAT(std::string(plan.status().message()),
                HasSubstr(TxidString(txid) + " is before the oldest restorable txid, " +
                          TxidString(oldest_txid)));
  }
}

// Forwards to a file replica; runs `before_first_open` once, when the restore
// first opens a file (after planning), to stand in for retention running then.
class RacingClient : public testing::FaultClient {
 public:
  using FaultClient::FaultClient;
  std::function<void()> before_first_open;
  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    if (before_first_open) std::exchange(before_first_open, nullptr)();
    return FaultClient::Open(info);
  }
};

// Lists level-0 files under a capture time that moves on every listing: each
// plan names files that cannot be opened, and each re-plan differs.
class ShiftingClient : public testing::FaultClient {
 public:
  using FaultClient::FaultClient;
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, FaultClient::List(lineage, level));
    if (level == 0) {
      ++lists_;
      for (TxFileInfo& f : files) f.timestamp += absl::Milliseconds(lists_);
    }
    return files;
  }

 private:
  int lists_ = 0;
};

class RestoreRaceTest : public RestoreWindowTest {
 protected:
  // Level-0 files only, then what retention does after compaction: a level-1
  // file covering them, and the level-0 files deleted.
  void CompactAndDeleteLevel0() {
    CompactionResult done;
    LS_ASSERT_OK(Compact(h_.client(), h_.lineage(), 1, CompactionOptions{}, &done));
    ASSERT_EQ(done.written.size(), 1u);
    LS_ASSERT_OK(h_.client().Delete(done.inputs));
  }
  std::string out() const { return dir_.path() + "/out.db"; }
};

TEST_F(RestoreRaceTest, AFileOfThePlanDeletedMidRestoreMakesItReplanAndRestoreExactly) {
  for (int parallelism : {1, 4}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    ASSERT_NO_FATAL_FAILURE(Run(6, absl::ZeroDuration(), /*compact=*/false));
    RacingClient racing(&h_.client());
    LS_ASSERT_OK_AND_ASSIGN(RestorePlan plan, PlanRestore(racing, RestoreTarget{}));
    ASSERT_GT(plan.files.size(), 2u);
    ASSERT_EQ(plan.files.back().level, 0);
    RestoreOptions options;
    options.output_path = out();
    options.parallelism = parallelism;
    if (parallelism > 1) {  // the prefetchers' clients see the deletion too
      options.client_factory = [this, &racing] {
        if (racing.before_first_open) std::exchange(racing.before_first_open, nullptr)();
        return NewFileReplicaClient(testing::FileReplica(h_.replica_dir()));
      };
    }
    bool raced = false;
    racing.before_first_open = [&] {
      CompactAndDeleteLevel0();
      raced = true;
    };
    LS_ASSERT_OK(ExecuteRestoreReplanning(racing, RestoreTarget{}, &plan, options));
    EXPECT_TRUE(raced);
    ASSERT_EQ(plan.files.size(), parallelism == 1 ? 2u : 3u);  // the snapshot, level-1 files
    for (size_t i = 1; i < plan.files.size(); ++i) EXPECT_EQ(plan.files[i].level, 1);
    EXPECT_EQ(plan.txid, h_.points().back().txid);
    EXPECT_EQ(testing::IntegrityCheck(out()), "ok");
    LS_ASSERT_OK_AND_ASSIGN(testing::DbContent content, testing::ReadContent(out()));
    EXPECT_EQ(content.seq, h_.points().back().seq);
    EXPECT_EQ(content.hash, h_.points().back().hash);
    std::filesystem::remove(out());
  }
}

TEST_F(RestoreRaceTest, APointThatRetentionMadeUnrestorableMidRestoreIsAnErrorAndNoOutput) {
  ASSERT_NO_FATAL_FAILURE(Run(6, absl::ZeroDuration(), /*compact=*/false));
  const testing::HistoryPoint& mid = h_.points()[3];  // inside what level 1 will merge
  RacingClient racing(&h_.client());
  LS_ASSERT_OK_AND_ASSIGN(RestorePlan plan, PlanRestore(racing, AtTxid(mid.txid)));
  racing.before_first_open = [&] { CompactAndDeleteLevel0(); };
  RestoreOptions options;
  options.output_path = out();
  options.parallelism = 1;
  absl::Status s = ExecuteRestoreReplanning(racing, AtTxid(mid.txid), &plan, options);
  ASSERT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("txid " + TxidString(mid.txid) + " is no longer restorable"));
  EXPECT_FALSE(std::filesystem::exists(out()));
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr("out.db"))) << e.path();
  }
}

TEST_F(RestoreRaceTest, FilesThatKeepDisappearingEndTheRestoreAfterBoundedReplans) {
  ASSERT_NO_FATAL_FAILURE(Run(3, absl::ZeroDuration(), /*compact=*/false));
  ShiftingClient shifting(&h_.client());
  LS_ASSERT_OK_AND_ASSIGN(RestorePlan plan, PlanRestore(shifting, RestoreTarget{}));
  RestoreOptions options;
  options.output_path = out();
  options.parallelism = 1;
  absl::Status s = ExecuteRestoreReplanning(shifting, RestoreTarget{}, &plan, options);
  ASSERT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(fmt::format("gave up after {} re-plans", kMaxRestoreReplans)));
  EXPECT_FALSE(std::filesystem::exists(out()));
}

}  // namespace
}  // namespace litesync
