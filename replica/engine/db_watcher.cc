#include "replica/engine/db_watcher.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include <sqlite3.h>

#include "replica/engine/db_watcher_internal.h"
#include "replica/format/page_checksum.h"
#include "replica/storage/replica_head.h"

namespace litesync {

using namespace watcher_internal;  // NOLINT: this module's own constants

namespace {

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// The next step at most `interval` after `now`, rounded down to a grid of a
// tenth of the interval (100 ms at most): databases that come due in the same
// slot run back to back in one worker wake-up, not one wake-up each, and no
// database waits longer than its sync-interval.
absl::Time NextStep(absl::Time now, absl::Duration interval) {
  absl::Duration grid = std::min(interval / 10, absl::Milliseconds(100));
  if (grid <= absl::ZeroDuration()) return now + interval;
  return absl::UnixEpoch() + absl::Floor(now + interval - absl::UnixEpoch(), grid);
}

}  // namespace

DbWatcher::DbWatcher(DbOptions options, SyncRegistry* registry, Clock* clock,
                     const ReplicaClientFactory& new_client)
    : options_(std::move(options)),
      clock_(clock),
      recorder_(registry, options_.path),
      force_snapshot_(options_.force_snapshot) {
  for (const ReplicaOptions& ro : options_.replicas) {
    shippers_.push_back(std::make_unique<ReplicaShipper>(options_, shippers_.size(), ro, new_client,
                                                         &recorder_, clock_));
  }
}

DbWatcher::~DbWatcher() { CloseReader(); }

void DbWatcher::CloseReader() {
  reader_.reset();
  positioned_ = false;
}

std::string DbWatcher::StagingPath(uint64_t txid) const {
  return fmt::format("{}-litesync-{:016x}.staging", options_.path, txid);
}

void DbWatcher::RecordError(const absl::Status& s) { recorder_.DatabaseFailed(s, clock_->Now()); }

void DbWatcher::Upload(absl::Time now, bool force, bool maintain) {
  DbPosition pos{positioned_, lineage_, txid_, checksum_, wal_size_};
  for (auto& shipper : shippers_) {
    if (resync_) return;  // a lease changed hands: nothing is written before Recover
    auto build = [&] { return SnapshotBaseFor(*shipper); };
    if (shipper->Ship(pos, now, force, maintain, build) == ReplicaShipper::Outcome::kResync) {
      std::string why = shipper->TakeChainBroken();
      if (!why.empty()) new_lineage_reason_ = why;  // Recover starts a new lineage
      resync_ = true;
      return;
    }
  }
}

absl::Status DbWatcher::EnsureOpen() {
  for (auto& shipper : shippers_) {
    if (!shipper->client()) return Annotate(shipper->last_status(), "replica");
  }
  if (reader_) {
    absl::Status same = reader_->CheckFiles();
    if (same.ok()) return absl::OkStatus();
    if (!absl::IsFailedPrecondition(same)) {  // the database is gone, or cannot be stat'ed
      CloseReader();
      return same;
    }
    // Never checkpoint the old WAL into whatever is at the path now: let go of
    // every file, reopen, and let Recover verify the database (a new lineage
    // unless it is still the replicated one).
    LogWarn("database file replaced; reopening",
            {{"db", options_.path}, {"reason", std::string(same.message())}});
    CloseReader();
  }
  LS_ASSIGN_OR_RETURN(reader_, DbReader::Open(options_.path, options_.busy_timeout));
  last_restart_ = clock_->Now();
  wal_size_stale_ = true;
  absl::Status s = Recover();
  if (!s.ok()) CloseReader();
  return s;
}

// A fresh snapshot every snapshot-interval (default: the retention period), so
// retention can drop old history and a restore of the latest state stays short.
bool DbWatcher::MaybeScheduleSnapshot(absl::Time now) {
  if (!positioned_) return false;
  if (last_snapshot_ == absl::InfinitePast()) {
    last_snapshot_ = now;
    snapshot_txid_ = txid_;
  }
  absl::Duration every = absl::InfiniteDuration();
  for (auto& shipper : shippers_) every = std::min(every, shipper->SnapshotEvery());
  if (now - last_snapshot_ < every) return false;
  // Nothing committed since the last snapshot (or since start-up): the replica
  // restores the same state from it; nothing is built or uploaded.
  if (txid_ == snapshot_txid_) return false;
  bool any = false;
  for (auto& shipper : shippers_) any |= shipper->OweSnapshotIfCaughtUp();
  if (any) {
    last_snapshot_ = now;
    snapshot_txid_ = txid_;
  }
  return any;
}

absl::Time DbWatcher::Step(bool sync_now) {
  absl::Time now = clock_->Now();
  absl::Duration interval = absl::Seconds(1);
  if (!shippers_.empty()) {
    interval = shippers_[0]->options().sync_interval;
    for (auto& r : shippers_) interval = std::min(interval, r->options().sync_interval);
  }
  if (!reader_ && now < retry_open_at_) return retry_open_at_;
  if (hot_ && reader_ && now < sync_due_ && !sync_now) {
    std::optional<uint32_t> past = reader_->FramesPastBase();
    if (past && *past < options_.min_checkpoint_pages) {
      absl::Time next = std::min(sync_due_, now + hot_poll_);
      KeepCheckpointLock(now, next);
      return next;
    }
  }
  absl::Status s = EnsureOpen();
  if (s.ok()) s = Capture();
  if (!s.ok()) {
    RecordError(s);
    open_log_.Failed(s, now, {{"db", options_.path}});
    CloseReader();
    // A database not created yet is looked for every interval; any other failure
    // (a replica that cannot be read) backs off.
    absl::Duration wait = std::max(interval, absl::Seconds(1));
    if (!absl::IsNotFound(s)) {
      int failures = static_cast<int>(std::min<uint64_t>(open_log_.attempts(), 16));
      wait = std::max(wait, Backoff(failures, interval));
    }
    retry_open_at_ = now + wait;
    return retry_open_at_;
  }
  open_log_.Succeeded(now, {{"db", options_.path}});
  if (wal_size_stale_) {  // only after a capture or a checkpoint: a quiet step stats nothing
    wal_size_ = FileSize(reader_->wal_path());
    wal_size_stale_ = false;
  }
  Upload(now, /*force=*/sync_now);
  if (resync_) {  // reopen: Recover verifies the database against the replica again
    resync_ = false;
    CloseReader();
    return now;
  }
  if (MaybeScheduleSnapshot(now)) Upload(now, /*force=*/true);
  s = MaybeCheckpoint(now);
  if (absl::IsDataLoss(s)) {
    LogWarn("continuity broken; starting a new lineage", {{"db", options_.path}, {"err", s}});
    reader_->ReleaseNext();
    s = StartLineage(std::string(s.message()));
    if (s.ok()) Upload(now, /*force=*/true);
  }
  NoteCheckpoint(s, now);
  // A database that committed kHotFactor x min_checkpoint_pages frames or more
  // in its last sync interval is hot: for the next interval it syncs early,
  // each time min_checkpoint_pages frames are past the base pin (polled from the
  // wal-index header, no syscall, about four times per that many frames at the
  // last interval's rate). Short captures keep the catch-up before each restart
  // short; and whenever litesync does not hold the checkpointer lock, the
  // application's autocheckpoint after each move of the pin has less to sort
  // and backfill (docs/FORMAT.md, "Hot databases").
  if (now >= sync_due_) {
    uint64_t frames = frames_captured_ - captured_at_due_;
    auto min_pages = static_cast<uint64_t>(options_.min_checkpoint_pages);
    hot_ = frames >= kHotFactor * min_pages;
    if (hot_) {
      hot_poll_ = std::max(kHotPoll, interval * (static_cast<double>(min_pages) / frames / 4));
    }
    captured_at_due_ = frames_captured_;
    sync_due_ = NextStep(now, interval);
  }
  absl::Time next = hot_ ? std::min(sync_due_, now + hot_poll_) : sync_due_;
  for (auto& shipper : shippers_) {  // a lease being confirmed: write as soon as it is
    if (shipper->lease_confirming()) next = std::min(next, shipper->lease_confirm_at());
  }
  KeepCheckpointLock(now, next);
  return next;
}

absl::Status DbWatcher::FinalSync(absl::Time deadline) {
  absl::Status s = EnsureOpen();
  if (s.ok()) s = Capture(/*force=*/true);
  if (!s.ok()) {
    RecordError(s);
    return Annotate(s, fmt::format("final sync of {}", options_.path));
  }
  wal_size_ = FileSize(reader_->wal_path());
  // Every replica is tried at once; one that fails is tried again when its
  // backoff ends (not before: its failures are logged once per step), and a last
  // time at `deadline`.
  while (true) {
    absl::Time now = clock_->Now();
    Upload(now, /*force=*/true);
    if (resync_) {  // the lease was just taken over: re-read the replica, then ship
      resync_ = false;
      CloseReader();
      s = EnsureOpen();
      if (s.ok()) s = Capture(/*force=*/true);
      if (!s.ok()) {
        RecordError(s);
        return Annotate(s, fmt::format("final sync of {}", options_.path));
      }
      continue;
    }
    bool done = true;
    absl::Status last;
    absl::Time retry = absl::InfiniteFuture();
    for (auto& shipper : shippers_) {
      if (!shipper->caught_up()) {
        done = false;
        last = shipper->last_status().ok()
                   ? absl::UnavailableError(
                         fmt::format("replica {} still has unsent tx files", shipper->name()))
                   : shipper->last_status();
        retry = std::min(retry, shipper->retry_at());
      }
    }
    if (done && force_snapshot_) {  // replicate -once -force-snapshot: now a full snapshot too
      force_snapshot_ = false;
      for (auto& shipper : shippers_) shipper->OweSnapshot(true);
      continue;
    }
    if (done) {
      for (auto& shipper : shippers_) shipper->ReleaseLease(clock_->Now());
      return absl::OkStatus();
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return Annotate(last, fmt::format("final sync of {}", options_.path));
    }
    absl::SleepFor(std::min(std::max(retry - now, absl::Milliseconds(200)), left));
  }
}

}  // namespace litesync
