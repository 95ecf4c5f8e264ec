// Shared between the Litestream readers (replica/compat/): each version plans
// from a listing and applies its objects to a staged output file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/compat/litestream.h"

namespace litesync {

// v0.3 (litestream_v3.cc). nullopt: no v0.3 objects at the location. `names`:
// the replica root's ListRootNames().
absl::StatusOr<std::optional<LitestreamPlan>> PlanLitestreamV3(
    ReplicaClient& client, const std::vector<std::string>& names, const RestoreTarget& target);
absl::Status ApplyLitestreamV3(ReplicaClient& client, const LitestreamPlan& plan,
                               const LitestreamRestoreOptions& opts, int fd,
                               const std::string& path);

// v0.5 (litestream_v5.cc).
absl::StatusOr<std::optional<LitestreamPlan>> PlanLitestreamV5(
    ReplicaClient& client, const std::vector<std::string>& names, const RestoreTarget& target);
absl::Status ApplyLitestreamV5(ReplicaClient& client, const LitestreamPlan& plan,
                               const LitestreamRestoreOptions& opts, int fd,
                               const std::string& path);

// "generations/1a2b.../wal/00000003_00001000.wal.lz4 in file:///backups/app".
std::string DescribeObject(ReplicaClient& client, const ObjectInfo& object);

// Opens an object of the plan through `opts`; a missing one says what to do.
absl::StatusOr<std::unique_ptr<ByteReader>> OpenPlanned(ReplicaClient& client,
                                                        const ObjectInfo& object,
                                                        const LitestreamRestoreOptions& opts);

}  // namespace litesync
