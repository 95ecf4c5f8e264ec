// One database's replication, the capture side: the read pin, the WAL scan into
// tx files, snapshots and new lineages, resuming at start-up, and checkpoints.
// Each replica's shipping (queue, lease, uploads, maintenance) is a
// ReplicaShipper (replica_shipper.h); every sync record is written through the
// database's SyncRecorder (sync_recorder.h). Driven by a Replicator worker
// through Step(); one thread at a time.
//
// Continuity (docs/FORMAT.md, "How the WAL is read"): the watcher always holds a read pin (see
// db_reader.h), so the WAL can neither restart nor be checkpointed past what it
// has captured. Every tx file records the database checksum before and after; a
// break (the WAL restarted twice, the file replaced, a position that no longer
// verifies) starts a new lineage with a full snapshot.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/repeat_log.h"
#include "base/sync_record.h"

#include "replica/engine/pending_tx_file.h"
#include "replica/engine/replica_shipper.h"
#include "replica/engine/sync_recorder.h"
#include "replica/format/tx_file.h"
#include "replica/sqlite/db_reader.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/replica_options.h"

namespace litesync {

class DbWatcher {
 public:
  // `registry` and `clock` must outlive the watcher; `new_client` makes each
  // replica's client (engine tests pass fault-injecting ones).
  DbWatcher(DbOptions options, SyncRegistry* registry, Clock* clock,
            const ReplicaClientFactory& new_client = NewReplicaClient);
  ~DbWatcher();
  DbWatcher(const DbWatcher&) = delete;
  DbWatcher& operator=(const DbWatcher&) = delete;

  const std::string& path() const { return options_.path; }
  // Runs one sync; returns when the next one is due. `sync_now` (a `litesync
  // sync` request): capture and ship even while hot, and try replicas that are
  // backing off.
  absl::Time Step(bool sync_now = false);
  // Captures what is committed now and uploads until every replica has it or
  // `deadline` passes. OK only when every replica acknowledged everything.
  absl::Status FinalSync(absl::Time deadline);

  // For tests and status: the last captured transaction and lineage.
  uint64_t txid() const { return txid_; }
  Lineage lineage() const { return lineage_; }

 private:
  using Pending = PendingTxFile;

  absl::Status EnsureOpen();
  absl::Status Recover();
  // The tx file from the replica's last position (header `h`) through the end of
  // the WAL generation the application checkpointed and restarted meanwhile;
  // the next pin holds the new generation's start. An error when it cannot be
  // proven (db_watcher_resume.cc).
  absl::StatusOr<std::shared_ptr<Pending>> ResumeFromWalTail(const TxHeader& h);
  absl::Status Capture(bool force = false);  // force: pin even when quiet
  // Reads the WAL between the base and the next pin. FailedPrecondition-free:
  // returns DataLoss on a continuity break (the caller starts a new lineage).
  absl::Status CaptureIncrement(const WalPin& pin);
  absl::Status StartLineage(const std::string& why);
  absl::StatusOr<std::shared_ptr<Pending>> SnapshotBaseFor(const ReplicaShipper& shipper);
  absl::StatusOr<std::shared_ptr<Pending>> BuildSnapshot(bool from_next, Lineage lineage,
                                                         uint64_t max_txid,
                                                         const std::string& staging, uint64_t* sum);
  void Enqueue(const std::shared_ptr<Pending>& p);
  // One shipping pass over every replica (ReplicaShipper::Ship); stops at the
  // first that needs the replica re-read (resync_).
  void Upload(absl::Time now, bool force, bool maintain = true);
  bool MaybeScheduleSnapshot(absl::Time now);  // true when a snapshot was queued
  absl::Status MaybeCheckpoint(absl::Time now);
  // Logs a failed checkpoint and shows it on the database's sync records until
  // a checkpoint succeeds again.
  void NoteCheckpoint(const absl::Status& s, absl::Time now);
  absl::Status RestartWal(int mode, int* log, int* done);  // MaybeCheckpoint's second step
  void KeepCheckpointLock(absl::Time now, absl::Time next_step);
  absl::StatusOr<bool> CatchUp();
  bool CaughtUp() const;  // every replica has everything captured, and is healthy
  void RecordError(const absl::Status& s);
  void CloseReader();
  std::string StagingPath(uint64_t txid) const;

  DbOptions options_;
  Clock* clock_;
  SyncRecorder recorder_;
  std::vector<std::unique_ptr<ReplicaShipper>> shippers_;
  std::unique_ptr<DbReader> reader_;

  bool positioned_ = false;  // lineage_/txid_/checksum_ describe the base pin
  Lineage lineage_ = 0;
  uint64_t txid_ = 0;
  uint64_t checksum_ = 0;
  uint32_t commit_ = 0;
  uint32_t page_size_ = 0;
  absl::Time last_restart_ = absl::InfinitePast();
  absl::Time sync_due_ = absl::InfinitePast();  // the next step by the sync interval
  std::optional<WalPin> restarted_;             // the WAL at the last RESTART, all of it backfilled
  bool restarting_ = false;       // inside RestartWal: the application waits for its writer lock
  bool hot_ = false;              // committing fast: Step syncs early (see Step)
  uint64_t frames_captured_ = 0;  // WAL frames replayed by every capture so far
  uint64_t captured_at_due_ = 0;  // frames_captured_ at the last step at sync_due_
  uint64_t captured_at_wal_sync_ = 0;  // frames_captured_ when we last fdatasynced the WAL
  absl::Duration hot_poll_;            // while hot: how often Step checks the WAL
  absl::Time last_snapshot_ = absl::InfinitePast();
  uint64_t snapshot_txid_ = 0;  // txid_ at the last periodic snapshot (or at start-up)
  absl::Time retry_open_at_ = absl::InfinitePast();
  int64_t wal_size_ = 0;
  bool resync_ = false;             // a replica's lease changed hands: Recover before writing
  std::string new_lineage_reason_;  // non-empty: Recover starts a new lineage (ChainBroken)
  bool wal_size_stale_ = true;      // the WAL may have changed since wal_size_ was read
  bool checkpointed_ = false;       // a checkpoint in this step wrote the database
  bool force_snapshot_ = false;     // DbOptions::force_snapshot, until a snapshot went to all
  RepeatedErrorLog open_log_{LogLevel::kError, "sync failed", "sync recovered"};
  RepeatedErrorLog checkpoint_log_{LogLevel::kWarn, "checkpoint failed", "checkpoint recovered"};
};

}  // namespace litesync
