// Private to DbWatcher's implementation files (db_watcher*.cc): the capture
// side's constants.
#pragma once

#include <cstdint>

#include "absl/time/time.h"

#include "replica/engine/replica_shipper.h"

namespace litesync {

namespace watcher_internal {

inline constexpr uint64_t kStageToDiskBytes = 16ull << 20;  // larger increments are staged on disk
using shipper_internal::Backoff;
using shipper_internal::kMaxQueuedBytes;
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
