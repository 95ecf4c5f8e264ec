// A ReplicaClient that encrypts every tx file it writes with age and decrypts
// every age file it reads, around any backend: the one seam through which all
// database content passes (uploads, snapshots, compaction, restore,
// validation). Names, levels, lineages, listings and records pass through
// unchanged: they are what storage sees (docs/FORMAT.md, "Encryption").
// Plain files read through it as they are (a replica where encryption was
// turned on later). One thread at a time, like the client it wraps.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/crypto/age_keys.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/replica_options.h"

namespace litesync {

// Wraps `inner` when `age` is enabled; InvalidArgument naming the replica when
// a key does not parse (the message never holds an identity).
absl::StatusOr<std::unique_ptr<ReplicaClient>> WrapAgeReplicaClient(
    std::unique_ptr<ReplicaClient> inner, const AgeOptions& age);

// The identities of `age`, parsed; errors name `where` and the list position.
// For readers of other layouts that hold age files — Litestream v0.3's `age:`
// replicas (snapshots and WAL segments, LZ4 inside the age layer) — which pass
// them to AgeDecrypt (replica/crypto/age.h) before decompressing.
absl::StatusOr<std::vector<AgeIdentity>> AgeIdentitiesOf(const AgeOptions& age,
                                                         std::string_view where);

}  // namespace litesync
