// Retention: deletes the tx files no restore inside the retention window needs.
// Not thread-safe: one thread at a time per client.
//
// The rule. Let the cutoff C = now - retention. A point inside the window is a
// time t >= C (restore takes the last transaction captured at or before t) or
// the latest state. Then:
//   1. Nothing captured after C is deleted: every file whose timestamp is after
//      C stays, whatever its level or lineage.
//   2. The cutoff lineage is the newest lineage holding a file captured at or
//      before C; T_C, the state at C, is the highest max_txid among its files
//      captured at or before C. Every point inside the window is T_C or later
//      (in that lineage or a newer one).
//   3. In the cutoff lineage, of the files captured at or before C (all end at or
//      before T_C) only these stay:
//        - S, the newest snapshot with max_txid <= T_C (the one restore starts
//          from for T_C and every later point of the lineage);
//        - the chain restore takes from S to T_C: at each position the file
//          reaching furthest without passing T_C (ties: the highest level);
//        - one file ending at T_C captured at or before C, so that a restore at
//          C still resolves to T_C.
//      Everything else there is deleted: files before S, and files after S that
//      the chain steps over, i.e. lower-level files covered by a compacted
//      file. Restore takes the same positions for T_C and every later txid
//      before and after the deletion (its choices never exceed what the chain
//      offers up to T_C, and every file ending after T_C stays).
//   4. Lineages older than the cutoff lineage are deleted whole, unless one holds
//      a file captured after C (clock trouble): then it stays whole.
//   5. Lineages newer than the cutoff lineage stay whole; so does the latest
//      lineage's latest state, which is T_C or later.
// When no lineage has a file captured at or before C, nothing is deleted. When
// the cutoff lineage has no snapshot at or before T_C, or no chain from it to
// T_C, the window is already unrestorable at C: nothing is deleted and the
// result is DataLoss naming the lineage (it resolves itself once C passes into
// a healthy lineage).
//
// Points before C restore afterwards only where the kept files still prove the
// state at that time (PlanRestore, restore.h): the capture times of S and the
// chain's files, the state T_C from its capture time to C, and states whose next
// sync is still a level-0 file. Other points before C are NotFound from
// PlanRestore, naming the oldest restorable time; a restore never falls back to
// a nearby kept state.
//
// Crash safety: deletions are issued oldest first (by lineage, then max_txid),
// in batches through ReplicaClient::Delete. No file a point inside the window
// needs is ever in a batch, so any prefix of the deletions, or any subset of a
// batch, leaves every point inside the window restorable exactly.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

// Files per ReplicaClient::Delete call (S3's DeleteObjects takes at most 1000).
inline constexpr size_t kRetentionBatch = 1000;

struct RetentionPlan {
  std::vector<TxFileInfo> deletions;  // oldest first: by lineage, then max_txid, then level
  Lineage cutoff_lineage = 0;         // 0: nothing at or before the cutoff
  uint64_t cutoff_txid = 0;           // T_C
  TxFileInfo anchor;                  // S (unset when cutoff_lineage is 0)
};

// Applies the rule to a listing of the replica: every file of each lineage at
// levels 0..3 and 9, in any order. Pure; DataLoss as described above.
absl::StatusOr<RetentionPlan> PlanRetention(const std::map<Lineage, std::vector<TxFileInfo>>& files,
                                            absl::Time cutoff);

struct RetentionResult {
  RetentionPlan plan;
  std::vector<TxFileInfo> deleted;  // acknowledged by the replica
};

// Lists the replica, plans with cutoff now - retention, and deletes. On a
// failed batch stops and returns the error (the replica stays restorable
// within the window); `out` (may be null) says what was deleted so far.
absl::Status EnforceRetention(ReplicaClient& client, absl::Time now, absl::Duration retention,
                              RetentionResult* out);

}  // namespace litesync
