// Restore: plan which tx files rebuild a database at a point in time, fetch them,
// apply them to a temporary file, verify every checksum, then rename into place.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "replica/storage/replica_client.h"

namespace litesync {

struct RestoreTarget {
  std::optional<uint64_t> txid;         // restore exactly this transaction
  std::optional<absl::Time> timestamp;  // the last transaction captured at or before
};

struct RestorePlan {
  Lineage lineage = 0;
  uint64_t txid = 0;              // the state the plan restores
  absl::Time timestamp;           // capture time of that state
  std::vector<TxFileInfo> files;  // snapshot first, then increments in order
  uint64_t bytes = 0;             // sum of file sizes (0 where unknown)
};

// Plans a restore (replica/restore/restore_plan.cc). Never plans a point other than the
// target: a timestamp t means the replica's state at t, the newest sync at or
// before t, and is restorable only while the replica can prove that state (a
// file ending at it was captured exactly at t, a level-0 file, one per sync,
// starts right after it, or nothing follows it in its lineage) and a snapshot
// and a chain of files reach it exactly. Before the retention cutoff, compaction
// merged the syncs and retention removed the level-0 files, so mostly only the
// capture times of the kept files themselves restore there.
// NotFound when the replica holds nothing or the target is not restorable: the
// message names the replica and the oldest restorable time (or TXID), and for a
// time inside the history, the next restorable time after it.
absl::StatusOr<RestorePlan> PlanRestore(ReplicaClient& client, const RestoreTarget& target);

// How far ExecuteRestore is, for a progress display.
struct RestoreProgress {
  size_t files_done = 0;
  size_t files_total = 0;
  uint64_t bytes_done = 0;   // sizes in the replica of the files applied
  uint64_t bytes_total = 0;  // of every file of the plan (0 when a size is unknown)
  std::string fetching;      // the file being fetched (its replica path); empty at the end
};

struct RestoreOptions {
  std::string output_path;  // written via <output>.tmp-<pid>, renamed after verification
  // Files fetched at once: up to this many files ahead of the one being applied are
  // downloaded concurrently, each by a client of its own from client_factory (a
  // client serves one thread at a time). Files of unknown size or of 64 MiB and more
  // are not prefetched but streamed in turn, so memory stays bounded. Without a
  // factory, or at 1, files are fetched one after another with the given client.
  int parallelism = 8;
  using ClientFactory = std::function<absl::StatusOr<std::unique_ptr<ReplicaClient>>()>;
  ClientFactory client_factory;
  // Called on the calling thread before each file is fetched and once when every
  // file is applied. Empty: none.
  std::function<void(const RestoreProgress&)> on_progress;
};

// Executes `plan`, applying files strictly in order and verifying every checksum;
// on any error the output path is left untouched.
absl::Status ExecuteRestore(ReplicaClient& client, const RestorePlan& plan,
                            const RestoreOptions& options);

// Re-plans made by ExecuteRestoreReplanning before it gives up.
inline constexpr int kMaxRestoreReplans = 5;

// ExecuteRestore of `*plan` (made by PlanRestore for `target`) that survives
// retention racing it: when a file of the plan is gone mid-restore
// (NotFound), the replica is listed again and the same point planned again (the
// plan's TXID for a -txid or -timestamp target, the latest state otherwise),
// up to kMaxRestoreReplans times; a new plan that equals the old one ends it. If
// the point is no longer restorable, the error says so. `*plan` becomes the plan
// that was executed. Nothing is ever written at the output on failure.
absl::Status ExecuteRestoreReplanning(ReplicaClient& client, const RestoreTarget& target,
                                      RestorePlan* plan, const RestoreOptions& options);

}  // namespace litesync
