// Litestream v0.3 replicas written with `age:` hold age files with LZ4 inside.
// The decoder restore hands to ExecuteLitestreamRestore (litestream.h) for them.
#pragma once

#include "absl/status/statusor.h"

#include "replica/compat/litestream.h"
#include "replica/storage/replica_options.h"

namespace litesync {

// Objects that start with age's header are decrypted (and authenticated) with
// the identities of `replica`'s age: settings; without identities such an object
// is FailedPrecondition naming it and saying how to pass one. Other objects pass
// as stored (a replica may have been encrypted from some point on). An error
// when the identities cannot be read.
absl::StatusOr<StoredObjectDecoder> LitestreamAgeDecoder(const ReplicaOptions& replica);

}  // namespace litesync
