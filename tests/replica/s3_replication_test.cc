// The core replication tests again, against S3: a writer process plays
// the application, a Replicator ships its WAL to s3rver on loopback (directly, or
// through a FaultProxy that injects 500s, 503 SlowDown, resets and an outage), and
// restores are compared with the content the writer logged or with the source.
// Also: a restore with -parallelism equals the sequential one, over S3 and file,
// and a snapshot too large to prefetch is streamed in ranged parts on clients of
// its own.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <span>

#include "absl/time/clock.h"
#include "base/log.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/engine/replicator.h"
#include "replica/restore/restore.h"
#include "replica/storage/file/file_replica_client.h"
#include "replica/storage/parallel_reader.h"
#include "replica/storage/s3/s3_replica_client.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Fault;
using testing::FaultProxy;
using testing::S3Server;
using testing::TempDir;

class S3ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getenv("LITESYNC_DEBUG")) SetLogLevel(LogLevel::kDebug);
    ASSERT_TRUE(server_.running());
  }
  std::string db() const { return dir_.Join("app.db"); }
  std::string log() const { return dir_.Join("writer.log"); }

  // The replica as the Replicator sees it: through the proxy when `via_proxy`.
  ReplicaOptions Replica(bool via_proxy = false) const {
    ReplicaOptions o = server_.Options("app", via_proxy ? proxy_.endpoint() : "");
    o.sync_interval = absl::Milliseconds(50);
    return o;
  }
  void StartReplicator(bool via_proxy = false, int64_t min_checkpoint_pages = 200,
                       bool maintenance = true) {
    replicator_ = std::make_unique<Replicator>(&registry_, Clock::Real());
    ReplicaOptions replica = Replica(via_proxy);
    replica.maintenance = maintenance;
    DbOptions opts = testing::DbWithReplica(db(), replica);
    opts.min_checkpoint_pages = min_checkpoint_pages;
    LS_ASSERT_OK(replicator_->Add(opts));
    uint64_t before = testing::SyncCount(registry_);
    replicator_->Start();
    ASSERT_TRUE(testing::WaitForSyncAfter(registry_, before, absl::Seconds(60)))
        << "the replicator never synced " << db();
  }
  void StopReplicator() {
    ASSERT_TRUE(replicator_ != nullptr);
    LS_ASSERT_OK(replicator_->Stop());
    replicator_.reset();
  }
  int Write(std::vector<std::string> extra) {
    std::vector<std::string> argv = {testing::WriterBin(), db(), "-log", log()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunProcess(argv, absl::Seconds(120));
  }
  // A client straight to the server (never through the proxy).
  std::unique_ptr<ReplicaClient> Client() {
    auto c = NewS3ReplicaClient(Replica());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Restores `target` and checks the result is a state the writer logged.
  testing::DbContent RestoreAndVerify(const RestoreTarget& target, const std::string& name) {
    auto client = Client();
    std::string out = dir_.Join(name);
    auto plan = testing::RestoreTo(*client, target, out);
    EXPECT_TRUE(plan.ok()) << name << ": " << plan.status();
    EXPECT_EQ(testing::IntegrityCheck(out), "ok") << name;
    auto content = testing::ReadContent(out);
    EXPECT_TRUE(content.ok()) << content.status();
    if (!content.ok()) return {};
    auto logged = testing::ReadWriterLog(log());
    auto it = logged.find(content->seq);
    EXPECT_TRUE(it != logged.end()) << name << ": seq " << content->seq << " never logged";
    if (it != logged.end()) {
      EXPECT_EQ(it->second, content->hash) << name << " seq " << content->seq;
    }
    return *content;
  }
  std::vector<TxFileInfo> Files(int level) {
    auto client = Client();
    std::vector<TxFileInfo> out;
    auto lineages = client->ListLineages();
    EXPECT_TRUE(lineages.ok()) << lineages.status();
    if (!lineages.ok()) return out;
    for (Lineage l : *lineages) {
      auto files = client->List(l, level);
      EXPECT_TRUE(files.ok()) << files.status();
      if (files.ok()) out.insert(out.end(), files->begin(), files->end());
    }
    return out;
  }
  int64_t LastSeq() { return testing::ReadWriterLog(log()).rbegin()->first; }
  // Polls the sync record (bounded: there is no hook to wait on) until `pred`.
  bool WaitForRecord(const std::function<bool(const SyncRecord&)>& pred,
                     absl::Duration timeout = absl::Seconds(30)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::vector<SyncRecord> records = registry_.Snapshot();
      if (!records.empty() && pred(records[0])) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  TempDir dir_;
  S3Server server_;
  FaultProxy proxy_{server_.port()};
  SyncRegistry registry_;
  std::unique_ptr<Replicator> replicator_;
};

TEST_F(S3ReplicationTest, RoundTripUnderConcurrentRandomWorkloadWithVacuumAndSchemaChange) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "500", "-rate", "300", "-vacuum-every", "120", "-alter-at", "180",
                   "-seed", "31"}),
            0);
  StopReplicator();
  testing::DbContent latest = RestoreAndVerify({}, "latest.db");
  EXPECT_EQ(latest.seq, LastSeq());

  std::vector<TxFileInfo> files = Files(0);
  ASSERT_GT(files.size(), 5u) << "expected many syncs during the run";
  int64_t prev_seq = -1;
  for (size_t i = 1; i < files.size(); i += files.size() / 5) {
    RestoreTarget t;
    t.txid = files[i].max_txid;
    testing::DbContent c = RestoreAndVerify(t, "txid-" + std::to_string(i) + ".db");
    EXPECT_GE(c.seq, prev_seq);
    prev_seq = c.seq;
    RestoreTarget ts;
    ts.timestamp = files[i].timestamp;
    RestoreAndVerify(ts, "ts-" + std::to_string(i) + ".db");
  }
  auto records = registry_.Snapshot();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].last_error.ok()) << records[0].last_error;
}

TEST_F(S3ReplicationTest, CheckpointTruncateWhileStoppedStartsNewLineageAndRestoresExactly) {
  testing::CreateWalDb(db());
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "80", "-seed", "5", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  Lineage first = Client()->ListLineages()->back();
  ASSERT_EQ(Write({"-txns", "40", "-seed", "6", "-autocheckpoint", "0"}), 0);
  ASSERT_EQ(testing::RunProcess({testing::WriterBin(), db(), "-checkpoint", "TRUNCATE"},
                                absl::Seconds(30)),
            0);
  ASSERT_EQ(Write({"-txns", "40", "-seed", "7", "-autocheckpoint", "0"}), 0);
  StartReplicator();
  ASSERT_EQ(Write({"-txns", "30", "-seed", "8"}), 0);
  StopReplicator();
  Lineage second = Client()->ListLineages()->back();
  EXPECT_GT(second, first);
  EXPECT_EQ(RestoreAndVerify({}, "latest.db").seq, LastSeq());
  std::string out = dir_.Join("exact.db");
  LS_ASSERT_OK(testing::RestoreTo(*Client(), {}, out));
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
  RestoreTarget old;
  old.txid = second - 1;
  EXPECT_EQ(RestoreAndVerify(old, "old.db").seq, 80);
}

// Each fault lasts until the sync record shows it, then stops; the writer runs
// throughout. Afterwards the replica holds every transaction exactly once: the
// restore equals the source (a lost one would differ, a duplicated one would
// break the checksum chain the restore verifies).
TEST_F(S3ReplicationTest, ReplicationThroughFaultsAndAnOutageCatchesUpWithNothingLost) {
  testing::CreateWalDb(db());
  StartReplicator(/*via_proxy=*/true);
  testing::Process writer({testing::WriterBin(), db(), "-log", log(), "-duration", "60", "-rate",
                           "100", "-seed", "41"});
  auto caught_up = [&](const SyncRecord& r) {
    return r.last_error.ok() && r.replicated_txid > 0 && r.replicated_txid == r.local_txid;
  };
  auto failing = [](const SyncRecord& r) { return !r.last_error.ok(); };
  ASSERT_TRUE(WaitForRecord(caught_up));

  struct Phase {
    const char* name;
    Fault mode;
    const char* error;  // in the sync record's error while it lasts
  };
  for (const Phase& p :
       {Phase{"500", Fault::kHttp500, "HTTP 500"},
        Phase{"slowdown", Fault::kSlowDown503, "HTTP 503"}, Phase{"reset", Fault::kReset, ""}}) {
    SCOPED_TRACE(p.name);
    proxy_.SetMode(p.mode);
    ASSERT_TRUE(WaitForRecord(failing)) << "no error recorded under " << p.name;
    SyncRecord r = registry_.Snapshot()[0];
    EXPECT_THAT(std::string(r.last_error.message()), ::testing::HasSubstr(p.error));
    EXPECT_GT(r.sync_error_count, 0u);
    proxy_.SetMode(Fault::kNone);
    ASSERT_TRUE(WaitForRecord(caught_up))
        << "no catch-up after " << p.name << ": " << registry_.Snapshot()[0].last_error;
  }

  // An outage: the server itself is down for a while, then back with its data.
  server_.Stop();
  ASSERT_TRUE(WaitForRecord(failing)) << "no error recorded while the server is down";
  EXPECT_FALSE(registry_.Snapshot()[0].last_error.ok());
  absl::SleepFor(absl::Seconds(1));  // commits pile up meanwhile
  LS_ASSERT_OK(server_.Restart());
  ASSERT_TRUE(WaitForRecord(caught_up, absl::Seconds(60))) << registry_.Snapshot()[0].last_error;

  // The writer may die between a commit and its log line: the source, not the
  // log, is the reference here.
  writer.Signal(SIGTERM);
  writer.Wait(absl::Seconds(30));
  StopReplicator();
  EXPECT_GT(proxy_.faults(), 0);
  std::string out = dir_.Join("restored.db");
  LS_ASSERT_OK(testing::RestoreTo(*Client(), {}, out));
  EXPECT_EQ(testing::IntegrityCheck(out), "ok");
  EXPECT_EQ(*testing::DumpContent(out), *testing::DumpContent(db()));
  EXPECT_EQ(testing::ReadContent(out)->hash, testing::ReadContent(db())->hash);
}

// Restores with -parallelism 4 and 1 of the same many-file replica are identical.
void ExpectParallelRestoreEqualsSequential(ReplicaClient& client,
                                           const RestoreOptions::ClientFactory& factory,
                                           const TempDir& dir, const std::string& source) {
  RestoreTarget latest;
  LS_ASSERT_OK_AND_ASSIGN(RestorePlan plan, PlanRestore(client, latest));
  ASSERT_GT(plan.files.size(), 10u) << "expected a many-file plan";
  RestoreOptions seq;
  seq.output_path = dir.Join("sequential.db");
  seq.parallelism = 1;
  LS_ASSERT_OK(ExecuteRestore(client, plan, seq));
  RestoreOptions par;
  par.output_path = dir.Join("parallel.db");
  par.parallelism = 4;
  par.client_factory = factory;
  LS_ASSERT_OK(ExecuteRestore(client, plan, par));
  EXPECT_TRUE(testing::ReadFileOrDie(seq.output_path) == testing::ReadFileOrDie(par.output_path));
  EXPECT_EQ(*testing::DumpContent(par.output_path), *testing::DumpContent(source));
  // Earlier points too: the window slides over plans of every length.
  for (size_t n : {size_t{2}, plan.files.size() / 2}) {
    RestoreTarget t;
    t.txid = plan.files[n - 1].max_txid;
    LS_ASSERT_OK_AND_ASSIGN(RestorePlan p, PlanRestore(client, t));
    seq.output_path = dir.Join(fmt::format("seq-{}.db", n));
    par.output_path = dir.Join(fmt::format("par-{}.db", n));
    LS_ASSERT_OK(ExecuteRestore(client, p, seq));
    LS_ASSERT_OK(ExecuteRestore(client, p, par));
    EXPECT_TRUE(testing::ReadFileOrDie(seq.output_path) == testing::ReadFileOrDie(par.output_path));
  }
}

TEST_F(S3ReplicationTest, ParallelRestoreEqualsSequentialOverS3) {
  testing::CreateWalDb(db());
  // No compaction: the plan keeps one file per sync.
  StartReplicator(/*via_proxy=*/false, /*min_checkpoint_pages=*/1'000'000,
                  /*maintenance=*/false);
  ASSERT_EQ(Write({"-txns", "300", "-rate", "75", "-seed", "51", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  auto client = Client();
  ReplicaOptions o = Replica();
  ExpectParallelRestoreEqualsSequential(
      *client, [o] { return NewS3ReplicaClient(o); }, dir_, db());
}

TEST_F(S3ReplicationTest, ParallelRestoreEqualsSequentialOverFile) {
  testing::CreateWalDb(db());
  replicator_ = std::make_unique<Replicator>(&registry_, Clock::Real());
  ReplicaOptions o = testing::FileReplica(dir_.Join("replica"));
  o.maintenance = false;
  DbOptions opts = testing::DbWithReplica(db(), o);
  opts.min_checkpoint_pages = 1'000'000;
  LS_ASSERT_OK(replicator_->Add(opts));
  replicator_->Start();
  ASSERT_EQ(Write({"-txns", "300", "-rate", "150", "-seed", "52", "-autocheckpoint", "0"}), 0);
  StopReplicator();
  auto client = NewFileReplicaClient(o);
  LS_ASSERT_OK(client);
  ExpectParallelRestoreEqualsSequential(
      **client, [o] { return NewFileReplicaClient(o); }, dir_, db());
}

// A snapshot of two parts and more (32 MiB) is fetched in ranges by clients of its own
// while it is applied (replica/storage/parallel_reader.h): byte for byte the
// sequential restore, and the source's content.
TEST_F(S3ReplicationTest, ALargeSnapshotIsFetchedInPartsAndRestoresExactly) {
  testing::CreateWalDb(db());
  ASSERT_EQ(
      Write({"-mode", "insert", "-rate", "0", "-txns", "3500", "-payload", "16000", "-seed", "53"}),
      0);
  StartReplicator();
  ASSERT_TRUE(WaitForRecord(
      [](const SyncRecord& r) {
        return r.last_error.ok() && r.replicated_txid > 0 && r.replicated_txid == r.local_txid;
      },
      absl::Seconds(120)));
  StopReplicator();
  auto client = Client();
  LS_ASSERT_OK_AND_ASSIGN(RestorePlan plan, PlanRestore(*client, {}));
  ASSERT_GE(plan.files.front().size, 2 * ParallelReadOptions{}.part_size)
      << "the snapshot is too small";
  RestoreOptions seq;
  seq.output_path = dir_.Join("sequential.db");
  seq.parallelism = 1;
  LS_ASSERT_OK(ExecuteRestore(*client, plan, seq));
  RestoreOptions par;
  par.output_path = dir_.Join("parallel.db");
  par.parallelism = 4;
  ReplicaOptions o = Replica();
  std::atomic<int> clients{0};
  par.client_factory = [o, &clients] {
    ++clients;
    return NewS3ReplicaClient(o);
  };
  LS_ASSERT_OK(ExecuteRestore(*client, plan, par));
  // The prefetcher opens one client per file up to -parallelism (none for one
  // file); the parts reader opens its own on top.
  const int prefetchers = plan.files.size() > 1 ? std::min<int>(4, plan.files.size()) : 0;
  EXPECT_GT(clients.load(), prefetchers);
  EXPECT_TRUE(testing::ReadFileOrDie(seq.output_path) == testing::ReadFileOrDie(par.output_path));
  EXPECT_EQ(*testing::DumpContent(par.output_path), *testing::DumpContent(db()));
}

TEST_F(S3ReplicationTest, ParallelRestoreOfAMissingFileFailsAndLeavesNoOutput) {
  testing::CreateWalDb(db());
  StartReplicator();
  // Long enough for several files after the lease's confirmation (kLeaseSettle:
  // s3rver ignores conditional writes).
  ASSERT_EQ(Write({"-txns", "120", "-rate", "30", "-seed", "15"}), 0);
  StopReplicator();
  auto client = Client();
  LS_ASSERT_OK_AND_ASSIGN(RestorePlan plan, PlanRestore(*client, {}));
  ASSERT_GE(plan.files.size(), 3u);
  LS_ASSERT_OK(client->Delete(std::span(&plan.files[plan.files.size() / 2], 1)));
  RestoreOptions par;
  par.output_path = dir_.Join("out.db");
  par.parallelism = 4;
  ReplicaOptions o = Replica();
  par.client_factory = [o] { return NewS3ReplicaClient(o); };
  absl::Status s = ExecuteRestore(*client, plan, par);
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("missing"));
  EXPECT_FALSE(testing::FileExists(par.output_path));
}

}  // namespace
}  // namespace litesync
