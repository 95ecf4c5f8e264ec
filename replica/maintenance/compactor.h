// Compaction: merges the tx files of one level into larger files at the next
// level, so a restore reads one snapshot and a handful of files. Level 1 is built from level 0,
// level 2 from level 1, level 3 from level 2.
//
// Compaction only ever writes: it never deletes its inputs (retention does, see
// retention.h), and every file it writes restores exactly on its own, so a crash
// before, during or after any write leaves a replica that restores exactly.
// Not thread-safe: one thread at a time per client, like the client itself.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

struct CompactionOptions {
  // intervals[n]: how often level n is built from level n-1 (n = 1..3). Zero
  // disables level n, and with it every level above (they draw from level n).
  // intervals[0] is unused.
  std::array<absl::Duration, kMaxCompactionLevel + 1> intervals = {
      absl::ZeroDuration(), absl::Seconds(30), absl::Minutes(5), absl::Hours(1)};
  // Memory bound of one merge: the newest version of each distinct page is kept
  // in memory up to this many bytes; beyond it, pages and the output file are
  // staged in `scratch_dir` (unlinked or removed when the merge ends). Besides
  // this, a merge holds ~16 bytes of index per distinct page.
  uint64_t memory_limit = 16ull << 20;
  std::string scratch_dir;  // empty: $TMPDIR, else /tmp
  // The scheduler's owner is the replica's only writer and reports each level-0
  // file it writes (CompactionScheduler::NoteLevel0Written): a due level whose
  // input level got no file since the level last ran is skipped without listing
  // anything, so an idle database costs no replica requests. The first RunDue
  // still runs every level (files from before this process).
  bool only_after_writes = false;
};

struct CompactionResult {
  std::vector<TxFileInfo> inputs;   // files of level-1 that were merged
  std::vector<TxFileInfo> written;  // the new files at level (one per contiguous run)
  uint64_t pages = 0;               // pages in the written files
  bool spilled = false;             // some merge staged its pages on disk
};

// Merges the files of `level`-1 in `lineage` that no file at `level` or above
// covers yet (those starting after the highest max_txid at levels level..3) into
// new files at `level`, one per contiguous TXID run: files split at a TXID gap
// (e.g. where a replica that fell behind got a snapshot) and never merge across.
//
// A merged file holds the newest version of every page of its inputs, applied in
// TXID order; pages beyond a later input's commit (a shrink) are dropped. Header:
// min_txid, pre_checksum from the first input; max_txid, commit, post_checksum,
// resume token and timestamp from the last input (never the current time:
// restore by time reads file timestamps).
//
// Verification: each input's end-to-end checksum is verified while it streams,
// its header must match its name, page sizes must agree, and each input's
// pre_checksum must equal the previous input's post_checksum. A mismatch is
// DataLoss naming both files, and that run is not written (earlier runs are).
// Nothing to merge is OK with an empty result. `out` (may be null) is filled
// with what was done, also on error.
absl::Status Compact(ReplicaClient& client, Lineage lineage, int level,
                     const CompactionOptions& options, CompactionResult* out);

// Runs each level when its interval comes due, on the clock's boundaries (level
// 2 with 5m runs once in each 5-minute slot of the epoch); all due levels at the
// first call. One scheduler per replica client; `now` comes from the caller's
// Clock, so tests drive it with a FakeClock.
class CompactionScheduler {
 public:
  explicit CompactionScheduler(CompactionOptions options = {});

  // Compacts every level of `lineage` that is due at `now`, lowest first (so a
  // level sees the files just written below it). A level that fails is retried
  // at its next interval; the other due levels still run. Returns the first
  // error, annotated with its level; `out` (may be null) accumulates results.
  absl::Status RunDue(ReplicaClient& client, Lineage lineage, absl::Time now,
                      CompactionResult* out);
  // Whether RunDue at `now` would compact anything (send any request): a due
  // level that, with only_after_writes, got new inputs.
  bool WorkDue(absl::Time now) const;
  // The earliest time a level comes due (InfiniteFuture when all are disabled).
  absl::Time NextDue(absl::Time now) const;
  // With only_after_writes: a level-0 file was written, so level 1 has work.
  void NoteLevel0Written() { inputs_changed_[1] = true; }

 private:
  bool Enabled(int level) const;
  bool Due(int level, absl::Time now) const;

  CompactionOptions options_;
  std::array<absl::Time, kMaxCompactionLevel + 1> last_run_;
  // inputs_changed_[n]: level n-1 got files level n has not merged yet.
  std::array<bool, kMaxCompactionLevel + 2> inputs_changed_;
};

}  // namespace litesync
