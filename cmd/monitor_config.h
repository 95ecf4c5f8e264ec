// The parsed monitor.yml of `litesync monitor -config`: which replicas to judge,
// how fresh each must be, how often to verify it, and whom to tell. Parsed with
// the same machinery as litesync.yml (cmd/config_internal.h): ${VAR} expansion,
// errors citing `file:line: key`, unknown keys refused. Plain structs; the daemon
// (cmd/monitor_daemon.h) sees only these.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/secret.h"

#include "replica/storage/replica_options.h"

namespace litesync {

// Default max-age when neither an entry nor defaults: set one.
inline constexpr absl::Duration kDefaultMonitorMaxAge = absl::Minutes(10);
// The check interval, unless set: max-age / 5, within these bounds.
inline constexpr absl::Duration kMinMonitorCheckInterval = absl::Seconds(1);
inline constexpr absl::Duration kMaxMonitorCheckInterval = absl::Minutes(5);
// The shortest spacing of up pings to one target (`interval:` cannot go lower).
inline constexpr absl::Duration kMinMonitorPingInterval = absl::Seconds(1);

// max-age / 5 within [kMinMonitorCheckInterval, kMaxMonitorCheckInterval].
absl::Duration DefaultCheckInterval(absl::Duration max_age);

struct MonitoredReplica {
  std::string name;        // the entry's name, unique; {name} in templates
  ReplicaOptions replica;  // where it is and how to read it (read-only use)
  absl::Duration max_age = kDefaultMonitorMaxAge;
  absl::Duration check_interval;   // set by the parser (explicit or derived)
  absl::Duration verify_interval;  // zero: never verified
  std::string source;              // "monitor.yml:12: replicas[0]", for messages
};

// A push target: per replica (its own push-url / push-token) or over several
// (`heartbeats:` with `replicas:`; none listed: all of them).
struct MonitorTarget {
  Secret url;       // {status} {msg} {ping} expanded per request; a credential
  Secret fail_url;  // optional: called once when a covered replica turns bad
  std::string method = "GET";
  absl::Duration interval = absl::Minutes(1);  // up pings at most this often
  absl::Duration timeout = absl::Seconds(10);
  std::vector<std::string> replicas;  // names; empty: every replica
  std::string source;                 // "monitor.yml:20: heartbeats[0]"
};

struct MonitorConfig {
  std::string path;
  std::string addr;  // /metrics and /healthz over TCP; empty: off
  std::optional<LogLevel> log_level;
  std::string scratch_dir;  // where verification restores; empty: the system's temp dir
  std::vector<MonitoredReplica> replicas;
  std::vector<MonitorTarget> targets;
};

// Loads `path` (expanding ${VAR} unless SetConfigExpandEnv(false)). Errors are
// InvalidArgument and read `monitor.yml:9: replicas[1].max-age: ...`.
absl::StatusOr<MonitorConfig> LoadMonitorConfig(const std::string& path);
// The same for text (tests); `path` is used in messages only.
absl::StatusOr<MonitorConfig> ParseMonitorConfigText(const std::string& text,
                                                     const std::string& path);

}  // namespace litesync
