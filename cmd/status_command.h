// `litesync status -config litesync.yml [-json] [DBPATH]`: what is healthy, what
// is behind, and why. Asks the running daemon over its control socket (GET
// /status); without one, reads what it can directly: each database file and its
// WAL size, and each replica's newest tx file. Exit status: 0 when every
// database is `ok`, 1 otherwise, 2 on usage errors.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"

#include "cmd/config.h"
#include "cmd/status_report.h"
#include "replica/storage/replica_client.h"

namespace litesync {

using ReplicaClientFactory =
    std::function<absl::StatusOr<std::unique_ptr<ReplicaClient>>(const ReplicaOptions&)>;

struct StatusCommandEnv {
  ReplicaClientFactory new_client;            // required
  Clock* clock = nullptr;                     // required
  std::string socket_path;                    // empty: ControlSocketCandidates(config)
  absl::Duration timeout = absl::Seconds(5);  // for the daemon's answer
  size_t width = 0;  // the terminal's columns (stdout a TTY); 0: no cut (RenderTable)
};

// `args` are the words after `status`; -config/--config and its value are
// accepted and ignored (main already loaded `config`). Prints to stdout/stderr.
int RunStatusCommand(const Config& config, const std::vector<std::string>& args);

// The same with the seams exposed (tests): output and errors go to the strings.
int RunStatusCommand(const Config& config, const std::vector<std::string>& args,
                     const StatusCommandEnv& env, std::string* out, std::string* err);

// Without the daemon: one row per configured database x replica from the files
// and the replicas (source "direct"); fields only the daemon knows are unset.
StatusReport ReadStatusDirect(const Config& config, const ReplicaClientFactory& new_client,
                              absl::Time now, absl::Duration interval);

}  // namespace litesync
