// Private to DbWatcher's implementation files (db_watcher*.cc): the per-replica
// state and the tx files waiting for replicas.
#pragma once

#include <unistd.h>

#include <deque>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/repeat_log.h"

#include "replica/engine/db_watcher.h"
#include "replica/engine/lease.h"
#include "replica/maintenance/compactor.h"

namespace litesync {

// A tx file waiting for replicas; shared by every replica's queue.
struct DbWatcher::Pending {
  TxFileInfo info;
  std::unique_ptr<ByteSource> bytes;
  std::string staging_path;  // removed when the last queue lets go
  bool snapshot = false;
  std::string new_lineage;  // a new lineage's snapshot: why (logged when a replica has it)
  uint32_t pages = 0;       // for that log line
  ~Pending() {
    if (!staging_path.empty()) ::unlink(staging_path.c_str());
  }
};

struct DbWatcher::Slot {
  size_t index = 0;  // position in slots_, for staging file names
  ReplicaOptions options;
  std::unique_ptr<ReplicaClient> client;
  std::string name;
  std::deque<std::shared_ptr<Pending>> queue;
  uint64_t queued_bytes = 0;
  bool needs_snapshot = false;
  int failures = 0;
  absl::Time retry_at = absl::InfinitePast();
  absl::Time last_reached = absl::InfinitePast();
  absl::Time reach_due = absl::InfinitePast();  // when an idle replica is next reached
  absl::Status last_status;
  // Failures logged once per step with a count, not once per attempt.
  RepeatedErrorLog sync_log{LogLevel::kError, "sync failed", "sync recovered"};
  RepeatedErrorLog snapshot_log{LogLevel::kError, "snapshot failed", "snapshot recovered"};
  std::unique_ptr<CompactionScheduler> compaction;
  ReplicaLease lease;  // held while this instance writes the replica
  absl::Time next_retention = absl::InfinitePast();
  // Retention lists the replica only when it may find something new to delete:
  // after files were written since its last pass (and at start-up), and once
  // more when the window has passed the last file written (retention_again).
  bool retention_work = true;
  absl::Time last_written = absl::InfinitePast();
  absl::Time retention_again = absl::InfiniteFuture();
  absl::Time next_validation = absl::InfinitePast();

  // Reachable and on the chain (no snapshot owed).
  bool healthy() const { return last_status.ok() && !needs_snapshot; }
  // ...and holding everything captured.
  bool caught_up() const { return healthy() && queue.empty(); }
};

namespace watcher_internal {

inline constexpr uint64_t kMaxQueuedBytes = 256ull << 20;   // per replica, then a snapshot later
inline constexpr uint64_t kStageToDiskBytes = 16ull << 20;  // larger increments are staged on disk
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
// A database is hot (see DbWatcher::Step) after a sync interval with this many
// times min_checkpoint_pages frames; it then checks its WAL at most this often.
inline constexpr uint64_t kHotFactor = 4;
inline constexpr absl::Duration kHotPoll = absl::Milliseconds(5);
// Once the WAL passes min_checkpoint_pages, a capture writes the WAL out itself
// (fdatasync) after this many frames captured since it last did (see
// CaptureIncrement).
inline constexpr uint64_t kWalSyncFrames = 256;
// Before a RESTART, at most this many captures to catch up (DbWatcher::CatchUp).
inline constexpr int kCatchUpRounds = 3;
// RESTART checkpoints (which hold the application's writer lock) at most this often.
inline constexpr absl::Duration kRestartEvery = absl::Seconds(1);
// litesync keeps SQLite's checkpointer lock only while its next step, which
// re-checks the wal-index header, is at most this far away (see
// DbWatcher::KeepCheckpointLock).
inline constexpr absl::Duration kCheckpointLockRecheck = absl::Seconds(1);

}  // namespace watcher_internal
}  // namespace litesync
