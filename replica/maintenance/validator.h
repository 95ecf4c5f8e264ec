// Background verification (`validation-interval`): restore a replica's latest
// state into a scratch file, check it with SQLite, and compare it with what the
// source database held at that TXID. Not thread-safe: one thread at a time per
// client, like the client itself.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

struct ValidationResult {
  Lineage lineage = 0;
  uint64_t txid = 0;       // the state that was restored (the plan's txid)
  uint64_t checksum = 0;   // database checksum of the restored file
  uint64_t pages = 0;      // pages in the restored file
  size_t files = 0;        // tx files the restore read
  bool compared = false;   // expect_txid matched: the checksum was compared
  absl::Duration elapsed;  // wall time of the whole validation
};

// Restores the replica's latest state to a temporary file in `scratch_dir`
// (empty: $TMPDIR, else /tmp; removed before returning, also on error), runs
// `PRAGMA integrity_check` on it and computes its database checksum (page_checksum.h) from the
// file. When `expect_txid` equals the restored TXID, that checksum must equal `expect_checksum`
// (the source's tracked checksum at that TXID); for any other TXID only the restore's own checks
// and the integrity check apply.
//
// DataLoss when the restore's checks, the integrity check or the comparison
// fail, naming what differed; NotFound for an empty replica; the client's codes
// (e.g. Unavailable) when the replica cannot be read. `out` (may be null) is
// filled with what was found, also on DataLoss.
absl::Status ValidateReplica(ReplicaClient& client, const std::string& scratch_dir,
                             uint64_t expect_txid, uint64_t expect_checksum, ValidationResult* out);

}  // namespace litesync
