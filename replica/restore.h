// Restore: plan which tx files rebuild a database at a point in time, fetch them,
// apply them to a temporary file, verify every checksum, then rename into place.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "replica/replica_client.h"

namespace litesync {

struct RestoreTarget {
  std::optional<uint64_t> txid;         // restore exactly this transaction
  std::optional<absl::Time> timestamp;  // the last transaction captured at or before
};

struct RestorePlan {
  Lineage lineage = 0;
  uint64_t txid = 0;              // the state the plan restores
  absl::Time timestamp;           // capture time of that state
  std::vector<TxFileInfo> files;  // snapshot first, then increments in order
  uint64_t bytes = 0;             // sum of file sizes (0 where unknown)
};

// NotFound when the replica holds nothing (or nothing at/before the target):
// the message names the replica and the oldest/newest restorable point.
absl::StatusOr<RestorePlan> PlanRestore(ReplicaClient& client, const RestoreTarget& target);

struct RestoreOptions {
  std::string output_path;  // written via <output>.tmp-<pid>, renamed after verification
  // Files fetched at once: up to this many files ahead of the one being applied are
  // downloaded concurrently, each by a client of its own from client_factory (a
  // client serves one thread at a time). Files of unknown size or of 64 MiB and more
  // are not prefetched but streamed in turn, so memory stays bounded. Without a
  // factory, or at 1, files are fetched one after another with the given client.
  int parallelism = 8;
  using ClientFactory = std::function<absl::StatusOr<std::unique_ptr<ReplicaClient>>()>;
  ClientFactory client_factory;
};

// Executes `plan`, applying files strictly in order and verifying every checksum;
// on any error the output path is left untouched.
absl::Status ExecuteRestore(ReplicaClient& client, const RestorePlan& plan,
                            const RestoreOptions& options);

}  // namespace litesync
