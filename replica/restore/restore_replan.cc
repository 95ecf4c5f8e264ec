// Restore racing retention: re-plan when a file of the plan
// disappears mid-restore, never restore a different point, never leave a partial
// result (ExecuteRestore writes the output only after a complete, verified run).
#include <string>
#include <utility>

#include "base/log.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/restore/restore.h"

namespace litesync {
namespace {

std::string DescribePoint(const RestoreTarget& target, const RestorePlan& plan) {
  if (target.txid) return fmt::format("txid {}", TxidString(*target.txid));
  if (target.timestamp) {
    return fmt::format("the state at {} (txid {})", FormatTimestamp(*target.timestamp),
                       TxidString(plan.txid));
  }
  return "the latest state";
}

}  // namespace

absl::Status ExecuteRestoreReplanning(ReplicaClient& client, const RestoreTarget& target,
                                      RestorePlan* plan, const RestoreOptions& options) {
  // The point stays the one first planned: a -timestamp target is pinned to the
  // TXID it resolved to, so a re-plan can only reach the same state or fail.
  RestoreTarget again;
  if (target.txid || target.timestamp) again.txid = plan->txid;
  const std::string point = DescribePoint(target, *plan);
  for (int replans = 0;; ++replans) {
    absl::Status s = ExecuteRestore(client, *plan, options);
    if (!absl::IsNotFound(s)) return s;
    if (replans == kMaxRestoreReplans) {
      return Annotate(s, fmt::format("restore of {}: files of the plan kept disappearing "
                                     "(retention running?); gave up after {} re-plans",
                                     point, replans));
    }
    absl::StatusOr<RestorePlan> next = PlanRestore(client, again);
    if (!next.ok()) {
      if (!absl::IsNotFound(next.status())) {
        return Annotate(next.status(), "restore: re-plan after a file of the plan disappeared");
      }
      return absl::NotFoundError(
          fmt::format("restore: {} is no longer restorable: a file of its plan disappeared during "
                      "the restore ({}), and planning again failed: {}",
                      point, std::string(s.message()), std::string(next.status().message())));
    }
    if (next->files == plan->files) return s;  // the same files: not a race with retention
    LogWarn("restore re-planned: a file of the plan disappeared", {{"replica", client.Describe()},
                                                                   {"txid", TxidString(next->txid)},
                                                                   {"files", next->files.size()},
                                                                   {"err", s}});
    *plan = *std::move(next);
  }
}

}  // namespace litesync
