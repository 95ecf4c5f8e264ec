#include "replica/engine/sync_recorder.h"

#include <utility>

namespace litesync {

SyncRecorder::SyncRecorder(SyncRegistry* registry, std::string db)
    : registry_(registry), db_(std::move(db)) {}

void SyncRecorder::AddReplica(const std::string& replica) {
  registry_->Register(db_, replica);
  replicas_.push_back(replica);
}

void SyncRecorder::DatabaseFailed(const absl::Status& s, absl::Time now) {
  bool missing = absl::IsNotFound(s);
  for (const std::string& replica : replicas_) {
    registry_->Update(db_, replica, [&](SyncRecord& r) {
      r.last_error = s;
      r.last_error_time = now;
      r.sync_error_count++;
      r.database_missing = missing;
    });
  }
}

void SyncRecorder::Captured(uint64_t lineage, uint64_t txid, absl::Time now) {
  for (const std::string& replica : replicas_) {
    registry_->Update(db_, replica, [&](SyncRecord& r) {
      r.local_txid = txid;
      r.lineage = lineage;
      r.last_commit_seen = now;
    });
  }
}

void SyncRecorder::Positioned(const std::string& replica, uint64_t lineage, uint64_t txid,
                              std::optional<uint64_t> replicated) {
  registry_->Update(db_, replica, [&](SyncRecord& r) {
    r.lineage = lineage;
    r.local_txid = txid;
    if (replicated) r.replicated_txid = *replicated;
  });
}

void SyncRecorder::Checkpointed(const absl::Status& s, absl::Time now) {
  for (const std::string& replica : replicas_) {
    registry_->Update(db_, replica, [&](SyncRecord& r) {
      if (s.ok()) {
        r.checkpoint_error = absl::OkStatus();
        r.checkpoint_failing_since = absl::InfinitePast();
        return;
      }
      if (r.checkpoint_error.ok()) r.checkpoint_failing_since = now;
      r.checkpoint_error = s;
      r.checkpoint_error_count++;
    });
  }
}

void SyncRecorder::Shipped(const std::string& replica, const ShipReport& report) {
  registry_->Update(db_, replica, [&](SyncRecord& r) {
    r.database_missing = false;
    r.requests = report.requests;
    r.wal_size = report.wal_size;
    r.pending_bytes = report.pending_bytes;
    r.bytes_written += report.bytes_written;
    r.snapshot_count += report.snapshots;
    if (report.acked_txid) r.replicated_txid = report.acked_txid;
    r.lineage = report.lineage;
    r.local_txid = report.local_txid;
    if (!report.status.ok()) {
      r.last_error = report.status;
      r.last_error_time = report.now;
      r.sync_error_count++;
      return;
    }
    r.last_error = absl::OkStatus();
    if (report.reached && report.caught_up) {
      r.last_success = report.now;
      r.sync_count++;
    }
  });
}

void SyncRecorder::ReplicaFailed(const std::string& replica, const absl::Status& s,
                                 absl::Time now) {
  registry_->Update(db_, replica, [&](SyncRecord& r) {
    r.last_error = s;
    r.last_error_time = now;
    r.sync_error_count++;
  });
}

void SyncRecorder::Validated(const std::string& replica, const absl::Status& s, absl::Time now) {
  bool failed = absl::IsDataLoss(s);
  registry_->Update(db_, replica, [&](SyncRecord& r) {
    r.validation_failed = failed;
    if (failed) {
      r.last_error = s;
      r.last_error_time = now;
    }
  });
}

}  // namespace litesync
