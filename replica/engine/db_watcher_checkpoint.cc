// DbWatcher, checkpoints: litesync as the database's only checkpointer, its
// PASSIVE checkpoints and the RESTART/TRUNCATE that bound the WAL
// (docs/FORMAT.md, "The only checkpointer" and "Checkpoints").
#include <optional>

#include "base/log.h"
#include "base/status.h"
#include <sqlite3.h>

#include "replica/engine/db_watcher.h"
#include "replica/engine/db_watcher_internal.h"
#include "replica/sqlite/wal_reader.h"

namespace litesync {

using namespace watcher_internal;  // NOLINT: this module's own constants

// RESTART and TRUNCATE take the writer lock first, so the WAL cannot grow while
// they run. Each time SQLite waits for our pin, capture up to the frozen end,
// upload it, and re-pin: once everything is backfilled the new pin reads the
// database file (frame 0) and the WAL restarts exactly at a position we hold.
// The checkpoint only ever moves past what every replica acknowledged, so after
// a kill -9 the replica's last position is still in the WAL or is the database
// file itself (a restart resumes instead of taking a snapshot). When an upload
// fails we give up: SQLite then backfills no further than the pin it was
// waiting for. The application waits for its writer lock meanwhile (its
// busy_timeout), as with any checkpoint: for one capture and one upload of the
// newest writes.
absl::Status DbWatcher::RestartWal(int mode, int* log, int* done) {
  absl::Status captured;
  absl::Time deadline = absl::Now() + options_.busy_timeout;
  std::optional<WalIndexHeader> seen;
  int pinned = 0;
  auto on_busy = [&](int) {
    if (!captured.ok() || absl::Now() > deadline) return false;
    // While the wal-index header still moves, the application holds the writer
    // lock between its commits: retry soon and cheaply, to take the lock in the
    // short gap between two of its transactions (a capture now would be stale).
    if (auto h = reader_->LiveWalIndexHeader()) {
      bool moving = !seen || *seen != *h;
      seen = h;
      if (moving) {
        absl::SleepFor(absl::Microseconds(20));
        return true;
      }
    }
    if (++pinned > 2) absl::SleepFor(absl::Milliseconds(1));  // an application reader
    auto pin = reader_->PinNext();
    if (!pin.ok()) {
      captured = pin.status();
      return false;
    }
    captured = CaptureIncrement(*pin);
    if (!captured.ok()) return false;
    Upload(clock_->Now(), /*force=*/true, /*maintain=*/false);
    return CaughtUp();
  };
  restarting_ = true;
  absl::Status s = reader_->Checkpoint(mode, log, done, on_busy);
  restarting_ = false;
  LS_RETURN_IF_ERROR(captured);
  return s;
}

absl::Status DbWatcher::MaybeCheckpoint(absl::Time now) {
  if (!CaughtUp()) return absl::OkStatus();
  const WalPin& base = reader_->base();
  int64_t frames = base.has_wal ? base.cursor.frames : 0;
  // A RESTART leaves the WAL as it was, every frame backfilled: the
  // application's next write starts it over. Until then there is nothing to
  // checkpoint, only the file's space to return.
  if (restarted_ && base.has_wal && base.salt1 == restarted_->salt1 &&
      base.salt2 == restarted_->salt2 && base.cursor.frames == restarted_->cursor.frames) {
    frames = 0;
  }
  bool big = frames >= options_.min_checkpoint_pages;
  bool due = now - last_restart_ >= options_.checkpoint_interval;
  // An empty WAL in a file that a burst left large: its space is returned once
  // a checkpoint is due (a TRUNCATE).
  if (frames == 0 && wal_size_ <= static_cast<int64_t>(kWalHeaderSize)) return absl::OkStatus();
  if (!big && !due) return absl::OkStatus();
  // Only RESTART and TRUNCATE restart the WAL under our pin, and they hold the
  // application's writer lock while they run: at most once per kRestartEvery,
  // unless the WAL passed truncate_pages. RESTART leaves the file's size alone,
  // so the application overwrites pages already cached instead of growing the
  // file again; TRUNCATE returns the space of a quiet WAL (a checkpoint due by
  // time, not size), and of one past truncate_pages once the database is no
  // longer hot (while it is, a TRUNCATE under the writer lock frees what the
  // application at once allocates again).
  bool huge = frames >= options_.truncate_pages;
  if (!due && !huge && now - last_restart_ < kRestartEvery) return absl::OkStatus();
  last_restart_ = now;
  wal_size_stale_ = true;
  // First catch up, and a PASSIVE checkpoint: it backfills, and fsyncs the
  // database file, without the writer lock, and never past our base pin (which
  // every replica acknowledged); the restart then has little left to capture
  // and backfill under that lock.
  int log = 0, done = 0;
  LS_ASSIGN_OR_RETURN(bool ready, CatchUp());
  if (!ready) return absl::OkStatus();
  absl::Status s = reader_->Checkpoint(SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (!s.ok() && !absl::IsUnavailable(s)) return s;
  checkpointed_ = s.ok();
  LS_ASSIGN_OR_RETURN(ready, CatchUp());
  if (!ready) return absl::OkStatus();
  int mode = (huge && !hot_) || !big ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART;
  absl::Time start = absl::Now();
  restarted_.reset();
  s = RestartWal(mode, &log, &done);
  if (s.ok() && mode == SQLITE_CHECKPOINT_RESTART && log == done &&
      reader_->base().cursor.frames == static_cast<uint64_t>(log)) {
    restarted_ = reader_->base();
  }
  LogDebug("checkpoint", {{"db", options_.path},
                          {"mode", mode == SQLITE_CHECKPOINT_RESTART ? "restart" : "truncate"},
                          {"took_ms", absl::ToInt64Milliseconds(absl::Now() - start)},
                          {"wal_frames", log},
                          {"backfilled", done},
                          {"result", s.ok() ? "ok" : "busy"}});
  if (!s.ok() && !absl::IsUnavailable(s)) return s;
  return absl::OkStatus();
}

void DbWatcher::NoteCheckpoint(const absl::Status& s, absl::Time now) {
  bool checkpointed = checkpointed_;
  checkpointed_ = false;
  if (s.ok()) {
    // Only a checkpoint that wrote the database shows that the failure is over.
    if (!checkpointed || checkpoint_log_.attempts() == 0) return;
    checkpoint_log_.Succeeded(now, {{"db", options_.path}});
  } else {
    checkpoint_log_.Failed(s, now, {{"db", options_.path}});
  }
  recorder_.Checkpointed(s, now);
}

// What a RESTART waits for is captured and uploaded under the application's
// writer lock (RestartWal): first capture and upload, while the application
// still writes, until fewer than min_checkpoint_pages frames are past the base
// pin (each round is shorter than the one before). False when a replica fell
// behind meanwhile: no checkpoint then.
absl::StatusOr<bool> DbWatcher::CatchUp() {
  for (int round = 0; round < kCatchUpRounds; ++round) {
    std::optional<uint32_t> past = reader_->FramesPastBase();
    if (!past || *past < options_.min_checkpoint_pages) break;
    LS_RETURN_IF_ERROR(Capture(/*force=*/true));
    Upload(clock_->Now(), /*force=*/true, /*maintain=*/false);
    if (!CaughtUp()) return false;
  }
  return true;
}

bool DbWatcher::CaughtUp() const {
  for (const auto& shipper : shippers_) {
    if (!shipper->caught_up()) return false;
  }
  return true;
}

// litesync is the database's only checkpointer while it keeps up: it holds
// SQLite's checkpointer lock between its own checkpoints, so the application's
// autocheckpoint neither sorts nor backfills inside its commits (docs/FORMAT.md,
// "Checkpoints"). Only while every replica is healthy (otherwise MaybeCheckpoint
// waits, and the application backfills up to our pin as it would without the
// lock), and only while the next step, which re-checks the wal-index header, is
// near: a torn header (a writer killed while writing it) needs the lock for
// SQLite's recovery in every process.
void DbWatcher::KeepCheckpointLock(absl::Time now, absl::Time next_step) {
  if (!reader_) return;
  bool hold = positioned_ && next_step - now <= kCheckpointLockRecheck;
  for (const auto& shipper : shippers_) {
    if (!shipper->healthy()) hold = false;
  }
  bool held = reader_->holds_checkpoint_lock();
  reader_->HoldCheckpointLock(hold);
  if (held != reader_->holds_checkpoint_lock()) {
    LogDebug(held ? "checkpointer lock released" : "checkpointer lock held",
             {{"db", options_.path}});
  }
}

}  // namespace litesync
