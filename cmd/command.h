// What the commands in cmd/ share: exit codes, where the config comes from, error
// output, and signal handling for commands that run threads. Main thread only.
#pragma once

#include <signal.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "cmd/config.h"

namespace litesync {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a runtime failure
inline constexpr int kExitUsage = 2;    // bad flags, bad config

inline constexpr char kConfigFlagHelp[] =
    "the config file (default: $LITESYNC_CONFIG, else /etc/litesync.yml)";
inline constexpr char kNoExpandEnvFlagHelp[] =
    "read ${VAR} and $VAR in the config literally instead of from the environment";
inline constexpr char kLogLevelFlagHelp[] =
    "debug, info, warn or error (default: the config's log-level, else info)";

// -config's value, else $LITESYNC_CONFIG, else /etc/litesync.yml.
std::string ConfigPath(const std::string& flag_value);

// The -no-expand-env flag's target, shared by every command that reads a config;
// LoadCommandConfig honours it.
bool* NoExpandEnvFlag();

// Loads the config and sets the log level from `log_level_flag` (when not empty)
// or the config, and the log format and stream from its logging: block. Errors are config errors:
// print them and exit kExitUsage.
absl::StatusOr<Config> LoadCommandConfig(const std::string& config_flag,
                                         const std::string& log_level_flag);
// Sets the log level from a -log-level value; InvalidArgument when unknown.
absl::Status ApplyLogLevelFlag(const std::string& value);

// "litesync <command>: <message>" on stderr.
void PrintError(std::string_view command, std::string_view message);
void PrintError(std::string_view command, const absl::Status& status);
std::string StatusMessage(const absl::Status& status);  // message() as a std::string

// Absolute and lexically normalized ("~" from $HOME), as paths in the config are.
std::string NormalizePath(std::string_view path);

// The rule for the last argument of restore, ltx and snapshots: it names a
// replica when it is a URL (contains "://") or an existing directory (a database
// is always a file, so a directory can only be a file replica); anything else is a
// database path of the config. Returns the replica URL (file://<absolute path> for
// a directory), or nullopt for a database path.
std::optional<std::string> ReplicaArgument(const std::string& arg);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it
// starts afterwards; call before any thread exists. Returns the blocked set.
sigset_t BlockSignals();
const char* SignalName(int sig);

// Runs `work` on its own thread while the calling thread waits for SIGINT or
// SIGTERM (blocked by BlockSignals). On such a signal `on_signal(sig)` runs on the
// calling thread and must not return (it ends the process with _exit). SIGHUP is
// ignored here. Returns once `work` is done.
void RunInterruptible(const std::function<void()>& work,
                      const std::function<void(int sig)>& on_signal);

}  // namespace litesync
