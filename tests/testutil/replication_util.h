// Helpers for replication tests: writer logs, restores and content checks.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/sync_record.h"

#include "replica/restore/restore.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/replica_options.h"

namespace litesync::testing {

// test_writer -log lines: seq -> content hash.
std::map<int64_t, uint64_t> ReadWriterLog(const std::string& path);

struct DbContent {
  int64_t seq = 0;
  uint64_t hash = 0;
};
absl::StatusOr<DbContent> ReadContent(const std::string& db_path);

ReplicaOptions FileReplica(const std::string& dir, absl::Duration sync = absl::Milliseconds(50));
DbOptions DbWithReplica(const std::string& db, const ReplicaOptions& replica);

// The successful syncs `registry` counts over all its databases and replicas.
uint64_t SyncCount(const SyncRecordSource& registry);
// Waits at most `timeout` until `registry` counts more than `before` successful
// syncs. A test starts its writer after that, so the writer commits beside a
// litesync that already holds its read pin, as an application does. A writer
// started earlier can commit and close before the first capture when the
// machine is loaded; the test then sees a different, correct outcome (a larger
// first snapshot, or a new lineage because nothing proves the gap).
bool WaitForSyncAfter(const SyncRecordSource& registry, uint64_t before, absl::Duration timeout);

// Plans and executes a restore into `out`; the plan on success.
absl::StatusOr<RestorePlan> RestoreTo(ReplicaClient& client, const RestoreTarget& target,
                                      const std::string& out);

}  // namespace litesync::testing
