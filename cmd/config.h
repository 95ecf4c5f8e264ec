// The parsed litesync.yml. cmd/config.cc is the only yaml-cpp user; everything
// downstream sees these plain structs. Paths in it are absolute and normalized
// (relative paths in the file resolve against the working directory).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/log.h"

#include "heartbeat/heartbeat_options.h"
#include "replica/storage/replica_options.h"

namespace litesync {

struct DirOptions {  // `dirs:` entries, or `dbs:` entries with `dir:` (Litestream v0.5's form)
  std::string dir;
  std::string pattern = "*.db";
  bool recursive = false;
  std::vector<ReplicaOptions> replicas;  // templates; each db gets <replica>/<relative db path>
  std::string source;                    // "litesync.yml:12: dirs[0]", for messages
};

struct Config {
  std::string path;  // the config file, for messages
  std::vector<DbOptions> dbs;
  std::vector<std::string> db_sources;  // "litesync.yml:4: dbs[0].path" for dbs[i]
  std::vector<DirOptions> dirs;
  HeartbeatOptions heartbeat;
  std::string addr;  // control/metrics HTTP listener, e.g. 127.0.0.1:9090; empty: off
  std::optional<LogLevel> log_level;    // log-level:, or logging.level
  std::optional<LogFormat> log_format;  // logging.type: text|json
  std::optional<bool> log_stderr;       // logging.stderr (unset: stderr)
  std::string exec;                     // exec: the application; -exec wins
  std::string socket_path;              // socket.path: the control socket
  // Databases (by path) with restore-if-db-not-exists: true.
  std::vector<std::string> restore_if_missing;
  // Litestream keys litesync accepts but reads differently, one
  // "file:line: key: what litesync does" each (`litesync databases` prints them,
  // `litesync replicate` logs them at start).
  std::vector<std::string> notes;
  // After SIGINT/SIGTERM (or -exec's application exiting), how long the final sync
  // of every database may retry before litesync gives up and exits 1.
  absl::Duration shutdown_sync_timeout = absl::Seconds(30);
};

// Whether LoadConfig/ParseConfigText expand ${VAR} (default true; -no-expand-env
// turns it off, as in Litestream). Main thread, before any config is loaded.
void SetConfigExpandEnv(bool expand);

// Loads and validates `path`, expanding ${VAR} from the environment. Errors
// (InvalidArgument) name the file, line and key:
//   `litesync.yml:9: dbs[1].replica.url: scheme must be "file" or "s3" (got "ftp")`.
// Heartbeat intervals under a minute are raised to a minute with a warning (logged).
absl::StatusOr<Config> LoadConfig(const std::string& path);
// The same for YAML text (tests); `path` is used in messages only.
absl::StatusOr<Config> ParseConfigText(const std::string& text, const std::string& path);

}  // namespace litesync
