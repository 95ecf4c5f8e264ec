// `litesync replicate`: the daemon. Replicates every configured database until
// SIGINT/SIGTERM, then stops the heartbeat, makes a final sync and exits 0 only
// when that sync succeeded. A second signal during shutdown exits at once (1).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

#include "cmd/databases.h"

namespace litesync {

// `args` are the words after `replicate`. Blocks SIGINT/SIGTERM/SIGHUP first, so
// it must be called before any thread has been started.
int RunReplicateCommand(const std::vector<std::string>& args);

// Start-up checks of one database, before anything runs: its directory exists
// (FailedPrecondition), and the file, when it exists, is a SQLite database
// (FailedPrecondition) that can be read (PermissionDenied...). A missing file is
// fine: the application may create it later. Messages start with `db.source`.
absl::Status CheckDatabaseFile(const ResolvedDb& db);

}  // namespace litesync
