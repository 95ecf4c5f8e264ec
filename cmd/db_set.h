// The daemon's running set of databases, kept equal to what the config names:
// on SIGHUP (a reloaded config) and on each rescan of the dirs: folders. Main
// thread only; the replicator does the work.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cmd/databases.h"
#include "cmd/fd_limit.h"
#include "replica/engine/replicator.h"
#include "replica/storage/replica_options.h"

namespace litesync {

// Same path, replicas and settings (secrets compared too, never shown).
bool SameDbOptions(const DbOptions& a, const DbOptions& b);

class DbSet {
 public:
  // `replicator` and `fds` (optional: checked after each Apply) must outlive this set.
  explicit DbSet(Replicator* replicator, FdBudget* fds = nullptr)
      : replicator_(replicator), fds_(fds) {}

  // Makes the replicator run exactly `want`: new databases are added, databases
  // no longer wanted are removed after a final sync, changed ones are removed and
  // added again. Logs each change; a failed final sync of a removed database is
  // logged and does not stop the others. Returns the first Add error (the other
  // databases are still applied).
  absl::Status Apply(const std::vector<ResolvedDb>& want);
  bool Running(const std::string& path) const { return running_.count(path) != 0; }
  size_t size() const { return running_.size(); }

 private:
  Replicator* replicator_;
  FdBudget* fds_;
  std::map<std::string, DbOptions> running_;
};

}  // namespace litesync
