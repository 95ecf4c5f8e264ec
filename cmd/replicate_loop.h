// The running daemon's main-thread loop (`litesync replicate`): waits for
// SIGINT/SIGTERM, reloads the config on SIGHUP, rescans dirs: folders every few
// seconds, and with -exec forwards stop signals to the application and returns
// when it exits. Main thread only, with the signals blocked by BlockSignals().
#pragma once

#include <signal.h>

#include <optional>
#include <string>

#include "absl/time/time.h"

#include "cmd/child_process.h"
#include "cmd/config.h"
#include "cmd/db_set.h"

namespace litesync {

struct DaemonLoop {
  const sigset_t* signals = nullptr;
  DbSet* dbs = nullptr;
  Config* config = nullptr;       // replaced by a good reloaded config
  bool from_config = true;        // false: databases from the command line, nothing to reload
  std::string log_level_flag;     // when set, a reload keeps it over the config's log-level
  ChildProcess* child = nullptr;  // -exec's application, or null
  absl::Duration rescan_every = absl::Seconds(2);
};

struct LoopEnd {
  int signal = 0;                 // SIGINT/SIGTERM without a child
  std::optional<int> child_code;  // the child's exit code (128+signal when killed)
};

// Runs until litesync should stop: a stop signal (no child), or the child's exit
// (a stop signal is forwarded to the child, which decides when to exit).
LoopEnd RunDaemonLoop(const DaemonLoop& loop);

// SIGHUP: loads the config again and applies it. A config that does not load,
// names a dir that cannot be listed, or a database that fails CheckDatabaseFile
// is logged with its error and changes nothing.
void ReloadConfig(const DaemonLoop& loop);

}  // namespace litesync
