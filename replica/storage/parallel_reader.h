// Reads one large object as a stream while fetching it in parts on several
// threads, each with a client of its own: on object storage a single GET is
// bounded by one connection, while the restore decodes behind the parts already
// fetched. At most `window` parts are held at once (memory: window x part size).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

#include "replica/storage/replica_client.h"

namespace litesync {

using ObjectClientFactory = std::function<absl::StatusOr<std::unique_ptr<ReplicaClient>>()>;

// The defaults, measured on s3rver with a 1 GiB object (bench/litestream_restore.sh):
// 8 MiB parts took 1.87 s, 16 MiB 1.64 s, 32 MiB 1.63 s with twice the memory;
// fewer threads were slower (2: 2.04 s). Memory: up to window x part_size (128 MiB).
struct ParallelReadOptions {
  uint64_t part_size = 16 << 20;
  int threads = 4;
  int window = 8;  // parts fetched ahead of the reader, at most
};

// A reader of `object` (its size must be known) fetching parts with clients
// from `factory`. Errors of a part (after the client's own retries) end the
// stream with that error.
absl::StatusOr<std::unique_ptr<ByteReader>> NewParallelObjectReader(
    const ObjectClientFactory& factory, const ObjectInfo& object,
    const ParallelReadOptions& options = {});

}  // namespace litesync
