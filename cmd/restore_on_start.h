// `replicate -restore-if-db-not-exists` and the per-database key of the same
// name: before replication starts, a database file that does not exist is
// restored (latest state) from its replicas; a replica that holds nothing means
// starting empty. Main thread only, before the replicator starts.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

#include "cmd/config.h"
#include "cmd/databases.h"

namespace litesync {

struct RestoreOnStart {
  bool all = false;         // -restore-if-db-not-exists: every `path:` database
  bool from_config = true;  // false: the database and replica URLs of the command line
  std::string log_level;    // -log-level, passed on to the restore
  std::vector<std::string> replica_urls;  // the command line's (from_config == false)
};

// Restores each database of `dbs` that is due (`all`, or restore-if-db-not-exists
// in `config`) and whose file is missing, exactly as `litesync restore
// -if-db-not-exists -if-replica-exists` would (the newest state across its
// replicas, verified, then moved into place). A failed restore is an error
// naming the database: replication must not start from nothing while a backup
// exists.
absl::Status RestoreMissingDatabases(const RestoreOnStart& how, const Config& config,
                                     const std::vector<ResolvedDb>& dbs);

}  // namespace litesync
