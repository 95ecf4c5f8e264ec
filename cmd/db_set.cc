#include "cmd/db_set.h"

#include <set>
#include <tuple>

#include "base/log.h"

namespace litesync {
namespace {

auto Tie(const ReplicaOptions& r) {
  return std::tie(r.type, r.name, r.backend_settings, r.sync_interval, r.retention,
                  r.snapshot_interval, r.validation_interval, r.liveness_interval, r.maintenance);
}

std::string ReplicaList(const DbOptions& db) {
  std::string out;
  for (const ReplicaOptions& r : db.replicas) {
    out += (out.empty() ? "" : ",") + RedactUrl(r.Describe());
  }
  return out;
}

}  // namespace

bool SameDbOptions(const DbOptions& a, const DbOptions& b) {
  if (std::tie(a.path, a.min_checkpoint_pages, a.truncate_pages, a.checkpoint_interval,
               a.busy_timeout) != std::tie(b.path, b.min_checkpoint_pages, b.truncate_pages,
                                           b.checkpoint_interval, b.busy_timeout) ||
      a.replicas.size() != b.replicas.size()) {
    return false;
  }
  for (size_t i = 0; i < a.replicas.size(); ++i) {
    if (Tie(a.replicas[i]) != Tie(b.replicas[i])) return false;
  }
  return true;
}

absl::Status DbSet::Apply(const std::vector<ResolvedDb>& want) {
  std::map<std::string, const DbOptions*> wanted;
  for (const ResolvedDb& db : want) wanted[db.options.path] = &db.options;
  // Removals first: a changed database is stopped before its new settings start.
  std::vector<std::string> gone;
  for (const auto& [path, options] : running_) {
    auto it = wanted.find(path);
    if (it == wanted.end() || !SameDbOptions(options, *it->second)) gone.push_back(path);
  }
  for (const std::string& path : gone) {
    bool changed = wanted.count(path) > 0;
    absl::Status s = replicator_->Remove(path);
    running_.erase(path);
    if (s.ok()) {
      LogInfo(changed ? "stopped replicating to apply new settings" : "stopped replicating",
              {{"db", path}, {"final_sync", "ok"}});
    } else {
      LogWarn("stopped replicating; final sync failed", {{"db", path}, {"err", s}});
    }
  }
  absl::Status first;
  for (const ResolvedDb& db : want) {
    if (running_.count(db.options.path) > 0) continue;
    if (absl::Status s = replicator_->Add(db.options); !s.ok()) {
      LogError("cannot replicate", {{"db", db.options.path}, {"err", s}});
      if (first.ok()) first = s;
      continue;
    }
    running_.emplace(db.options.path, db.options);
    LogInfo("replicating", {{"db", db.options.path}, {"replicas", ReplicaList(db.options)}});
  }
  if (fds_ != nullptr) fds_->Check(running_.size());
  return first;
}

}  // namespace litesync
