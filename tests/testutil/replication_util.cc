#include "tests/testutil/replication_util.h"

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "base/handles.h"
#include "base/status.h"

#include "replica/sqlite/sqlite_status.h"
#include "replica/storage/file/file_settings.h"
#include "tests/tools/content_hash.h"

namespace litesync::testing {

std::map<int64_t, uint64_t> ReadWriterLog(const std::string& path) {
  std::map<int64_t, uint64_t> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    int64_t seq;
    std::string hash;
    if (ss >> seq >> hash) out[seq] = std::stoull(hash, nullptr, 16);
  }
  return out;
}

absl::StatusOr<DbContent> ReadContent(const std::string& db_path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, db_path);
  DbContent c;
  if (!ContentHash(raw, &c.hash, &c.seq)) return SqliteStatus(raw, SQLITE_ERROR, db_path);
  return c;
}

ReplicaOptions FileReplica(const std::string& dir, absl::Duration sync) {
  ReplicaOptions r;
  r.type = "file";
  r.settings<FileSettings>().path = dir;
  r.sync_interval = sync;
  return r;
}

DbOptions DbWithReplica(const std::string& db, const ReplicaOptions& replica) {
  DbOptions d;
  d.path = db;
  d.replicas.push_back(replica);
  d.min_checkpoint_pages = 200;
  return d;
}

uint64_t SyncCount(const SyncRecordSource& registry) {
  uint64_t n = 0;
  for (const SyncRecord& r : registry.Snapshot()) n += r.sync_count;
  return n;
}

bool WaitForSyncAfter(const SyncRecordSource& registry, uint64_t before, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (SyncCount(registry) <= before) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

absl::StatusOr<RestorePlan> RestoreTo(ReplicaClient& client, const RestoreTarget& target,
                                      const std::string& out) {
  LS_ASSIGN_OR_RETURN(RestorePlan plan, PlanRestore(client, target));
  RestoreOptions opts;
  opts.output_path = out;
  LS_RETURN_IF_ERROR(ExecuteRestore(client, plan, opts));
  return plan;
}

}  // namespace litesync::testing
