// On-demand syncs (`litesync sync [-wait] DBPATH`): what a request waits for and
// how it is settled from the database's sync records after each of its steps.
// A SyncRequests is owned by the Replicator and used under its lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/sync_record.h"

namespace litesync {

struct SyncOutcome {
  // OK, or why the sync did not complete (naming the replica that failed).
  absl::Status status;
  uint64_t txid = 0;             // the last transaction captured from the WAL
  uint64_t replicated_txid = 0;  // with wait: what every replica acknowledged
};

// Called once, on a replication worker (or the thread that stops the replicator).
using SyncDone = std::function<void(const SyncOutcome&)>;

class SyncRequests {
 public:
  // A waiting request made at `now`: settled once every replica acknowledged
  // everything the first step that began after it captured, or by the first
  // replica error seen after it.
  void Add(const std::string& db, absl::Time now, SyncDone done);
  bool Pending(const std::string& db) const { return pending_.count(db) != 0; }

  // After a step of `db` that began at `step_began`: the requests it settles,
  // with their outcomes (call them outside the lock). `records` are the db's.
  std::vector<std::pair<SyncDone, SyncOutcome>> Settle(const std::string& db, absl::Time step_began,
                                                       const std::vector<SyncRecord>& records);
  // Every request of `db` (or of all databases when empty) fails with `why`.
  std::vector<std::pair<SyncDone, SyncOutcome>> Cancel(const std::string& db,
                                                       const absl::Status& why);

 private:
  struct Request {
    absl::Time made;
    bool captured = false;  // a step that began after `made` has run
    uint64_t lineage = 0;   // what that step captured
    uint64_t target = 0;
    SyncDone done;
  };
  std::map<std::string, std::vector<Request>> pending_;
};

}  // namespace litesync
