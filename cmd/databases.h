// The databases a config names: those in `dbs:` and those found in `dirs:`, each
// with the replicas it is copied to; and `litesync databases`, which lists them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "cmd/config.h"
#include "replica/storage/replica_options.h"

namespace litesync {

struct ResolvedDb {
  DbOptions options;
  // Where it comes from, for messages: "litesync.yml:4: dbs[0].path",
  // "litesync.yml:9: dirs[0]" or "command line".
  std::string source;
};

// The replica of the database at `relative` (a path below the dir) from a dir's
// replica template: <path>/<relative> for files, <prefix>/<relative> for S3.
ReplicaOptions DeriveReplica(const ReplicaOptions& tmpl, const std::string& relative);

// Every database of `config`: `dbs:` in order, then the files in each `dirs:`
// folder that match its pattern (sorted; -wal, -shm and -journal files skipped; a
// database listed in dbs: keeps its own replicas). Scans once; the daemon calls it
// again on a timer and on SIGHUP (cmd/replicate_loop.h). FailedPrecondition
// naming the config line when a dir does not exist or cannot be listed.
absl::StatusOr<std::vector<ResolvedDb>> ResolveDatabases(const Config& config);

// The database at `path` (normalized): from dbs:, or a dirs: folder whose pattern
// it matches (it need not exist: restore creates it). NotFound listing the
// configured databases otherwise.
absl::StatusOr<ResolvedDb> FindDatabase(const Config& config, const std::string& path);

// A command's -replica NAME: the database's replicas whose name (or, unnamed,
// type) is `name`; all of them when `name` is empty. NotFound naming the
// database and its replicas when none is.
absl::StatusOr<std::vector<ReplicaOptions>> PickReplicas(const DbOptions& db,
                                                         const std::string& name);

// `litesync databases [-config PATH]`: a table of databases and their replicas.
int RunDatabasesCommand(const std::vector<std::string>& args);

}  // namespace litesync
