// Restore planning: which tx files rebuild the database at a target, and which
// points the replica can still restore exactly (see PlanRestore in restore.h).
#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/restore/restore.h"
#include "replica/storage/replica_head.h"

namespace litesync {
namespace {

using LineageFiles = std::vector<std::pair<Lineage, std::vector<TxFileInfo>>>;

// The fewest files from `snap` up to exactly `target`: at each step the file
// starting right after the current position that reaches furthest.
absl::StatusOr<RestorePlan> PlanInLineage(ReplicaClient& client, Lineage lineage,
                                          const std::vector<TxFileInfo>& files, uint64_t target) {
  const TxFileInfo* snap = nullptr;
  for (const TxFileInfo& f : files) {
    if (f.level == kSnapshotLevel && f.max_txid <= target &&
        (snap == nullptr || f.max_txid > snap->max_txid)) {
      snap = &f;
    }
  }
  if (snap == nullptr) {
    return absl::NotFoundError(fmt::format("{}: no snapshot at or before txid {} in lineage {}",
                                           client.Describe(), TxidString(target),
                                           LineageName(lineage)));
  }
  RestorePlan plan;
  plan.lineage = lineage;
  plan.files.push_back(*snap);
  uint64_t pos = snap->max_txid;
  absl::Time ts = snap->timestamp;
  std::multimap<uint64_t, const TxFileInfo*> by_min;
  for (const TxFileInfo& f : files) {
    if (f.level != kSnapshotLevel) by_min.emplace(f.min_txid, &f);
  }
  while (pos < target) {
    const TxFileInfo* best = nullptr;
    auto [lo, hi] = by_min.equal_range(pos + 1);
    for (auto it = lo; it != hi; ++it) {
      if (it->second->max_txid <= target &&
          (best == nullptr || it->second->max_txid > best->max_txid)) {
        best = it->second;
      }
    }
    if (best == nullptr) {
      // Name the restorable points around the target so the user can choose.
      uint64_t below = pos, above = 0;
      for (const TxFileInfo& f : files) {
        if (f.max_txid > target && (above == 0 || f.max_txid < above)) above = f.max_txid;
      }
      std::string hint = fmt::format("nearest restorable txids: {}", TxidString(below));
      if (above != 0) hint += fmt::format(" and {}", TxidString(above));
      return absl::NotFoundError(fmt::format(
          "{}: txid {} is not restorable in lineage {} (no tx file starts at {}); {}",
          client.Describe(), TxidString(target), LineageName(lineage), TxidString(pos + 1), hint));
    }
    plan.files.push_back(*best);
    pos = best->max_txid;
    ts = best->timestamp;
  }
  plan.txid = pos;
  plan.timestamp = ts;
  for (const TxFileInfo& f : plan.files) plan.bytes += f.size;
  return plan;
}

// Whether the replica proves that state `x`, the newest captured at or before
// `t`, was the database at time `t`: a file ending at `x` was captured exactly
// at `t`, or the replica still knows when the next sync came (after `t`): a
// level-0 file (one per sync) starts at x + 1, or no increment holds x + 1 (x
// ended what the lineage captured). When only a compacted file holds x + 1, the
// syncs merged into it, and their times, are gone.
bool ProvenAt(const std::vector<TxFileInfo>& files, uint64_t x, absl::Time t) {
  bool held = false;
  for (const TxFileInfo& f : files) {
    if (f.max_txid == x && f.timestamp == t) return true;
    if (f.level == kSnapshotLevel) continue;
    if (f.level == 0 && f.min_txid == x + 1) return true;
    held = held || (f.min_txid <= x + 1 && x + 1 <= f.max_txid);
  }
  return !held;
}

// The state -timestamp `t` means in one lineage: the highest TXID captured at
// or before `t` (0 when the lineage captured nothing by then).
uint64_t StateAt(const std::vector<TxFileInfo>& files, absl::Time t) {
  uint64_t x = 0;
  for (const TxFileInfo& f : files) {
    if (f.timestamp <= t) x = std::max(x, f.max_txid);
  }
  return x;
}

// The earliest capture time at or after `from` at which -timestamp restores
// exactly (InfiniteFuture when there is none): a state is always proven at its
// own capture time, so this is the first one with a snapshot and a chain.
absl::Time EarliestRestorableTime(ReplicaClient& client, const LineageFiles& all, absl::Time from) {
  absl::Time earliest = absl::InfiniteFuture();
  for (const auto& [lineage, files] : all) {
    std::map<uint64_t, absl::Time> states;  // max_txid -> first capture time
    for (const TxFileInfo& f : files) {
      auto [it, added] = states.emplace(f.max_txid, f.timestamp);
      if (!added) it->second = std::min(it->second, f.timestamp);
    }
    for (const auto& [x, t] : states) {
      if (t < from || t >= earliest) continue;
      if (PlanInLineage(client, lineage, files, x).ok()) earliest = t;
    }
  }
  return earliest;
}

absl::StatusOr<RestorePlan> PlanAtTime(ReplicaClient& client, const LineageFiles& all,
                                       absl::Time t) {
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    uint64_t x = StateAt(it->second, t);
    if (x == 0) continue;
    // Never a different point: the state at `t` exactly, or an error.
    if (ProvenAt(it->second, x, t)) {
      absl::StatusOr<RestorePlan> plan = PlanInLineage(client, it->first, it->second, x);
      if (plan.ok() || !absl::IsNotFound(plan.status())) return plan;
    }
    break;
  }
  absl::Time oldest = EarliestRestorableTime(client, all, absl::InfinitePast());
  if (oldest == absl::InfiniteFuture()) {
    return absl::NotFoundError(
        fmt::format("{}: no point in time is restorable (no snapshot with a complete chain)",
                    client.Describe()));
  }
  if (t < oldest) {
    return absl::NotFoundError(fmt::format(
        "{}: nothing is restorable at {}: the oldest restorable time is {} (retention removed "
        "older history)",
        client.Describe(), FormatTimestamp(t), FormatTimestamp(oldest)));
  }
  absl::Time next = EarliestRestorableTime(client, all, t);
  return absl::NotFoundError(fmt::format(
      "{}: the state at {} is not restorable: the syncs around it were merged by compaction and "
      "retention removed the originals; the oldest restorable time is {}, the next after it {}",
      client.Describe(), FormatTimestamp(t), FormatTimestamp(oldest),
      next == absl::InfiniteFuture() ? "none" : FormatTimestamp(next)));
}

absl::StatusOr<RestorePlan> PlanAtTxid(ReplicaClient& client, const LineageFiles& all,
                                       uint64_t txid) {
  absl::Status failed = absl::OkStatus();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->first <= txid) {
      absl::StatusOr<RestorePlan> plan = PlanInLineage(client, it->first, it->second, txid);
      if (plan.ok() || !absl::IsNotFound(plan.status())) return plan;
      failed = plan.status();
      break;
    }
  }
  // Below the oldest snapshot nothing can be rebuilt: say where history starts.
  const TxFileInfo* oldest = nullptr;
  for (const auto& [lineage, files] : all) {
    for (const TxFileInfo& f : files) {
      if (f.level == kSnapshotLevel && (oldest == nullptr || f.max_txid < oldest->max_txid)) {
        oldest = &f;
      }
    }
  }
  if (oldest != nullptr && txid < oldest->max_txid) {
    return absl::NotFoundError(fmt::format(
        "{}: txid {} is before the oldest restorable txid, {} (captured {}; retention removed "
        "older history)",
        client.Describe(), TxidString(txid), TxidString(oldest->max_txid),
        FormatTimestamp(oldest->timestamp)));
  }
  if (!failed.ok()) return failed;
  return absl::NotFoundError(fmt::format("{}: txid {} is older than the oldest lineage {}",
                                         client.Describe(), TxidString(txid),
                                         LineageName(all.front().first)));
}

}  // namespace

absl::StatusOr<RestorePlan> PlanRestore(ReplicaClient& client, const RestoreTarget& target) {
  LS_ASSIGN_OR_RETURN(std::vector<Lineage> lineages, client.ListLineages());
  LineageFiles all;
  for (Lineage l : lineages) {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, ListLineageFiles(client, l));
    if (!files.empty()) all.emplace_back(l, std::move(files));
  }
  if (all.empty()) {
    return absl::NotFoundError(fmt::format("{}: the replica holds no backup", client.Describe()));
  }
  if (target.txid) return PlanAtTxid(client, all, *target.txid);
  if (target.timestamp) return PlanAtTime(client, all, *target.timestamp);
  const auto& [lineage, files] = all.back();
  uint64_t latest = 0;
  for (const TxFileInfo& f : files) latest = std::max(latest, f.max_txid);
  return PlanInLineage(client, lineage, files, latest);
}

}  // namespace litesync
