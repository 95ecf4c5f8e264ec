// The replica lease (docs/FORMAT.md, "The lease"): one writer per replica. Two instances on a
// real file replica: the second is refused with the holder named, takes over when
// the first releases or dies or its lease expires, and two watchers on one
// database and replica never both write.
#include "replica/engine/lease.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <utility>

#include "base/log.h"
#include <gmock/gmock.h>
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

using ::testing::HasSubstr;

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = NewFileReplicaClient(testing::FileReplica(dir_.Join("replica")));
    LS_ASSERT_OK(c);
    client_ = std::move(*c);
  }
  std::string Host() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
  }
  void WriteRecord(const LeaseRecord& r) {
    LS_ASSERT_OK(client_->WriteRecord(kLeaseRecord, EncodeLease(r)));
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<ReplicaClient> client_;
};

TEST_F(LeaseTest, RecordsRoundTripAndGarbageIsNotALease) {
  LeaseRecord r{"o1", "p1", "h1", 42, 777, absl::FromUnixMillis(1'700'000'000'123)};
  auto back = DecodeLease(EncodeLease(r));
  LS_ASSERT_OK(back);
  EXPECT_EQ(back->owner, "o1");
  EXPECT_EQ(back->process, "p1");
  EXPECT_EQ(back->host, "h1");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start, 777u);
  EXPECT_EQ(back->expires, r.expires);
  EXPECT_FALSE(DecodeLease("").ok());
  EXPECT_FALSE(DecodeLease("owner x\nexpires_ms 5\n").ok());
  EXPECT_FALSE(DecodeLease(EncodeLease(r).substr(0, 30)).ok());
}

TEST_F(LeaseTest, ASecondInstanceIsRefusedUntilTheFirstReleases) {
  ReplicaLease a, b;
  LS_ASSERT_OK(a.Ensure(*client_, clock_.Now()));
  absl::Status refused = b.Ensure(*client_, clock_.Now());
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("in use by another litesync"));
  EXPECT_THAT(std::string(refused.message()), HasSubstr(Host()));
  EXPECT_THAT(std::string(refused.message()), HasSubstr(std::to_string(::getpid())));
  LS_ASSERT_OK(a.Release(*client_, clock_.Now()));
  // Taken over after a refusal: Aborted tells the caller to re-read the replica.
  EXPECT_TRUE(absl::IsAborted(b.Ensure(*client_, clock_.Now())));
  LS_ASSERT_OK(b.Ensure(*client_, clock_.Now()));
  EXPECT_TRUE(absl::IsFailedPrecondition(a.Ensure(*client_, clock_.Now())));
}

TEST_F(LeaseTest, ALeaseIsRenewedOnlyWhenDueAndExpiresWhenNotRenewed) {
  ReplicaLease a, b;
  LS_ASSERT_OK(a.Ensure(*client_, clock_.Now()));
  std::filesystem::remove(dir_.Join("replica/lease"));
  clock_.Advance(kLeaseTtl / 2 - absl::Seconds(1));
  LS_ASSERT_OK(a.Ensure(*client_, clock_.Now()));
  EXPECT_FALSE(testing::FileExists(dir_.Join("replica/lease"))) << "renewed before it was due";
  clock_.Advance(absl::Seconds(2));
  LS_ASSERT_OK(a.Ensure(*client_, clock_.Now()));
  EXPECT_TRUE(testing::FileExists(dir_.Join("replica/lease"))) << "not renewed when due";
  EXPECT_FALSE(b.Ensure(*client_, clock_.Now()).ok());
  clock_.Advance(kLeaseTtl + absl::Seconds(1));  // `a` stopped renewing (stalled, or gone)
  EXPECT_TRUE(absl::IsAborted(b.Ensure(*client_, clock_.Now())));
  LS_ASSERT_OK(b.Ensure(*client_, clock_.Now()));
}

TEST_F(LeaseTest, AnotherHostsLeaseBindsUntilItExpires) {
  WriteRecord({"other", "proc", "some-other-host", ::getpid(), 0, clock_.Now() + kLeaseTtl});
  ReplicaLease b;
  EXPECT_TRUE(absl::IsFailedPrecondition(b.Ensure(*client_, clock_.Now())));
  clock_.Advance(kLeaseTtl);
  EXPECT_TRUE(absl::IsAborted(b.Ensure(*client_, clock_.Now())));
}

TEST_F(LeaseTest, ADeadHolderOnThisHostIsTakenOverAtOnce) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // a pid that is gone (kill -9)
  WriteRecord({"dead", "proc", Host(), child, 0, clock_.Now() + kLeaseTtl});
  ReplicaLease b;
  LS_ASSERT_OK(b.Ensure(*client_, clock_.Now()));
}

// Killed but not yet reaped by its parent: a zombie still answers kill(pid, 0).
TEST_F(LeaseTest, AZombieHolderOnThisHostIsTakenOverAtOnce) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  for (int i = 0; i < 400; ++i) {  // until it has exited: state Z in /proc/PID/stat
    std::string stat = testing::ReadFileOrDie(fmt::format("/proc/{}/stat", child));
    if (stat.find(") Z") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  WriteRecord({"zombie", "proc", Host(), child, 0, clock_.Now() + kLeaseTtl});
  ReplicaLease b;
  LS_EXPECT_OK(b.Ensure(*client_, clock_.Now()));
  ::waitpid(child, nullptr, 0);
}

// The holder's pid now belongs to another process (its start time differs).
TEST_F(LeaseTest, AHolderWhosePidWasReusedIsTakenOver) {
  WriteRecord({"reused", "proc", Host(), ::getppid(), 1, clock_.Now() + kLeaseTtl});
  ReplicaLease b;
  LS_EXPECT_OK(b.Ensure(*client_, clock_.Now()));
}

// Delegates to a real client; runs `after_read` once, right after the first
// ReadRecord: another instance acts between this one's read and its write.
class InterleavedClient : public ReplicaClient {
 public:
  InterleavedClient(ReplicaClient* inner, RecordConditions conditions)
      : inner_(inner), conditions_(conditions) {}
  std::function<void()> after_read;

  std::string_view Type() const override { return inner_->Type(); }
  std::string Describe() const override { return inner_->Describe(); }
  absl::StatusOr<std::vector<Lineage>> ListLineages() override { return inner_->ListLineages(); }
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage l, int level) override {
    return inner_->List(l, level);
  }
  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override {
    return inner_->Write(info, bytes);
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    return inner_->Open(info);
  }
  absl::Status Delete(std::span<const TxFileInfo> files) override { return inner_->Delete(files); }
  absl::Status Ping() override { return inner_->Ping(); }
  absl::StatusOr<Record> ReadRecord(std::string_view name) override {
    auto r = inner_->ReadRecord(name);
    if (after_read) std::exchange(after_read, nullptr)();
    return r;
  }
  // kIgnored plays an S3 server that ignores If-None-Match and If-Match.
  absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                           const RecordCondition& when, std::string* version) override {
    if (conditions_ == RecordConditions::kIgnored) {
      return inner_->WriteRecord(name, bytes, {}, version);
    }
    return inner_->WriteRecord(name, bytes, when, version);
  }
  RecordConditions record_conditions() const override { return conditions_; }

 private:
  ReplicaClient* inner_;
  RecordConditions conditions_;
};

// Two instances that both read "no lease" (the race two sidecars started back
// to back hit): with conditional writes the second write fails.
TEST_F(LeaseTest, TwoInstancesReadingTheSameFreeLeaseGetItOnceWithConditionalWrites) {
  InterleavedClient slow(client_.get(), RecordConditions::kEnforced);
  ReplicaLease a, b;
  absl::Status b_got;
  slow.after_read = [&] { b_got = b.Ensure(*client_, clock_.Now()); };
  absl::Status a_got = a.Ensure(slow, clock_.Now());
  LS_EXPECT_OK(b_got);
  EXPECT_TRUE(absl::IsFailedPrecondition(a_got)) << a_got;
  EXPECT_THAT(std::string(a_got.message()), HasSubstr("waiting"));
  EXPECT_TRUE(b.held());
  EXPECT_FALSE(a.held());
}

// The same on storage that ignores conditions (s3rver): both writes land, and
// the read-back after kLeaseSettle leaves exactly one holder, the last writer.
TEST_F(LeaseTest, TwoInstancesReadingTheSameFreeLeaseGetItOnceWithoutConditionalWrites) {
  InterleavedClient slow(client_.get(), RecordConditions::kIgnored);
  InterleavedClient plain(client_.get(), RecordConditions::kIgnored);
  ReplicaLease a, b;
  absl::Status b_got;
  slow.after_read = [&] { b_got = b.Ensure(plain, clock_.Now()); };
  absl::Status a_got = a.Ensure(slow, clock_.Now());
  EXPECT_TRUE(absl::IsUnavailable(b_got)) << b_got;  // confirming: nothing written yet
  EXPECT_TRUE(absl::IsUnavailable(a_got)) << a_got;
  EXPECT_TRUE(a.confirming() && b.confirming());
  EXPECT_TRUE(absl::IsUnavailable(a.Ensure(slow, clock_.Now())));  // not before confirm_at
  clock_.Advance(kLeaseSettle);
  b_got = b.Ensure(plain, clock_.Now());
  a_got = a.Ensure(slow, clock_.Now());
  EXPECT_TRUE(absl::IsFailedPrecondition(b_got)) << b_got;
  LS_EXPECT_OK(a_got);
  EXPECT_TRUE(a.held());
  EXPECT_FALSE(b.held());
}

// A holder whose lease another instance took (it stalled past the expiry) loses
// it at its next renewal, says so, and when it gets it back it is told the
// replica may hold another writer's files (lost()).
TEST_F(LeaseTest, ALostLeaseIsReportedAndRegainedAsLost) {
  ReplicaLease a, b;
  LS_ASSERT_OK(a.Ensure(*client_, clock_.Now()));
  clock_.Advance(kLeaseTtl + absl::Seconds(1));  // a stalled
  EXPECT_TRUE(absl::IsAborted(b.Ensure(*client_, clock_.Now())) || b.held());
  absl::Status lost = a.Ensure(*client_, clock_.Now());
  EXPECT_TRUE(absl::IsFailedPrecondition(lost)) << lost;
  EXPECT_FALSE(a.held());
  LS_ASSERT_OK(b.Release(*client_, clock_.Now()));
  absl::Status back = a.Ensure(*client_, clock_.Now());
  EXPECT_TRUE(absl::IsAborted(back)) << back;
  EXPECT_TRUE(a.lost());
  EXPECT_THAT(std::string(back.message()), HasSubstr("regained"));
}

// A renewal inside the lifetime is one conditional PUT (If-Match on the version
// the holder's own write returned) and no read, on storage that enforces
// conditions and on storage that ignores them; a renewal whose condition fails
// (another writer's record is there) reads it and reports the lease lost.
TEST_F(LeaseTest, ARenewalIsOnePutWithoutARead) {
  for (RecordConditions conditions : {RecordConditions::kEnforced, RecordConditions::kIgnored}) {
    std::filesystem::remove(dir_.Join("replica/lease"));
    InterleavedClient counted(client_.get(), conditions);
    int reads = 0;
    ReplicaLease a;
    absl::Status got = a.Ensure(counted, clock_.Now());
    if (conditions == RecordConditions::kIgnored) {  // a first acquisition is confirmed
      clock_.Advance(kLeaseSettle);
      got = a.Ensure(counted, clock_.Now());
    }
    LS_ASSERT_OK(got);
    for (int i = 0; i < 3; ++i) {
      clock_.Advance(kLeaseTtl / 2);
      counted.after_read = [&] { ++reads; };
      LS_ASSERT_OK(a.Ensure(counted, clock_.Now()));
      auto record = DecodeLease(client_->ReadRecord(kLeaseRecord)->bytes);
      LS_ASSERT_OK(record);
      EXPECT_EQ(record->expires, clock_.Now() + kLeaseTtl) << "renewed";
    }
    EXPECT_EQ(reads, 0) << "a renewal read the record";
    LS_ASSERT_OK(a.Release(*client_, clock_.Now()));
  }
  ReplicaLease a;
  LS_ASSERT_OK(a.Ensure(*client_, clock_.Now()));
  WriteRecord({"other", "proc", "some-other-host", 1, 0, clock_.Now() + kLeaseTtl});
  clock_.Advance(kLeaseTtl / 2);
  EXPECT_TRUE(absl::IsFailedPrecondition(a.Ensure(*client_, clock_.Now())));
  EXPECT_FALSE(a.held());
}

TEST_F(LeaseTest, ALiveHolderOnThisHostBinds) {
  WriteRecord({"live", "proc", Host(), ::getppid(), 0, clock_.Now() + kLeaseTtl});
  ReplicaLease b;
  EXPECT_TRUE(absl::IsFailedPrecondition(b.Ensure(*client_, clock_.Now())));
}

TEST_F(LeaseTest, AnEarlierLifeOfARestartedContainerWithOurPidIsTakenOver) {
  WriteRecord({"before", "earlier-process", Host(), ::getpid(), 0, clock_.Now() + kLeaseTtl});
  ReplicaLease b;
  LS_ASSERT_OK(b.Ensure(*client_, clock_.Now()));
}

// Two watchers on one database and replica, as in a deploy overlap: the second
// is refused and shows why; once the first stops, it takes over, re-reads the
// replica, and the replica still restores exactly.
TEST(LeaseWatcherTest, OnlyOneOfTwoWatchersOnOneReplicaWrites) {
  testing::TempDir dir;
  std::string db = dir.Join("app.db");
  testing::CreateWalDb(db);
  testing::FakeClock clock;
  SyncRegistry registry_a, registry_b;
  DbOptions options = testing::DbWithReplica(db, testing::FileReplica(dir.Join("replica")));
  auto write = [&](int seed) {
    ASSERT_EQ(
        testing::RunProcess({testing::WriterBin(), db, "-txns", "5", "-seed", std::to_string(seed)},
                            absl::Seconds(30)),
        0);
  };
  if (getenv("LITESYNC_DEBUG")) SetLogLevel(LogLevel::kDebug);
  auto a = std::make_unique<DbWatcher>(options, &registry_a, &clock);
  DbWatcher b(options, &registry_b, &clock);
  a->Step();
  write(1);
  b.Step();
  SyncRecord rb = registry_b.Snapshot()[0];
  EXPECT_TRUE(absl::IsFailedPrecondition(rb.last_error)) << rb.last_error;
  EXPECT_THAT(std::string(rb.last_error.message()), HasSubstr("in use by another litesync"));
  EXPECT_EQ(rb.last_success, absl::InfinitePast()) << "refused, so never synced";
  clock.Advance(absl::Seconds(1));
  a->Step();  // the holder keeps replicating
  EXPECT_TRUE(registry_a.Snapshot()[0].last_error.ok()) << registry_a.Snapshot()[0].last_error;
  LS_ASSERT_OK(a->FinalSync(absl::Now() + absl::Seconds(10)));
  a.reset();  // a clean stop released the lease
  write(2);
  for (int i = 0; i < 5; ++i) {  // backoff, take over, recover, write
    clock.Advance(absl::Minutes(1));
    b.Step();
  }
  rb = registry_b.Snapshot()[0];
  EXPECT_TRUE(rb.last_error.ok()) << rb.last_error;
  EXPECT_NE(rb.last_success, absl::InfinitePast());
  LS_ASSERT_OK(b.FinalSync(absl::Now() + absl::Seconds(10)));
  auto client = NewFileReplicaClient(options.replicas[0]);
  LS_ASSERT_OK(client);
  EXPECT_EQ((*client)->ListLineages()->size(), 1u) << "b continued a's lineage";
  std::string out = dir.Join("latest.db");
  LS_ASSERT_OK(testing::RestoreTo(**client, {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db));
}

}  // namespace
}  // namespace litesync
