// Per (database, replica) sync records: the replication engine writes them, the
// heartbeat, `status` and metrics read copies through SyncRecordSource.
// Thread-safe; readers never block replication for longer than a copy.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "base/request_counts.h"

namespace litesync {

struct SyncRecord {
  std::string db;       // database path as configured
  std::string replica;  // ReplicaClient::Describe(), redacted

  // Time of the last sync the replica acknowledged (or, with nothing new, the
  // last time it was reached). InfinitePast until the first success.
  absl::Time last_success = absl::InfinitePast();
  bool SyncedOnce() const { return last_success != absl::InfinitePast(); }

  uint64_t lineage = 0;
  uint64_t local_txid = 0;                             // last transaction read from the WAL
  uint64_t replicated_txid = 0;                        // last transaction the replica acknowledged
  uint64_t pending_bytes = 0;                          // staged but not yet acknowledged
  int64_t wal_size = 0;                                // bytes of the -wal file at the last sync
  absl::Time last_commit_seen = absl::InfinitePast();  // first time local_txid was seen

  absl::Status last_error;  // OK when the last attempt succeeded
  absl::Time last_error_time = absl::InfinitePast();

  uint64_t sync_count = 0;
  uint64_t sync_error_count = 0;
  uint64_t bytes_written = 0;
  uint64_t snapshot_count = 0;
  bool database_missing = false;  // the database file does not exist
  bool validation_failed = false;
  RequestCounts requests;  // sent to this replica by this process (base/request_counts.h)

  // litesync's checkpoints of the database itself (not the replica): OK unless
  // the last one failed, e.g. "database or disk is full" on the application's
  // disk. Cleared by the next checkpoint that succeeds.
  absl::Status checkpoint_error;
  absl::Time checkpoint_failing_since = absl::InfinitePast();
  uint64_t checkpoint_error_count = 0;
};

// Read-only view: what heartbeat/ and status see.
class SyncRecordSource {
 public:
  virtual ~SyncRecordSource() = default;
  // A copy of every record, ordered by (db, replica).
  virtual std::vector<SyncRecord> Snapshot() const = 0;
};

// The mutable registry the replication engine updates.
class SyncRegistry : public SyncRecordSource {
 public:
  std::vector<SyncRecord> Snapshot() const override;

  // Creates the record if absent.
  void Register(const std::string& db, const std::string& replica);
  void Remove(const std::string& db);
  // Applies `fn` to the record under the lock; fn must not block.
  template <typename Fn>
  void Update(const std::string& db, const std::string& replica, Fn fn) {
    MutexLock lock(&mu_);
    SyncRecord& r = records_[{db, replica}];
    r.db = db;
    r.replica = replica;
    fn(r);
  }

 private:
  mutable Mutex mu_;
  std::map<std::pair<std::string, std::string>, SyncRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace litesync
