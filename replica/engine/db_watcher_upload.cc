// DbWatcher, shipping: uploads with backoff, sync records, compaction and retention.
#include <algorithm>
#include <filesystem>
#include <random>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/engine/db_watcher.h"
#include "replica/engine/db_watcher_internal.h"
#include "replica/maintenance/compactor.h"
#include "replica/maintenance/retention.h"
#include "replica/maintenance/validator.h"

namespace litesync {

using namespace watcher_internal;  // NOLINT: this module's own constants

absl::Duration watcher_internal::Backoff(int failures, absl::Duration base) {
  absl::Duration d = base * (1 << std::min(failures, 6));
  d = std::min(d, kMaxBackoff);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double jitter = 0.5 + std::uniform_real_distribution<double>(0, 0.5)(rng);
  return d * jitter;
}

absl::Duration watcher_internal::ReachEvery(absl::Duration health_interval,
                                            absl::Duration sync_interval) {
  absl::Duration floor = std::max(kPingEvery, sync_interval);
  if (health_interval <= absl::ZeroDuration()) return floor;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double share = std::uniform_real_distribution<double>(0.5, 0.6)(rng);
  return std::max(floor, health_interval * share);
}

// The replica's lease before writing it. Aborted when this instance just took it
// over from another one, which may have written meanwhile: resync_ is set, and
// nothing is written until Step has reopened and Recover re-read the replica.
absl::Status DbWatcher::EnsureLease(Slot* slot, absl::Time now) {
  absl::Status s =
      Annotate(slot->lease.Ensure(*slot->client, now), fmt::format("replicate {}", options_.path));
  if (absl::IsAborted(s)) {
    LogInfo(slot->lease.lost() ? "replica lease regained" : "replica lease taken over",
            {{"db", options_.path}, {"replica", slot->name}});
    if (slot->lease.lost()) {
      ChainBroken(slot, absl::AbortedError(fmt::format(
                            "{}: another litesync held this replica's lease meanwhile and may "
                            "have written it",
                            slot->name)));
    }
    resync_ = true;
  }
  return s;
}

// The replica's chain may hold files this instance did not write (another
// writer took the lease, a file name it writes was taken, tx files overlap):
// its latest point may not restore. The replica is unhealthy, saying why, until
// a new lineage (a full snapshot) is in it: Recover starts one after resync_.
void DbWatcher::ChainBroken(Slot* slot, const absl::Status& why) {
  absl::Status s = Annotate(why, fmt::format("replicate {}: the replica's chain is broken; "
                                             "starting a new lineage",
                                             options_.path));
  LogError("replica chain broken", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
  new_lineage_reason_ = std::string(why.message());
  slot->last_status = s;
  absl::Time now = clock_->Now();
  registry_->Update(options_.path, slot->name, [&](SyncRecord& r) {
    r.last_error = s;
    r.last_error_time = now;
    r.sync_error_count++;
  });
}

void DbWatcher::Upload(absl::Time now, bool force, bool maintain) {
  for (auto& slot : slots_) {
    if (!force && now < slot->retry_at) continue;
    if (resync_) return;  // a lease changed hands: nothing is written before Recover
    // Nothing is written without the lease (one writer per replica); an idle
    // replica neither needs nor renews it.
    absl::Status s = absl::OkStatus();
    if (!slot->queue.empty() || slot->needs_snapshot) {
      s = EnsureLease(slot.get(), now);
      if (absl::IsAborted(s)) return;
      if (slot->lease.confirming()) {  // nothing is written before it is confirmed
        slot->retry_at = slot->lease.confirm_at();
        continue;
      }
    }
    if (s.ok() && slot->needs_snapshot && positioned_) {
      absl::Status snap = SnapshotBaseFor(slot.get());
      if (!snap.ok()) {  // built here, from the database: retried with backoff too
        slot->last_status = snap;
        slot->failures++;
        slot->retry_at = now + Backoff(slot->failures, slot->options.sync_interval);
        slot->snapshot_log.Failed(snap, now, {{"db", options_.path}, {"replica", slot->name}});
        continue;
      }
      slot->snapshot_log.Succeeded(now, {{"db", options_.path}, {"replica", slot->name}});
    }
    bool wrote = false;
    uint64_t bytes = 0, snapshots = 0, acked = 0;
    while (s.ok() && !slot->queue.empty()) {
      const std::shared_ptr<Pending>& p = slot->queue.front();
      s = slot->client->Write(p->info, *p->bytes);
      if (absl::IsAlreadyExists(s)) {  // a tx file name of ours was taken by another writer
        ChainBroken(slot.get(), s);
        resync_ = true;
        return;
      }
      if (!s.ok()) {
        s = Annotate(s,
                     fmt::format("replicate {}: upload tx file {}", options_.path, p->info.Name()));
        break;
      }
      wrote = true;
      if (!p->new_lineage.empty()) {
        LogInfo("new lineage", {{"db", options_.path},
                                {"replica", slot->name},
                                {"lineage", LineageName(p->info.lineage)},
                                {"reason", p->new_lineage},
                                {"pages", p->pages}});
      }
      if (p->info.level == 0) slot->compaction->NoteLevel0Written();
      bytes += p->info.size;
      snapshots += p->snapshot ? 1 : 0;
      acked = p->info.max_txid;
      slot->queued_bytes -= p->info.size;
      slot->queue.pop_front();
    }
    // Nothing to write: one cheap request proves the replica is still there, as
    // often as the health rule needs (ReachEvery), never a LIST or a PUT.
    if (s.ok() && !wrote && now >= slot->reach_due) {
      s = Annotate(slot->client->Ping(),
                   fmt::format("replicate {}: reach replica {}", options_.path, slot->name));
      wrote = s.ok();
    }
    if (bytes > 0) {
      slot->retention_work = true;
      slot->last_written = now;
    }
    if (wrote) {
      slot->last_reached = now;
      slot->reach_due = now + ReachEvery(options_.health_interval, slot->options.sync_interval);
    }
    slot->last_status = s;
    if (!s.ok()) {
      slot->failures++;
      slot->retry_at = now + Backoff(slot->failures, slot->options.sync_interval);
      slot->sync_log.Failed(s, now, {{"db", options_.path}, {"replica", slot->name}});
    } else {
      slot->failures = 0;
      slot->retry_at = absl::InfinitePast();
      if (wrote) slot->sync_log.Succeeded(now, {{"db", options_.path}, {"replica", slot->name}});
    }
    registry_->Update(options_.path, slot->name, [&](SyncRecord& r) {
      r.database_missing = false;
      r.requests = slot->client->requests();
      r.wal_size = wal_size_;
      r.pending_bytes = slot->queued_bytes;
      r.bytes_written += bytes;
      r.snapshot_count += snapshots;
      if (acked) r.replicated_txid = acked;
      r.lineage = lineage_;
      r.local_txid = txid_;
      if (!s.ok()) {
        r.last_error = s;
        r.last_error_time = now;
        r.sync_error_count++;
        return;
      }
      r.last_error = absl::OkStatus();
      if (wrote && slot->queue.empty() && !slot->needs_snapshot) {
        r.last_success = now;
        r.sync_count++;
      }
    });
    if (maintain && s.ok() && slot->queue.empty() && !slot->needs_snapshot &&
        slot->options.maintenance) {
      Maintain(slot.get(), now);
    }
  }
}

// Compaction and retention for a replica that is caught up. Their failures are
// logged and retried on schedule; they never fail a sync (the files they write
// come first and they delete last, so an interruption restores exactly).
void DbWatcher::Maintain(Slot* slot, absl::Time now) {
  // Nothing new written: nothing to compact or delete, and no request at all
  // (not even the lease's).
  bool retain =
      now >= slot->next_retention && (slot->retention_work || now >= slot->retention_again);
  if (slot->compaction->WorkDue(now) || retain) {
    absl::Status s = EnsureLease(slot, now);  // they write and delete
    if (!s.ok()) {
      if (!absl::IsAborted(s) && !slot->lease.confirming()) {
        LogWarn("maintenance skipped",
                {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
      }
      return;
    }
  }
  CompactionResult compacted;
  absl::Status s = slot->compaction->RunDue(*slot->client, lineage_, now, &compacted);
  if (absl::IsDataLoss(s)) {  // overlapping files: not all of them are ours
    ChainBroken(slot, s);
    resync_ = true;
    return;
  }
  if (!s.ok()) {
    LogWarn("compaction failed", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
  } else if (!compacted.written.empty()) {
    slot->retention_work = true;
    LogDebug("compacted", {{"db", options_.path},
                           {"replica", slot->name},
                           {"inputs", compacted.inputs.size()},
                           {"written", compacted.written.size()}});
  }
  MaybeValidate(slot, now);
  if (!retain) return;
  slot->next_retention = now + kRetentionEvery;
  // The last pass after writes stopped: when the window has passed the last file.
  slot->retention_again = slot->retention_work && slot->last_written != absl::InfinitePast()
                              ? slot->last_written + slot->options.retention + kRetentionEvery
                              : absl::InfiniteFuture();
  slot->retention_work = false;
  RetentionResult retained;
  s = EnforceRetention(*slot->client, now, slot->options.retention, &retained);
  if (!s.ok()) {
    LogWarn("retention failed", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
  } else if (!retained.deleted.empty()) {
    LogInfo("retention removed files",
            {{"db", options_.path}, {"replica", slot->name}, {"files", retained.deleted.size()}});
  }
}

// Background verification (validation-interval): restore the replica's latest
// state aside, integrity_check it, and compare its checksum with the database's
// at the same TXID (the replica is caught up, so its head is txid_). Only a
// mismatch (DataLoss) marks the database unhealthy; other errors are retried.
void DbWatcher::MaybeValidate(Slot* slot, absl::Time now) {
  if (slot->options.validation_interval <= absl::ZeroDuration() || !slot->queue.empty() ||
      now < slot->next_validation) {
    return;
  }
  slot->next_validation = now + slot->options.validation_interval;
  ValidationResult v;
  absl::Status s =
      ValidateReplica(*slot->client, std::filesystem::path(options_.path).parent_path().string(),
                      txid_, checksum_, &v);
  if (s.ok()) {
    LogInfo("replica validated",
            {{"db", options_.path}, {"replica", slot->name}, {"txid", TxidString(txid_)}});
  } else {
    LogError("replica validation failed",
             {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
  }
  bool failed = absl::IsDataLoss(s);
  registry_->Update(options_.path, slot->name, [&](SyncRecord& r) {
    r.validation_failed = failed;
    if (failed) {
      r.last_error = s;
      r.last_error_time = now;
    }
  });
}

}  // namespace litesync
