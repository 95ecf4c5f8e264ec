// A database history in fake time, for the compaction and retention tests. Each
// Tick runs the test writer for a few transactions (a separate process playing
// the application, VACUUMs included), advances a FakeClock and syncs a DbWatcher
// to a file replica, so hours of history take seconds. Tx file timestamps come
// from the watcher's clock; every synced state is recorded with the content the
// writer logged for it, so a restore can be compared with the exact source.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "replica/engine/db_watcher.h"
#include "replica/restore/restore.h"
#include "replica/storage/file/file_replica_client.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"

namespace litesync::testing {

struct HistoryPoint {
  absl::Time time;  // capture time: the timestamp of the tx file holding the state
  Lineage lineage = 0;
  uint64_t txid = 0;
  int64_t seq = 0;  // the writer's log line for this state
  uint64_t hash = 0;
};

// Forwards to a real client, with faults that stand in for a crash: Write fails
// once `writes_left` writes have succeeded; Delete deletes only the first
// `deletes_left` files (of its batch) and then fails.
class FaultClient : public ReplicaClient {
 public:
  explicit FaultClient(ReplicaClient* base) : base_(base) {}
  int writes_left = 1 << 30;
  size_t deletes_left = size_t{1} << 30;

  std::string_view Type() const override { return base_->Type(); }
  std::string Describe() const override { return base_->Describe(); }
  absl::StatusOr<std::vector<Lineage>> ListLineages() override { return base_->ListLineages(); }
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    return base_->List(lineage, level);
  }
  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override {
    if (writes_left-- <= 0) return absl::UnavailableError("injected: write fails");
    return base_->Write(info, bytes);
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    return base_->Open(info);
  }
  absl::Status Delete(std::span<const TxFileInfo> files) override {
    if (files.size() <= deletes_left) {
      deletes_left -= files.size();
      return base_->Delete(files);
    }
    absl::Status s = base_->Delete(files.first(deletes_left));
    deletes_left = 0;
    return s.ok() ? absl::UnavailableError("injected: delete interrupted") : s;
  }
  absl::Status Ping() override { return base_->Ping(); }

 private:
  ReplicaClient* base_;
};

class History {
 public:
  explicit History(std::string dir) : dir_(std::move(dir)) {
    CreateWalDb(db());
    Start();
    auto client = NewFileReplicaClient(FileReplica(replica_dir()));
    EXPECT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  std::string db() const { return dir_ + "/app.db"; }
  std::string replica_dir() const { return dir_ + "/replica"; }
  ReplicaClient& client() { return *client_; }
  FakeClock& clock() { return clock_; }
  Lineage lineage() const { return points_.back().lineage; }
  const std::vector<HistoryPoint>& points() const { return points_; }

  // The writer commits `txns` transactions, the clock moves on by `advance`, the
  // watcher syncs: one level-0 file (or a new lineage's snapshot) at Now().
  void Tick(int txns, absl::Duration advance) {
    ASSERT_NO_FATAL_FAILURE(Write(txns));
    clock_.Advance(advance);
    watcher_->Step();
    std::vector<SyncRecord> records = registry_.Snapshot();
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].last_error.ok()) << records[0].last_error;
    ASSERT_EQ(records[0].replicated_txid, watcher_->txid());
    auto logged = ReadWriterLog(log());
    ASSERT_FALSE(logged.empty());
    points_.push_back({clock_.Now(), watcher_->lineage(), watcher_->txid(), logged.rbegin()->first,
                       logged.rbegin()->second});
  }

  // Stops the watcher; the application writes and checkpoints (TRUNCATE) behind
  // its back, so the next Tick starts a new lineage with a snapshot.
  void BreakLineage() {
    watcher_.reset();
    ASSERT_NO_FATAL_FAILURE(Write(3));
    ASSERT_EQ(RunProcess({WriterBin(), db(), "-checkpoint", "TRUNCATE"}, absl::Seconds(30)), 0);
    Start();
  }

  // The last state captured at or before `t`, nullptr when none.
  const HistoryPoint* At(absl::Time t) const {
    const HistoryPoint* found = nullptr;
    for (const HistoryPoint& p : points_) {
      if (p.time <= t) found = &p;
    }
    return found;
  }
  const HistoryPoint* WithTxid(uint64_t txid) const {
    for (const HistoryPoint& p : points_) {
      if (p.txid == txid) return &p;
    }
    return nullptr;
  }

  // Restores `target` from `from` (default: the replica) and expects exactly the
  // state `want`. The plan's file count is returned through `files` when given.
  void ExpectRestore(const RestoreTarget& target, const HistoryPoint& want,
                     ReplicaClient* from = nullptr, size_t* files = nullptr) {
    std::string out = dir_ + "/restore-" + std::to_string(++restores_) + ".db";
    auto plan = RestoreTo(from != nullptr ? *from : *client_, target, out);
    ASSERT_TRUE(plan.ok()) << plan.status();
    if (files != nullptr) *files = plan->files.size();
    EXPECT_EQ(plan->lineage, want.lineage);
    EXPECT_EQ(plan->txid, want.txid);
    EXPECT_EQ(IntegrityCheck(out), "ok");
    auto content = ReadContent(out);
    ASSERT_TRUE(content.ok()) << content.status();
    EXPECT_EQ(content->seq, want.seq) << "txid " << want.txid;
    EXPECT_EQ(content->hash, want.hash) << "txid " << want.txid;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(out + suffix);
  }

 private:
  std::string log() const { return dir_ + "/writer.log"; }
  void Start() {
    DbOptions options = DbWithReplica(db(), FileReplica(replica_dir()));
    options.replicas[0].maintenance = false;  // these tests run compaction and retention by hand
    watcher_ = std::make_unique<DbWatcher>(options, &registry_, &clock_);
  }
  void Write(int txns) {
    ASSERT_EQ(RunProcess({WriterBin(), db(), "-log", log(), "-txns", std::to_string(txns), "-seed",
                          std::to_string(++seed_), "-vacuum-every", "29", "-autocheckpoint", "0"},
                         absl::Seconds(60)),
              0);
  }

  std::string dir_;
  FakeClock clock_;
  SyncRegistry registry_;
  std::unique_ptr<DbWatcher> watcher_;
  std::unique_ptr<ReplicaClient> client_;
  std::vector<HistoryPoint> points_;
  int seed_ = 0;
  int restores_ = 0;
};

}  // namespace litesync::testing
