// One replica of one database, the shipping side of the engine: its queue of
// captured tx files, its lease, uploads with backoff, the cheap reach of an idle
// replica, and its maintenance (compaction, retention, validation). The capture
// side (DbWatcher) hands it tx files and the database's position; it reports
// everything it does through the database's SyncRecorder.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/repeat_log.h"

#include "replica/engine/lease.h"
#include "replica/engine/pending_tx_file.h"
#include "replica/engine/sync_recorder.h"
#include "replica/maintenance/compactor.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/replica_options.h"

namespace litesync {

// The database's position as the capture side knows it, for one shipping pass.
struct DbPosition {
  bool positioned = false;  // lineage/txid/checksum describe the base pin
  uint64_t lineage = 0;
  uint64_t txid = 0;
  uint64_t checksum = 0;
  int64_t wal_size = 0;
};

class ReplicaShipper {
 public:
  // Builds a snapshot of the base position for this shipper (DbWatcher).
  using SnapshotBuilder = std::function<absl::StatusOr<std::shared_ptr<PendingTxFile>>()>;
  enum class Outcome {
    kShipped,  // done for now (an error, if any, is in last_status and retried later)
    kResync,   // a lease changed hands or the chain broke: nothing more is written until
               // the capture side has re-read the replica (Recover)
  };

  // `recorder` and `clock` must outlive the shipper.
  ReplicaShipper(const DbOptions& db, size_t index, const ReplicaOptions& options,
                 const ReplicaClientFactory& new_client, SyncRecorder* recorder, Clock* clock);

  const std::string& name() const { return name_; }
  size_t index() const { return index_; }
  const ReplicaOptions& options() const { return options_; }
  // Null when the client could not be made (last_status says why).
  ReplicaClient* client() const { return client_.get(); }
  const absl::Status& last_status() const { return last_status_; }
  absl::Time retry_at() const { return retry_at_; }
  // Reachable and on the chain (no snapshot owed).
  bool healthy() const { return last_status_.ok() && !needs_snapshot_; }
  // ...and holding everything captured.
  bool caught_up() const { return healthy() && queue_.empty(); }
  bool idle() const { return queue_.empty(); }
  // The lease is being confirmed: the next write is due at lease_confirm_at().
  bool lease_confirming() const { return lease_.confirming(); }
  absl::Time lease_confirm_at() const { return lease_.confirm_at(); }

  // The queue: tx files in order. A replica too far behind (kMaxQueuedBytes) drops
  // its queue and is owed a snapshot instead.
  void Enqueue(const std::shared_ptr<PendingTxFile>& p);
  // The position being abandoned (a new lineage, a re-read of the replica).
  void DropQueue();
  void OweSnapshot(bool owed) { needs_snapshot_ = owed; }
  // A periodic snapshot: owed by a caught-up, reachable replica that maintains.
  bool OweSnapshotIfCaughtUp();
  // How often this replica wants a fresh snapshot (snapshot-interval, else its
  // retention); infinite when it does no maintenance.
  absl::Duration SnapshotEvery() const;

  // One shipping pass: the lease when there is something to write, the owed
  // snapshot (built by `build`), the queue, or a reach when idle; then, with
  // `maintain` and caught up, compaction, validation and retention. `force`:
  // even while backing off.
  Outcome Ship(const DbPosition& pos, absl::Time now, bool force, bool maintain,
               const SnapshotBuilder& build);
  // Why the replica's chain broke in the last pass (empty: it did not); cleared.
  std::string TakeChainBroken();
  // After a clean final sync: the next instance may write at once.
  void ReleaseLease(absl::Time now);

 private:
  absl::Status EnsureLease(absl::Time now, bool* resync);
  void ChainBroken(const absl::Status& why);
  bool Maintain(const DbPosition& pos, absl::Time now);  // false: resync
  void MaybeValidate(const DbPosition& pos, absl::Time now);
  void Failed(const absl::Status& s, absl::Time now, RepeatedErrorLog* log);

  std::string db_;  // the database's path, for messages
  std::string scratch_dir_;
  absl::Duration health_interval_;
  size_t index_;
  ReplicaOptions options_;
  std::unique_ptr<ReplicaClient> client_;
  std::string name_;
  SyncRecorder* recorder_;
  Clock* clock_;

  std::deque<std::shared_ptr<PendingTxFile>> queue_;
  uint64_t queued_bytes_ = 0;
  bool needs_snapshot_ = false;
  int failures_ = 0;
  absl::Time retry_at_ = absl::InfinitePast();
  absl::Time reach_due_ = absl::InfinitePast();  // when an idle replica is next reached
  absl::Status last_status_;
  std::string chain_broken_;  // TakeChainBroken
  // Failures logged once per step with a count, not once per attempt.
  RepeatedErrorLog sync_log_{LogLevel::kError, "sync failed", "sync recovered"};
  RepeatedErrorLog snapshot_log_{LogLevel::kError, "snapshot failed", "snapshot recovered"};
  std::unique_ptr<CompactionScheduler> compaction_;
  ReplicaLease lease_;  // held while this instance writes the replica
  absl::Time next_retention_ = absl::InfinitePast();
  // Retention lists the replica only when it may find something new to delete:
  // after files were written since its last pass (and at start-up), and once
  // more when the window has passed the last file written (retention_again_).
  bool retention_work_ = true;
  absl::Time last_written_ = absl::InfinitePast();
  absl::Time retention_again_ = absl::InfiniteFuture();
  absl::Time next_validation_ = absl::InfinitePast();
};

namespace shipper_internal {

inline constexpr uint64_t kMaxQueuedBytes = 256ull << 20;  // per replica, then a snapshot later
inline constexpr absl::Duration kMaxBackoff = absl::Seconds(30);
// The wait before the next attempt after `failures` failed ones in a row: `base`
// doubled per failure up to kMaxBackoff, with jitter (half to all of it).
absl::Duration Backoff(int failures, absl::Duration base);
inline constexpr absl::Duration kPingEvery = absl::Seconds(10);
// How long after reaching a replica (a write or a ping) an idle one is reached
// again: half to 0.6 of `health_interval` (at least kPingEvery and
// `sync_interval`), random per time so many databases spread out; without a
// health interval, max(kPingEvery, sync_interval).
absl::Duration ReachEvery(absl::Duration health_interval, absl::Duration sync_interval);
inline constexpr absl::Duration kRetentionEvery = absl::Minutes(5);

}  // namespace shipper_internal
}  // namespace litesync
