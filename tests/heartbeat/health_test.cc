#include "heartbeat/health.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/fake_clock.h"

namespace litesync {
namespace {

using ::litesync::testing::FakeClock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

SyncRecord Rec(std::string db, absl::Time last_success, std::string replica = "file:///r") {
  SyncRecord r;
  r.db = std::move(db);
  r.replica = std::move(replica);
  r.last_success = last_success;
  return r;
}

TEST(HealthTest, HealthyWhenEveryDatabaseSyncedWithinTheInterval) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now() - absl::Minutes(4)),
                                     Rec("/data/b.db", clock.Now())};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.databases, 2);
  EXPECT_THAT(v.reasons, IsEmpty());
  EXPECT_EQ(v.worst_lag, absl::Minutes(4));
}

TEST(HealthTest, WithholdsPingWhileAnyDatabaseMissedTheInterval) {
  FakeClock clock(absl::FromUnixSeconds(1'700'000'000));
  // (Designated initializers trip GCC's -Wmissing-field-initializers.)
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now(), ""),
                                     Rec("/data/b.db", clock.Now(), "")};
  clock.Advance(absl::Minutes(6));
  records[1].last_success = clock.Now();
  Verdict v = Evaluate(records, clock.Now(), /*interval=*/absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  EXPECT_THAT(v.reasons, ElementsAre(HasSubstr("/data/a.db")));
  EXPECT_THAT(v.reasons[0], HasSubstr("last sync too old (6m ago, interval 5m)"));
}

TEST(HealthTest, ExactlyOneIntervalOldIsStillHealthy) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now() - absl::Minutes(5))};
  EXPECT_TRUE(Evaluate(records, clock.Now(), absl::Minutes(5)).healthy);
  EXPECT_FALSE(Evaluate(records, clock.Now() + absl::Milliseconds(1), absl::Minutes(5)).healthy);
}

TEST(HealthTest, NeverSyncedIsUnhealthy) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", absl::InfinitePast())};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].reason, "never synced");
  EXPECT_EQ(v.worst_lag, absl::InfiniteDuration());
  EXPECT_EQ(v.reasons[0], "/data/a.db (file:///r): never synced");
}

TEST(HealthTest, UnreachableReplicaWithoutWritesIsASyncError) {
  // The engine stops moving last_success when the replica cannot be reached, even
  // with nothing new to write; the error explains why.
  FakeClock clock;
  SyncRecord r = Rec("/data/a.db", clock.Now() - absl::Minutes(7), "s3://bkt/a");
  r.last_error = absl::UnavailableError("list s3://bkt/a: connection refused");
  std::vector<SyncRecord> records = {r};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].reason, "sync error");
  EXPECT_EQ(v.problems[0].error, "list s3://bkt/a: connection refused");
  EXPECT_EQ(v.reasons[0],
            "/data/a.db (s3://bkt/a): sync error: list s3://bkt/a: connection refused "
            "(last sync 7m ago, interval 5m)");
}

TEST(HealthTest, TransientErrorWithRecentSuccessIsHealthy) {
  FakeClock clock;
  SyncRecord r = Rec("/data/a.db", clock.Now() - absl::Seconds(20));
  r.last_error = absl::UnavailableError("HTTP 503");
  std::vector<SyncRecord> records = {r};
  EXPECT_TRUE(Evaluate(records, clock.Now(), absl::Minutes(5)).healthy);
}

TEST(HealthTest, MissingOrInvalidDatabaseIsUnhealthyEvenWhenRecent) {
  FakeClock clock;
  SyncRecord missing = Rec("/data/a.db", clock.Now());
  missing.database_missing = true;
  SyncRecord invalid = Rec("/data/b.db", clock.Now());
  invalid.validation_failed = true;
  invalid.last_error = absl::DataLossError("restored checksum differs");
  std::vector<SyncRecord> records = {missing, invalid};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  EXPECT_THAT(v.reasons, ElementsAre("/data/a.db (file:///r): database missing",
                                     "/data/b.db (file:///r): validation failed: "
                                     "restored checksum differs"));
}

TEST(HealthTest, DatabaseWithSeveralReplicasNeedsAllOfThem) {
  FakeClock clock;
  std::vector<SyncRecord> records = {
      Rec("/data/a.db", clock.Now(), "file:///backups/a"),
      Rec("/data/a.db", clock.Now() - absl::Minutes(10), "s3://bkt/a"),
  };
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.databases, 1);
  EXPECT_THAT(v.reasons, ElementsAre(HasSubstr("/data/a.db (s3://bkt/a): last sync too old")));
  EXPECT_EQ(v.worst_lag, absl::Minutes(10));
}

TEST(HealthTest, SubsetCoversOnlyItsDatabases) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now()),
                                     Rec("/data/b.db", absl::InfinitePast())};
  std::vector<std::string> only_a = {"/data/a.db"};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5), only_a);
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.databases, 1);
  std::vector<std::string> only_b = {"/data/b.db"};
  EXPECT_FALSE(Evaluate(records, clock.Now(), absl::Minutes(5), only_b).healthy);
}

TEST(HealthTest, ConfiguredNameWithoutRecordIsNotConfigured) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now())};
  std::vector<std::string> names = {"/data/a.db", "/data/typo.db", "/data/typo.db"};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5), names);
  EXPECT_FALSE(v.healthy);
  EXPECT_THAT(v.reasons, ElementsAre("/data/typo.db: database not configured"));
}

TEST(HealthTest, NoDatabasesIsUnhealthy) {
  FakeClock clock;
  Verdict v = Evaluate({}, clock.Now(), absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  EXPECT_THAT(v.reasons, ElementsAre("no databases to replicate"));
}

TEST(HealthTest, SuccessInTheFutureCountsAsNoLag) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now() + absl::Seconds(3))};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.worst_lag, absl::ZeroDuration());
}

TEST(HealthTest, TargetIntervalBelowOneMinuteIsClamped) {
  FakeClock clock;
  HeartbeatTarget target;
  target.interval = absl::Seconds(30);
  EXPECT_EQ(EffectiveInterval(target), absl::Minutes(1));
  std::vector<SyncRecord> records = {Rec("/data/a.db", clock.Now() - absl::Seconds(45))};
  EXPECT_TRUE(Evaluate(records, clock.Now(), target).healthy);
  target.interval = absl::Minutes(5);
  EXPECT_EQ(EffectiveInterval(target), absl::Minutes(5));
}

TEST(HealthTest, NamesEveryUnhealthyDatabaseAmongMany) {
  FakeClock clock;
  std::vector<SyncRecord> records;
  for (int i = 0; i < 1000; ++i) {
    absl::Time t = i % 100 == 0 ? clock.Now() - absl::Hours(1) : clock.Now();
    records.push_back(Rec("/data/" + std::to_string(i) + ".db", t));
  }
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.databases, 1000);
  EXPECT_EQ(v.problems.size(), 10u);
  EXPECT_EQ(v.problems[1].db, "/data/100.db");
}

TEST(HealthTest, SummarizeJoinsReasons) {
  FakeClock clock;
  std::vector<SyncRecord> records = {Rec("/data/a.db", absl::InfinitePast()),
                                     Rec("/data/b.db", absl::InfinitePast())};
  Verdict v = Evaluate(records, clock.Now(), absl::Minutes(5));
  EXPECT_EQ(
      Summarize(v),
      "2 problems: /data/a.db (file:///r): never synced; /data/b.db (file:///r): never synced");
  records[0].last_success = records[1].last_success = clock.Now();
  EXPECT_EQ(Summarize(Evaluate(records, clock.Now(), absl::Minutes(5))), "OK");
}

}  // namespace
}  // namespace litesync
