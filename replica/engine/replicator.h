// The replication engine: a bounded pool of worker threads serving every
// database's watcher in turn (a thousand databases do not mean a thousand
// threads). Each tick of a watcher reads new WAL frames, writes tx files to each
// replica, checkpoints, and updates the database's sync records.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/sync_record.h"

#include "replica/engine/sync_request.h"
#include "replica/storage/replica_options.h"

namespace litesync {

struct ReplicatorOptions {
  int workers = 2;  // replication threads, whatever the db count
  absl::Duration final_sync_deadline = absl::Seconds(30);
};

class Replicator {
 public:
  // `registry` and `clock` must outlive the replicator.
  Replicator(SyncRegistry* registry, Clock* clock, ReplicatorOptions options = {});
  ~Replicator();  // Stop() if still running
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Adds a database (before or after Start). InvalidArgument for a duplicate path;
  // a database that cannot be opened yet is retried, its record shows the error.
  absl::Status Add(const DbOptions& db);
  // Stops watching `path` after a final sync of it; the sync's result.
  absl::Status Remove(const std::string& path);
  std::vector<std::string> Paths() const;

  // Syncs `path` now: a worker steps its watcher at once (after the running
  // step, if one runs). Without `done`, returns once that is arranged. With
  // `done`, it is called once, on a worker, when every replica acknowledged
  // everything committed before this call, or with the first replica error
  // seen after it (the error names the replica), or when the database stops
  // being replicated. The caller bounds its own wait; `done` must stay callable.
  // NotFound (naming `path` and listing the replicated paths) for an unknown one.
  absl::Status RequestSync(const std::string& path, SyncDone done = nullptr);

  void Start();
  // Final sync of every database (bounded by final_sync_deadline), then joins the
  // workers. Non-OK when any final sync failed. Idempotent.
  absl::Status Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace litesync
