#include "replica/engine/replica_shipper.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/maintenance/retention.h"
#include "replica/maintenance/validator.h"

namespace litesync {

using namespace shipper_internal;  // NOLINT: this module's own constants

absl::Duration shipper_internal::Backoff(int failures, absl::Duration base) {
  absl::Duration d = base * (1 << std::min(failures, 6));
  d = std::min(d, kMaxBackoff);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double jitter = 0.5 + std::uniform_real_distribution<double>(0, 0.5)(rng);
  return d * jitter;
}

absl::Duration shipper_internal::ReachEvery(absl::Duration health_interval,
                                            absl::Duration sync_interval) {
  absl::Duration floor = std::max(kPingEvery, sync_interval);
  if (health_interval <= absl::ZeroDuration()) return floor;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double share = std::uniform_real_distribution<double>(0.5, 0.6)(rng);
  return std::max(floor, health_interval * share);
}

namespace {

std::unique_ptr<CompactionScheduler> NewCompaction(const std::string& scratch_dir,
                                                   const ReplicaOptions& ro, bool enabled) {
  CompactionOptions co;
  co.scratch_dir = scratch_dir;
  for (size_t n = 1; n < co.intervals.size(); ++n) co.intervals[n] = ro.compaction_intervals[n - 1];
  if (!enabled) co.intervals.fill(absl::ZeroDuration());  // nothing to read back
  co.only_after_writes = true;  // Ship reports every level-0 file it writes
  return std::make_unique<CompactionScheduler>(co);
}

}  // namespace

ReplicaShipper::ReplicaShipper(const DbOptions& db, size_t index, const ReplicaOptions& options,
                               const ReplicaClientFactory& new_client, SyncRecorder* recorder,
                               Clock* clock)
    : db_(db.path),
      scratch_dir_(std::filesystem::path(db.path).parent_path().string()),
      health_interval_(db.health_interval),
      index_(index),
      options_(options),
      name_(options.Describe()),
      recorder_(recorder),
      clock_(clock),
      liveness_(options.liveness_interval, LivenessHostName()) {
  bool readable = true;
  auto client = new_client(options_);
  if (client.ok()) {
    client_ = std::move(*client);
    name_ = client_->Describe();
    readable = client_->can_read();
    if (!readable) {
      // age recipients only: this host cannot read its own replica.
      LogInfo(
          "replica is write-only (age recipients, no identity): compaction and "
          "validation are off, and each start begins a new lineage with a snapshot",
          {{"db", db_}, {"replica", name_}});
      options_.validation_interval = absl::ZeroDuration();
    }
  } else {
    last_status_ = client.status();
  }
  compaction_ = NewCompaction(scratch_dir_, options_, readable);
  recorder_->AddReplica(name_);
}

void ReplicaShipper::Enqueue(const std::shared_ptr<PendingTxFile>& p) {
  if (needs_snapshot_) return;
  if (queued_bytes_ + p->info.size > kMaxQueuedBytes && !p->snapshot) {
    LogWarn("replica too far behind; it will get a snapshot",
            {{"db", db_}, {"replica", name_}, {"queued_bytes", queued_bytes_}});
    DropQueue();
    needs_snapshot_ = true;
    return;
  }
  queue_.push_back(p);
  queued_bytes_ += p->info.size;
}

void ReplicaShipper::DropQueue() {
  queue_.clear();
  queued_bytes_ = 0;
  liveness_.Forget();  // the position is abandoned: nothing is claimed until known again
}

bool ReplicaShipper::MaybeWriteLiveness(absl::Time now) {
  if (!liveness_.enabled() || now < liveness_.due()) return false;
  absl::Status s = liveness_.MaybeWrite(*client_, now);
  if (!s.ok()) {  // a failed sync shows on the next upload; this one only logs
    liveness_log_.Failed(s, now, {{"db", db_}, {"replica", name_}});
    return false;
  }
  liveness_log_.Succeeded(now, {{"db", db_}, {"replica", name_}});
  return true;
}

absl::Duration ReplicaShipper::SnapshotEvery() const {
  if (!options_.maintenance) return absl::InfiniteDuration();
  return options_.snapshot_interval > absl::ZeroDuration() ? options_.snapshot_interval
                                                           : options_.retention;
}

bool ReplicaShipper::OweSnapshotIfCaughtUp() {
  // Only a caught-up replica: its snapshot is built from the base pin.
  if (!queue_.empty() || !options_.maintenance || !last_status_.ok()) return false;
  needs_snapshot_ = true;
  return true;
}

std::string ReplicaShipper::TakeChainBroken() { return std::exchange(chain_broken_, ""); }

void ReplicaShipper::ReleaseLease(absl::Time now) {
  absl::Status released = lease_.Release(*client_, now);
  if (!released.ok()) LogWarn("lease not released", {{"replica", name_}, {"err", released}});
}

// The replica's lease before writing it. Aborted when this instance just took it
// over from another one, which may have written meanwhile: *resync is set, and
// nothing is written until the capture side has re-read the replica.
absl::Status ReplicaShipper::EnsureLease(absl::Time now, bool* resync) {
  absl::Status s = Annotate(lease_.Ensure(*client_, now), fmt::format("replicate {}", db_));
  if (absl::IsAborted(s)) {
    LogInfo(lease_.lost() ? "replica lease regained" : "replica lease taken over",
            {{"db", db_}, {"replica", name_}});
    if (lease_.lost()) {
      ChainBroken(absl::AbortedError(
          fmt::format("{}: another litesync held this replica's lease meanwhile and may "
                      "have written it",
                      name_)));
    }
    *resync = true;
  }
  return s;
}

// The replica's chain may hold files this instance did not write (another
// writer took the lease, a file name it writes was taken, tx files overlap):
// its latest point may not restore. The replica is unhealthy, saying why, until
// a new lineage (a full snapshot) is in it: the capture side starts one
// (TakeChainBroken) when it re-reads the replica.
void ReplicaShipper::ChainBroken(const absl::Status& why) {
  liveness_.Forget();
  absl::Status s = Annotate(why, fmt::format("replicate {}: the replica's chain is broken; "
                                             "starting a new lineage",
                                             db_));
  LogError("replica chain broken", {{"db", db_}, {"replica", name_}, {"err", s}});
  chain_broken_ = std::string(why.message());
  last_status_ = s;
  recorder_->ReplicaFailed(name_, s, clock_->Now());
}

void ReplicaShipper::Failed(const absl::Status& s, absl::Time now, RepeatedErrorLog* log) {
  last_status_ = s;
  failures_++;
  retry_at_ = now + Backoff(failures_, options_.sync_interval);
  log->Failed(s, now, {{"db", db_}, {"replica", name_}});
}

ReplicaShipper::Outcome ReplicaShipper::Ship(const DbPosition& pos, absl::Time now, bool force,
                                             bool maintain, const SnapshotBuilder& build) {
  if (!force && now < retry_at_) return Outcome::kShipped;
  // Nothing is written without the lease (one writer per replica); an idle
  // replica neither needs nor renews it.
  absl::Status s = absl::OkStatus();
  if (!queue_.empty() || needs_snapshot_) {
    bool resync = false;
    s = EnsureLease(now, &resync);
    if (resync) return Outcome::kResync;
    if (lease_.confirming()) {  // nothing is written before it is confirmed
      retry_at_ = lease_.confirm_at();
      return Outcome::kShipped;
    }
  }
  if (s.ok() && needs_snapshot_ && pos.positioned) {
    absl::StatusOr<std::shared_ptr<PendingTxFile>> snap = build();
    if (!snap.ok()) {  // built here, from the database: retried with backoff too
      Failed(snap.status(), now, &snapshot_log_);
      return Outcome::kShipped;
    }
    snapshot_log_.Succeeded(now, {{"db", db_}, {"replica", name_}});
    queue_.clear();
    queue_.push_back(*snap);
    queued_bytes_ = (*snap)->info.size;
    needs_snapshot_ = false;
  }
  ShipReport report;
  bool wrote = false;
  while (s.ok() && !queue_.empty()) {
    const std::shared_ptr<PendingTxFile>& p = queue_.front();
    s = client_->Write(p->info, *p->bytes);
    if (absl::IsAlreadyExists(s)) {  // a tx file name of ours was taken by another writer
      ChainBroken(s);
      return Outcome::kResync;
    }
    if (!s.ok()) {
      s = Annotate(s, fmt::format("replicate {}: upload tx file {}", db_, p->info.Name()));
      break;
    }
    wrote = true;
    if (!p->new_lineage.empty()) {
      LogInfo("new lineage", {{"db", db_},
                              {"replica", name_},
                              {"lineage", LineageName(p->info.lineage)},
                              {"reason", p->new_lineage},
                              {"pages", p->pages}});
    }
    if (p->info.level == 0) compaction_->NoteLevel0Written();
    liveness_.NoteFile(p->info);
    report.bytes_written += p->info.size;
    report.snapshots += p->snapshot ? 1 : 0;
    report.acked_txid = p->info.max_txid;
    queued_bytes_ -= p->info.size;
    queue_.pop_front();
  }
  // Nothing to write: one cheap request proves the replica is still there, as
  // often as the health rule needs (ReachEvery), never a LIST or a PUT.
  if (s.ok() && !wrote && now >= reach_due_) {
    s = Annotate(client_->Ping(), fmt::format("replicate {}: reach replica {}", db_, name_));
    wrote = s.ok();
  }
  // Caught up: the liveness record says so, at most once per liveness-interval
  // (its PUT also proves the replica reachable, like the idle GET).
  if (s.ok() && queue_.empty() && !needs_snapshot_ && MaybeWriteLiveness(now)) wrote = true;
  if (report.bytes_written > 0) {
    retention_work_ = true;
    last_written_ = now;
  }
  if (wrote) reach_due_ = now + ReachEvery(health_interval_, options_.sync_interval);
  last_status_ = s;
  if (!s.ok()) {
    Failed(s, now, &sync_log_);
  } else {
    failures_ = 0;
    retry_at_ = absl::InfinitePast();
    if (wrote) sync_log_.Succeeded(now, {{"db", db_}, {"replica", name_}});
  }
  report.status = s;
  report.now = now;
  report.requests = client_->requests();
  report.wal_size = pos.wal_size;
  report.pending_bytes = queued_bytes_;
  report.lineage = pos.lineage;
  report.local_txid = pos.txid;
  report.reached = wrote;
  report.caught_up = queue_.empty() && !needs_snapshot_;
  recorder_->Shipped(name_, report);
  if (maintain && s.ok() && report.caught_up && options_.maintenance && !Maintain(pos, now)) {
    return Outcome::kResync;
  }
  return Outcome::kShipped;
}

// Compaction and retention for a replica that is caught up. Their failures are
// logged and retried on schedule; they never fail a sync (the files they write
// come first and they delete last, so an interruption restores exactly).
bool ReplicaShipper::Maintain(const DbPosition& pos, absl::Time now) {
  // Nothing new written: nothing to compact or delete, and no request at all
  // (not even the lease's).
  bool retain = now >= next_retention_ && (retention_work_ || now >= retention_again_);
  if (compaction_->WorkDue(now) || retain) {
    bool resync = false;
    absl::Status s = EnsureLease(now, &resync);  // they write and delete
    if (resync) return false;
    if (!s.ok()) {
      if (!lease_.confirming()) {
        LogWarn("maintenance skipped", {{"db", db_}, {"replica", name_}, {"err", s}});
      }
      return true;
    }
  }
  CompactionResult compacted;
  absl::Status s = compaction_->RunDue(*client_, pos.lineage, now, &compacted);
  if (absl::IsDataLoss(s)) {  // overlapping files: not all of them are ours
    ChainBroken(s);
    return false;
  }
  if (!s.ok()) {
    LogWarn("compaction failed", {{"db", db_}, {"replica", name_}, {"err", s}});
  } else if (!compacted.written.empty()) {
    retention_work_ = true;
    LogDebug("compacted", {{"db", db_},
                           {"replica", name_},
                           {"inputs", compacted.inputs.size()},
                           {"written", compacted.written.size()}});
  }
  MaybeValidate(pos, now);
  if (!retain) return true;
  next_retention_ = now + kRetentionEvery;
  // The last pass after writes stopped: when the window has passed the last file.
  retention_again_ = retention_work_ && last_written_ != absl::InfinitePast()
                         ? last_written_ + options_.retention + kRetentionEvery
                         : absl::InfiniteFuture();
  retention_work_ = false;
  RetentionResult retained;
  s = EnforceRetention(*client_, now, options_.retention, &retained);
  if (!s.ok()) {
    LogWarn("retention failed", {{"db", db_}, {"replica", name_}, {"err", s}});
  } else if (!retained.deleted.empty()) {
    LogInfo("retention removed files",
            {{"db", db_}, {"replica", name_}, {"files", retained.deleted.size()}});
  }
  return true;
}

// Background verification (validation-interval): restore the replica's latest
// state aside, integrity_check it, and compare its checksum with the database's
// at the same TXID (the replica is caught up, so its head is pos.txid). Only a
// mismatch (DataLoss) marks the database unhealthy; other errors are retried.
void ReplicaShipper::MaybeValidate(const DbPosition& pos, absl::Time now) {
  if (options_.validation_interval <= absl::ZeroDuration() || !queue_.empty() ||
      now < next_validation_) {
    return;
  }
  next_validation_ = now + options_.validation_interval;
  ValidationResult v;
  // From the storage itself: never from the writer cache's local copies.
  absl::Status s = ValidateReplica(client_->Storage(), scratch_dir_, pos.txid, pos.checksum, &v);
  if (s.ok()) {
    LogInfo("replica validated", {{"db", db_}, {"replica", name_}, {"txid", TxidString(pos.txid)}});
  } else {
    LogError("replica validation failed", {{"db", db_}, {"replica", name_}, {"err", s}});
  }
  recorder_->Validated(name_, s, now);
}

}  // namespace litesync
