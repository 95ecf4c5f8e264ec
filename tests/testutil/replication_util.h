// Helpers for replication tests: writer logs, restores and content checks.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"

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

// Plans and executes a restore into `out`; the plan on success.
absl::StatusOr<RestorePlan> RestoreTo(ReplicaClient& client, const RestoreTarget& target,
                                      const std::string& out);

}  // namespace litesync::testing
