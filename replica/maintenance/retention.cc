#include "replica/maintenance/retention.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <tuple>

#include "base/log.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/storage/replica_head.h"

namespace litesync {
namespace {

// The chain restore takes from position `from` to exactly `to`: at each step the
// increment starting right after the position that reaches furthest without
// passing `to` (ties: the highest level). nullopt when there is none.
std::optional<std::vector<const TxFileInfo*>> Chain(const std::vector<TxFileInfo>& files,
                                                    uint64_t from, uint64_t to) {
  std::multimap<uint64_t, const TxFileInfo*> by_min;
  for (const TxFileInfo& f : files) {
    if (f.level != kSnapshotLevel) by_min.emplace(f.min_txid, &f);
  }
  std::vector<const TxFileInfo*> chain;
  uint64_t pos = from;
  while (pos < to) {
    const TxFileInfo* best = nullptr;
    auto [lo, hi] = by_min.equal_range(pos + 1);
    for (auto it = lo; it != hi; ++it) {
      const TxFileInfo* f = it->second;
      if (f->max_txid > to) continue;
      if (best == nullptr ||
          std::tie(f->max_txid, f->level) > std::tie(best->max_txid, best->level)) {
        best = f;
      }
    }
    if (best == nullptr) return std::nullopt;
    chain.push_back(best);
    pos = best->max_txid;
  }
  return chain;
}

// The files of the cutoff lineage that rule 3 keeps (see retention.h).
absl::StatusOr<std::set<const TxFileInfo*>> KeepInCutoffLineage(
    const std::vector<TxFileInfo>& files, Lineage lineage, absl::Time cutoff, RetentionPlan* plan) {
  uint64_t t_c = 0;
  for (const TxFileInfo& f : files) {
    if (f.timestamp <= cutoff) t_c = std::max(t_c, f.max_txid);
  }
  const TxFileInfo* snap = nullptr;
  for (const TxFileInfo& f : files) {
    if (f.level == kSnapshotLevel && f.max_txid <= t_c &&
        (snap == nullptr || f.max_txid > snap->max_txid)) {
      snap = &f;
    }
  }
  if (snap == nullptr) {
    return absl::DataLossError(
        fmt::format("lineage {} has no snapshot at or before txid {}, the state at the cutoff {}; "
                    "nothing deleted",
                    LineageName(lineage), TxidString(t_c), FormatTimestamp(cutoff)));
  }
  std::optional<std::vector<const TxFileInfo*>> chain = Chain(files, snap->max_txid, t_c);
  if (!chain) {
    return absl::DataLossError(fmt::format(
        "lineage {}: txid {}, the state at the cutoff {}, is not restorable from snapshot {}; "
        "nothing deleted",
        LineageName(lineage), TxidString(t_c), FormatTimestamp(cutoff), snap->Name()));
  }
  std::set<const TxFileInfo*> keep(chain->begin(), chain->end());
  keep.insert(snap);
  // A restore at the cutoff must still resolve to T_C: keep a file ending there
  // that was captured at or before it (the chain's last file, usually).
  const TxFileInfo* marker = chain->empty() ? snap : chain->back();
  if (marker->timestamp > cutoff) {
    marker = nullptr;
    for (const TxFileInfo& f : files) {
      if (f.max_txid == t_c && f.timestamp <= cutoff &&
          (marker == nullptr || f.level > marker->level)) {
        marker = &f;
      }
    }
    if (marker != nullptr) keep.insert(marker);  // always found: T_C is such a file's max
  }
  plan->cutoff_lineage = lineage;
  plan->cutoff_txid = t_c;
  plan->anchor = *snap;
  return keep;
}

}  // namespace

absl::StatusOr<RetentionPlan> PlanRetention(const std::map<Lineage, std::vector<TxFileInfo>>& files,
                                            absl::Time cutoff) {
  RetentionPlan plan;
  auto captured_by_cutoff = [cutoff](const TxFileInfo& f) { return f.timestamp <= cutoff; };
  auto cutoff_it = files.end();
  for (auto it = files.begin(); it != files.end(); ++it) {
    if (std::any_of(it->second.begin(), it->second.end(), captured_by_cutoff)) cutoff_it = it;
  }
  if (cutoff_it == files.end()) return plan;  // everything is inside the window

  LS_ASSIGN_OR_RETURN(std::set<const TxFileInfo*> keep,
                      KeepInCutoffLineage(cutoff_it->second, cutoff_it->first, cutoff, &plan));
  for (const TxFileInfo& f : cutoff_it->second) {
    if (f.timestamp <= cutoff && keep.count(&f) == 0) plan.deletions.push_back(f);
  }
  for (auto it = files.begin(); it != cutoff_it; ++it) {
    if (std::all_of(it->second.begin(), it->second.end(), captured_by_cutoff)) {
      plan.deletions.insert(plan.deletions.end(), it->second.begin(), it->second.end());
    }
  }
  std::sort(plan.deletions.begin(), plan.deletions.end(),
            [](const TxFileInfo& a, const TxFileInfo& b) {
              return std::tie(a.lineage, a.max_txid, a.level, a.min_txid) <
                     std::tie(b.lineage, b.max_txid, b.level, b.min_txid);
            });
  return plan;
}

absl::Status EnforceRetention(ReplicaClient& client, absl::Time now, absl::Duration retention,
                              RetentionResult* out) {
  if (retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(fmt::format("retention: window must be positive (got {})",
                                                  absl::FormatDuration(retention)));
  }
  auto lineages = client.ListLineages();
  if (!lineages.ok()) return Annotate(lineages.status(), "retention: list lineages");
  std::map<Lineage, std::vector<TxFileInfo>> files;
  for (Lineage l : *lineages) {
    auto in_lineage = ListLineageFiles(client, l);
    if (!in_lineage.ok()) {
      return Annotate(in_lineage.status(),
                      fmt::format("retention: list lineage {}", LineageName(l)));
    }
    if (!in_lineage->empty()) files.emplace(l, std::move(*in_lineage));
  }
  absl::StatusOr<RetentionPlan> plan = PlanRetention(files, now - retention);
  if (!plan.ok()) {
    return Annotate(plan.status(), fmt::format("retention of {}", client.Describe()));
  }
  if (out != nullptr) out->plan = *plan;
  std::span<const TxFileInfo> rest(plan->deletions);
  while (!rest.empty()) {
    std::span<const TxFileInfo> batch = rest.first(std::min(rest.size(), kRetentionBatch));
    if (absl::Status s = client.Delete(batch); !s.ok()) {
      return Annotate(s, fmt::format("retention: delete {} files from {}", batch.size(),
                                     DescribeFile(client, batch.front())));
    }
    if (out != nullptr) out->deleted.insert(out->deleted.end(), batch.begin(), batch.end());
    rest = rest.subspan(batch.size());
  }
  if (!plan->deletions.empty()) {
    LogInfo("retention deleted tx files", {{"replica", client.Describe()},
                                           {"files", plan->deletions.size()},
                                           {"cutoff", now - retention},
                                           {"lineage", LineageName(plan->cutoff_lineage)},
                                           {"txid", TxidString(plan->cutoff_txid)}});
  }
  return absl::OkStatus();
}

}  // namespace litesync
