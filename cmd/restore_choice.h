// Which replica `litesync restore` restores from: a plan on every replica (and on
// a Litestream replica at the same place), the newest state at the target wins;
// and that plan as -dry-run prints it. Main thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/compat/litestream.h"
#include "replica/restore/restore.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/replica_options.h"

namespace litesync::restore_choice {

// A replica that holds the target, its client and the plan to restore it.
struct Candidate {
  ReplicaOptions options;
  std::unique_ptr<ReplicaClient> client;
  RestorePlan plan;
  // Set when the newest state is in a Litestream replica at the same location
  // (replica/compat/); `plan` is then unused.
  std::optional<LitestreamPlan> litestream;
  absl::Time timestamp() const { return litestream ? litestream->timestamp : plan.timestamp; }
};

enum class Outcome { kPlanned, kNoBackup, kFailed };

// Plans on every replica and keeps the one restoring the newest state. kNoBackup
// when every replica is reachable and empty; kFailed with `error` otherwise.
Outcome Choose(const std::vector<ReplicaOptions>& replicas, const RestoreTarget& target,
               std::optional<Candidate>* best, absl::Status* error);

// The plan of `c` restoring to `output`, as `restore -dry-run` prints it.
std::string FormatPlan(const Candidate& c, const std::string& output);

}  // namespace litesync::restore_choice
