// A replica in a local directory (or a mounted volume):
//   <root>/<lineage 16 hex>/<level>/<min>-<max>-<ts>.ltx
// Files are written under a temporary name, fsynced, renamed into place and the
// directory fsynced, so a reader never sees a partial file.
#pragma once

#include <memory>

#include "absl/status/statusor.h"

#include "replica/storage/replica_client.h"

namespace litesync {

absl::StatusOr<std::unique_ptr<ReplicaClient>> NewFileReplicaClient(const ReplicaOptions& options);

}  // namespace litesync
