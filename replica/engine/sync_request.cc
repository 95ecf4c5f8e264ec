#include "replica/engine/sync_request.h"

#include <algorithm>
#include <utility>

#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

// The first replica whose last attempt failed, as an error naming it.
absl::Status FailedReplica(const std::vector<SyncRecord>& records) {
  for (const SyncRecord& r : records) {
    if (!r.last_error.ok()) return Annotate(r.last_error, fmt::format("replica {}", r.replica));
  }
  return absl::OkStatus();
}

// True when every replica acknowledged transaction `target` of `lineage` (or
// everything of a newer lineage, whose snapshot holds it).
bool Acknowledged(const std::vector<SyncRecord>& records, uint64_t lineage, uint64_t target) {
  return std::all_of(records.begin(), records.end(), [&](const SyncRecord& r) {
    if (r.lineage == lineage) return r.replicated_txid >= target;
    return r.replicated_txid >= r.local_txid;
  });
}

}  // namespace

void SyncRequests::Add(const std::string& db, absl::Time now, SyncDone done) {
  Request r;
  r.made = now;
  r.done = std::move(done);
  pending_[db].push_back(std::move(r));
}

std::vector<std::pair<SyncDone, SyncOutcome>> SyncRequests::Settle(
    const std::string& db, absl::Time step_began, const std::vector<SyncRecord>& records) {
  std::vector<std::pair<SyncDone, SyncOutcome>> settled;
  auto it = pending_.find(db);
  if (it == pending_.end()) return settled;
  uint64_t local = 0, replicated = UINT64_MAX, lineage = 0;
  for (const SyncRecord& r : records) {
    local = std::max(local, r.local_txid);
    replicated = std::min(replicated, r.replicated_txid);
    lineage = std::max(lineage, r.lineage);
  }
  if (records.empty()) replicated = 0;
  absl::Status failed = FailedReplica(records);
  std::vector<Request>& requests = it->second;
  for (Request& r : requests) {
    if (step_began <= r.made) continue;  // the step may have read the WAL before the commit
    if (!r.captured) {
      r.captured = true;
      r.lineage = lineage;
      r.target = local;
    }
    SyncOutcome out{absl::OkStatus(), local, replicated};
    if (!failed.ok()) {
      out.status = failed;
    } else if (!Acknowledged(records, r.lineage, r.target)) {
      continue;  // still shipping: settled by a later step
    }
    settled.emplace_back(std::move(r.done), std::move(out));
    r.done = nullptr;
  }
  std::erase_if(requests, [](const Request& r) { return !r.done; });
  if (requests.empty()) pending_.erase(it);
  return settled;
}

std::vector<std::pair<SyncDone, SyncOutcome>> SyncRequests::Cancel(const std::string& db,
                                                                   const absl::Status& why) {
  std::vector<std::pair<SyncDone, SyncOutcome>> settled;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!db.empty() && it->first != db) {
      ++it;
      continue;
    }
    for (Request& r : it->second) settled.emplace_back(std::move(r.done), SyncOutcome{why});
    it = pending_.erase(it);
  }
  return settled;
}

}  // namespace litesync
