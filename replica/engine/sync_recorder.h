// The one writer of a database's sync records (base/sync_record.h): every change
// the engine makes to what `status`, the heartbeat and /metrics read goes through
// here, named by what happened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/request_counts.h"
#include "base/sync_record.h"

namespace litesync {

// One shipping pass to one replica (ReplicaShipper::Ship).
struct ShipReport {
  absl::Status status;  // OK when every attempt in the pass succeeded
  absl::Time now;
  RequestCounts requests;
  int64_t wal_size = 0;
  uint64_t pending_bytes = 0;
  uint64_t bytes_written = 0;
  uint64_t snapshots = 0;
  uint64_t acked_txid = 0;  // 0: nothing acknowledged in this pass
  uint64_t lineage = 0;
  uint64_t local_txid = 0;
  bool reached = false;    // a write or a ping succeeded
  bool caught_up = false;  // nothing left to send and no snapshot owed
};

class SyncRecorder {
 public:
  // `registry` must outlive the recorder.
  SyncRecorder(SyncRegistry* registry, std::string db);

  void AddReplica(const std::string& replica);

  // The database could not be opened or read (NotFound: it does not exist).
  void DatabaseFailed(const absl::Status& s, absl::Time now);
  // A transaction was captured from the WAL.
  void Captured(uint64_t lineage, uint64_t txid, absl::Time now);
  // Replication resumed or started at (lineage, txid); `replicated`: the TXID the
  // replica already holds, when it is on the same chain.
  void Positioned(const std::string& replica, uint64_t lineage, uint64_t txid,
                  std::optional<uint64_t> replicated);
  void Checkpointed(const absl::Status& s, absl::Time now);
  void Shipped(const std::string& replica, const ShipReport& r);
  // The replica's chain cannot be trusted (another writer): an error until a new
  // lineage is in it.
  void ReplicaFailed(const std::string& replica, const absl::Status& s, absl::Time now);
  // Background validation: `failed` is a mismatch (DataLoss), which marks the
  // database unhealthy; other errors are retried and leave the record as it was.
  void Validated(const std::string& replica, const absl::Status& s, absl::Time now);

 private:
  SyncRegistry* registry_;
  std::string db_;
  std::vector<std::string> replicas_;
};

}  // namespace litesync
