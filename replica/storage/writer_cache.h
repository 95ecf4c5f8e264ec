// What the replica's only writer knows without asking the storage: a
// ReplicaClient decorator for the instance that holds the replica's lease
// (replica/engine/lease.h). While it holds the lease nobody else writes the
// replica, so
//   - listings are answered from memory once the storage answered them (the
//     start-up reads the replica; every later Write and Delete through this
//     client updates what it answered), so compaction and retention list nothing;
//   - the files it writes at levels 0-2 (compaction's inputs) are kept as local
//     copies, and Open reads those instead of GETting them back: in memory up to
//     a limit, then in one unlinked scratch file up to another; a copy is dropped
//     once a file at the next level covers it (compaction never reads it again),
//     when the file is deleted, or when a new lineage starts. Files it did not
//     write (from before a restart) and files over the limits are read from the
//     storage as before.
// It forgets everything (and asks the storage again) when anything may have
// changed behind it: a failed Write or Delete, and a record read back that is
// not the one it last wrote (the lease changed hands, or someone else wrote it).
// A record still absent that it never wrote changes nothing: a writer writes the
// lease record before any file and never removes it (a release expires it).
// Everything else passes through. One thread at a time, like every client.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "replica/storage/replica_client.h"

namespace litesync {

struct WriterCacheOptions {
  uint64_t memory_limit = 1ull << 20;  // bytes of copies kept in memory
  uint64_t disk_limit = 256ull << 20;  // then bytes of copies in the scratch file
  std::string scratch_dir;             // empty: base/scratch_dir.h's rule
};

std::unique_ptr<ReplicaClient> NewWriterCache(std::unique_ptr<ReplicaClient> inner,
                                              WriterCacheOptions options = {});

}  // namespace litesync
