// Faults in the file system under a file replica, injected through the seam
// (base/fs.h): each fault is reported in the sync record naming the file, health
// goes bad, nothing the replica acknowledged is lost, and the next success
// recovers without a new lineage. Short writes are absorbed, not reported.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/fs.h"
#include "base/log.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heartbeat/health.h"
#include "replica/engine/replicator.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;

std::string MessageOf(const absl::Status& s) { return std::string(s.message()); }

struct FaultCase {
  const char* name;
  fs::Op op;
  int err;             // the errno injected (0: a short write instead)
  bool reported;       // a fault the replica must report; short writes are absorbed
};

class FsFaultTest : public ::testing::TestWithParam<FaultCase> {
 protected:
  void SetUp() override {
    if (getenv("LITESYNC_DEBUG")) SetLogLevel(LogLevel::kDebug);
    testing::CreateWalDb(db());
  }
  void TearDown() override {
    fs::SetFaultInjector(nullptr);
    if (replicator_ != nullptr) {
      LS_EXPECT_OK(replicator_->Stop());
    }
  }
  std::string db() const { return dir_.Join("app.db"); }
  std::string replica_dir() const { return dir_.Join("replica"); }
  std::string log() const { return dir_.Join("writer.log"); }

  void Start() {
    replicator_ = std::make_unique<Replicator>(&registry_, Clock::Real());
    LS_ASSERT_OK(replicator_->Add(
        testing::DbWithReplica(db(), testing::FileReplica(replica_dir(), absl::Milliseconds(20)))));
    replicator_->Start();
  }
  int Write(int txns, int seed) {
    return testing::RunProcess({testing::WriterBin(), db(), "-log", log(), "-txns",
                                std::to_string(txns), "-seed", std::to_string(seed)},
                               absl::Seconds(120));
  }
  SyncRecord Record() const {
    std::vector<SyncRecord> all = registry_.Snapshot();
    return all.empty() ? SyncRecord() : all.front();
  }
  // Waits (bounded) until `done` holds for the database's record.
  template <typename Pred>
  bool WaitFor(Pred done, absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done(Record())) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return done(Record());
  }
  bool CaughtUp() {
    return WaitFor([](const SyncRecord& r) {
      return r.last_error.ok() && r.local_txid != 0 && r.replicated_txid == r.local_txid;
    });
  }

  testing::TempDir dir_;
  SyncRegistry registry_;
  std::unique_ptr<Replicator> replicator_;
};

class FsFaultRestoreTest : public FsFaultTest {};

TEST_P(FsFaultTest, AFaultIsReportedHealthGoesBadAndTheNextSuccessRecovers) {
  const FaultCase& c = GetParam();
  Start();
  ASSERT_EQ(Write(20, 1), 0);
  ASSERT_TRUE(CaughtUp()) << MessageOf(Record().last_error);
  const Lineage lineage = Record().lineage;

  // Every operation of the kind under test on the replica's files fails (or is cut
  // to 3 bytes) until the injector goes.
  const std::string prefix = replica_dir();
  std::atomic<int> hits{0};
  fs::SetFaultInjector([&](fs::Op op, std::string_view what) {
    if (op != c.op || what.find(prefix) == std::string_view::npos) return fs::Fault{};
    ++hits;
    return c.err != 0 ? fs::Fault{.err = c.err} : fs::Fault{.short_write = 3};
  });
  const uint64_t acknowledged = Record().replicated_txid;
  ASSERT_EQ(Write(20, 2), 0);
  if (c.reported) {
    ASSERT_TRUE(WaitFor([](const SyncRecord& r) { return !r.last_error.ok(); }))
        << "the fault was never reported";
    const SyncRecord failing = Record();
    EXPECT_THAT(MessageOf(failing.last_error), HasSubstr(prefix)) << "names the file";
    EXPECT_THAT(MessageOf(failing.last_error), HasSubstr(std::strerror(c.err)));
    EXPECT_GE(failing.replicated_txid, acknowledged) << "acknowledged transactions stay";
    EXPECT_LT(failing.replicated_txid, failing.local_txid) << "nothing new is acknowledged";
    // Health is the one rule's: bad once the last success is older than the interval.
    absl::SleepFor(absl::Milliseconds(300));
    DbProblem p = CheckRecord(Record(), absl::Now(), absl::Milliseconds(200));
    EXPECT_EQ(p.reason, "sync error") << p.Describe(absl::Milliseconds(200));
  } else {
    ASSERT_TRUE(WaitFor([&](const SyncRecord& r) {
      return r.last_error.ok() && r.replicated_txid > acknowledged &&
             r.replicated_txid == r.local_txid;
    })) << "absorbed faults must not stop replication: "
        << MessageOf(Record().last_error);
  }
  EXPECT_GT(hits.load(), 0) << "the seam never saw the replica's " << c.name;

  fs::SetFaultInjector(nullptr);
  ASSERT_EQ(Write(5, 3), 0);
  ASSERT_TRUE(CaughtUp()) << "no recovery: " << MessageOf(Record().last_error);
  EXPECT_EQ(Record().lineage, lineage) << "a transient fault must not start a new lineage";
  LS_ASSERT_OK(replicator_->Stop());
  replicator_.reset();

  auto client = NewFileReplicaClient(testing::FileReplica(replica_dir()));
  LS_ASSERT_OK(client.status());
  std::string out = dir_.Join("restored.db");
  LS_ASSERT_OK(testing::RestoreTo(**client, {}, out).status());
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");
  LS_ASSERT_OK_AND_ASSIGN(testing::DbContent restored, testing::ReadContent(out));
  LS_ASSERT_OK_AND_ASSIGN(testing::DbContent source, testing::ReadContent(db()));
  EXPECT_EQ(restored.seq, source.seq);
  EXPECT_EQ(restored.hash, source.hash);
}

// A restore whose output disk fills up, or whose fsync fails, reports it naming
// the output, leaves nothing at OUT, and succeeds once the fault is gone.
TEST_F(FsFaultRestoreTest, AFailingOutputDiskLeavesNothingAtOutAndARetrySucceeds) {
  Start();
  ASSERT_EQ(Write(30, 1), 0);
  ASSERT_TRUE(CaughtUp()) << MessageOf(Record().last_error);
  LS_ASSERT_OK(replicator_->Stop());
  replicator_.reset();
  auto client = NewFileReplicaClient(testing::FileReplica(replica_dir()));
  LS_ASSERT_OK(client.status());
  const std::string out = dir_.Join("out");
  std::filesystem::create_directories(out);
  const std::string restored = out + "/restored.db";
  for (fs::Op op : {fs::Op::kWrite, fs::Op::kFsync}) {
    fs::SetFaultInjector([&](fs::Op o, std::string_view what) {
      if (o != op || what.find(out) == std::string_view::npos) return fs::Fault{};
      return fs::Fault{.err = op == fs::Op::kWrite ? ENOSPC : EIO};
    });
    absl::Status s = testing::RestoreTo(**client, {}, restored).status();
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(MessageOf(s), HasSubstr(out));
    EXPECT_FALSE(testing::FileExists(restored)) << "nothing at OUT after a failed restore";
    fs::SetFaultInjector(nullptr);
  }
  LS_ASSERT_OK(testing::RestoreTo(**client, {}, restored).status());
  LS_ASSERT_OK_AND_ASSIGN(testing::DbContent got, testing::ReadContent(restored));
  LS_ASSERT_OK_AND_ASSIGN(testing::DbContent want, testing::ReadContent(db()));
  EXPECT_EQ(got.hash, want.hash);
}

INSTANTIATE_TEST_SUITE_P(Faults, FsFaultTest,
                         ::testing::Values(FaultCase{"DiskFull", fs::Op::kWrite, ENOSPC, true},
                                           FaultCase{"WriteEio", fs::Op::kWrite, EIO, true},
                                           FaultCase{"FsyncEio", fs::Op::kFsync, EIO, true},
                                           FaultCase{"ShortWrites", fs::Op::kWrite, 0, false}),
                         [](const ::testing::TestParamInfo<FaultCase>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace litesync
