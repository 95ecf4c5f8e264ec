#include "monitor/verdict.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/scratch_dir.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/format/liveness.h"
#include "replica/maintenance/validator.h"

namespace litesync {
namespace {

constexpr size_t kLineagesLooked = 3;

RequestCounts Since(const RequestCounts& now, const RequestCounts& before) {
  RequestCounts d;
  for (size_t i = 0; i < kRequestOps; i++) {
    d.sent[i] = now.sent[i] - before.sent[i];
    d.failed[i] = now.failed[i] - before.failed[i];
  }
  return d;
}

std::string Ago(absl::Time then, absl::Time now) { return FormatAge(now - then); }

// Keeps in *newest the newest of `files` and *newest, by TXID, then capture time.
void KeepNewest(const std::vector<TxFileInfo>& files, std::optional<TxFileInfo>* newest) {
  for (const TxFileInfo& f : files) {
    if (!*newest ||
        std::tie(f.max_txid, f.timestamp) > std::tie((*newest)->max_txid, (*newest)->timestamp)) {
      *newest = f;
    }
  }
}

// The newest file of `lineage`, in about one list page per level. Levels 0 (one
// file per sync) and 9 (snapshots) hold the newest state, but level 0 keeps every
// file of the retention window: a day of syncs at one a second is 86,400 names,
// 87 list pages. So level 0 is listed from a lower bound only:
// - the file the liveness record names, when it is this lineage's level-0 file
//   and is still listed, or the TXID of the snapshot it names when level 9 holds
//   that snapshot (the record only says where to start; what counts is what the
//   listing holds, so a wrong claim costs a page, never a wrong verdict);
// - else the newest compacted file's min TXID, found from the top level down
//   (3, 2, 1), each level listed from the newest file of the level above: the
//   level-0 files from there on are the ones compaction has not yet passed, about
//   one level-1 interval of syncs.
// With compaction off (level 1's interval 0) level 0 is listed whole. The
// compacted files count only when neither level 0 nor 9 holds one (a lineage
// idle past retention).
absl::StatusOr<std::optional<TxFileInfo>> NewestFile(ReplicaClient& client, Lineage lineage,
                                                     const std::optional<LivenessRecord>& live) {
  std::optional<TxFileInfo> newest;
  LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> snapshots, client.List(lineage, kSnapshotLevel));
  KeepNewest(snapshots, &newest);
  if (live && live->lineage == lineage) {
    const TxFileInfo& named = live->file;
    if (named.level == 0) {
      LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files,
                          client.ListFrom(lineage, 0, named.min_txid));
      if (!files.empty() && files.front().min_txid == named.min_txid) {
        KeepNewest(files, &newest);
        return newest;
      }
    } else if (named.level == kSnapshotLevel &&
               std::find(snapshots.begin(), snapshots.end(), named) != snapshots.end()) {
      // An idle database's record names its snapshot: level 0 from its TXID on.
      LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files,
                          client.ListFrom(lineage, 0, named.max_txid));
      KeepNewest(files, &newest);
      return newest;
    }
  }
  uint64_t from = 0;
  std::optional<TxFileInfo> compacted;
  for (int level = kMaxCompactionLevel; level >= 1; level--) {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, client.ListFrom(lineage, level, from));
    if (files.empty()) continue;
    from = files.back().min_txid;
    KeepNewest(files, &compacted);
  }
  LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> level0, client.ListFrom(lineage, 0, from));
  KeepNewest(level0, &newest);
  if (!newest) newest = compacted;
  return newest;
}

std::string FileName(const TxFileInfo& f) { return f.RelativePath(); }

// Checks the liveness record's claim against the newest lineage's newest file.
// Empty when the listing holds it; otherwise what does not hold, and *beyond
// says whether the record claims more than storage holds (a newer lineage or a
// higher TXID) rather than an older lineage (the sidecar started a new one since).
std::string CheckClaim(const LivenessRecord& r, Lineage newest_lineage, const TxFileInfo& newest,
                       bool* beyond) {
  *beyond = r.lineage > newest_lineage || (r.lineage == newest_lineage && newest.max_txid < r.txid);
  if (r.lineage != newest_lineage) {
    return fmt::format(
        "the liveness record names lineage {} (txid {}, file {}) but the newest lineage is {}",
        LineageName(r.lineage), TxidString(r.txid), FileName(r.file), LineageName(newest_lineage));
  }
  if (newest.max_txid < r.txid) {
    return fmt::format(
        "the liveness record claims txid {} (file {}) but the replica holds only up to txid {} "
        "(newest file {})",
        TxidString(r.txid), FileName(r.file), TxidString(newest.max_txid), FileName(newest));
  }
  return "";
}

void Verify(ReplicaClient& client, const JudgeOptions& options, ReplicaVerdict* v) {
  VerificationResult& out = v->verification;
  ValidationResult result;
  absl::Status s = ValidateReplica(client, ScratchDir(options.scratch_dir), 0, 0, &result);
  out.ran = true;
  out.lineage = result.lineage;
  out.txid = result.txid;
  out.files = result.files;
  out.elapsed = result.elapsed;
  if (s.ok()) {
    out.ok = true;
    v->last_good_verification = v->checked;
    return;
  }
  out.error = std::string(s.message());
}

// Freshness from the listing and the liveness record; false when the verdict is
// already final (unreachable, empty).
bool JudgeFreshness(ReplicaClient& client, const JudgeOptions& options, ReplicaVerdict* v,
                    std::optional<LivenessRecord>* live, std::string* claim_problem, bool* beyond) {
  absl::StatusOr<Record> record = client.ReadRecord(kLivenessRecord);
  if (record.ok()) {
    absl::StatusOr<LivenessRecord> decoded = DecodeLiveness(record->bytes);
    if (decoded.ok()) {
      *live = *decoded;
      v->liveness.present = true;
      v->liveness.lineage = decoded->lineage;
      v->liveness.txid = decoded->txid;
      v->liveness.time = decoded->confirmed;
      v->liveness.host = decoded->host;
    } else {
      *claim_problem = fmt::format("the liveness record is unreadable: {}",
                                   std::string(decoded.status().message()));
    }
  } else if (!absl::IsNotFound(record.status()) && !absl::IsUnimplemented(record.status())) {
    v->state = VerdictState::kUnreachable;
    v->reason = fmt::format("{}: read the liveness record: {}", v->replica,
                            std::string(record.status().message()));
    return false;
  }

  absl::StatusOr<std::vector<Lineage>> lineages = client.ListLineages();
  if (!lineages.ok()) {
    v->state = VerdictState::kUnreachable;
    v->reason = fmt::format("{}: list: {}", v->replica, std::string(lineages.status().message()));
    return false;
  }
  // The newest lineage that holds a file (a directory replica keeps the folders of
  // a lineage whose files were all deleted); at most kLineagesLooked of them.
  std::optional<TxFileInfo> newest;
  Lineage newest_lineage = 0;
  for (size_t i = 0; i < std::min(lineages->size(), kLineagesLooked) && !newest; i++) {
    newest_lineage = (*lineages)[lineages->size() - 1 - i];
    absl::StatusOr<std::optional<TxFileInfo>> found = NewestFile(client, newest_lineage, *live);
    if (!found.ok()) {
      v->state = VerdictState::kUnreachable;
      v->reason = fmt::format("{}: list lineage {}: {}", v->replica, LineageName(newest_lineage),
                              std::string(found.status().message()));
      return false;
    }
    newest = *found;
  }
  if (!newest) {
    v->state = VerdictState::kEmpty;
    v->reason = fmt::format(
        "{}: holds no litesync tx file (a wrong URL, or a replica never written; Litestream's "
        "objects are not judged)",
        v->replica);
    return false;
  }
  v->newest_file = newest;
  v->newest_capture = newest->timestamp;
  v->current_at = newest->timestamp;
  if (*live) {
    *claim_problem = CheckClaim(**live, newest_lineage, *newest, beyond);
    v->liveness.confirmed = claim_problem->empty();
    if (v->liveness.confirmed) v->current_at = std::max(v->current_at, (*live)->confirmed);
  }
  (void)options;
  return true;
}

std::string StaleReason(const ReplicaVerdict& v, const JudgeOptions& o,
                        const std::string& claim_problem) {
  std::string files =
      fmt::format("{}: newest tx file {} was captured {} ago (max-age {})", v.replica,
                  FileName(*v.newest_file), Ago(v.newest_capture, v.checked), FormatAge(o.max_age));
  if (!v.liveness.present && claim_problem.empty()) {
    return files +
           " and it has no liveness record: the sidecar stopped, or the database is "
           "idle and its replica has no liveness-interval";
  }
  if (!v.liveness.confirmed) return fmt::format("{}; {}", files, claim_problem);
  return fmt::format(
      "{}; its liveness record (host {}) was written {} ago: the sidecar stopped or "
      "cannot reach the replica",
      files, v.liveness.host, Ago(v.liveness.time, v.checked));
}

}  // namespace

std::string_view VerdictStateName(VerdictState state) {
  switch (state) {
    case VerdictState::kFresh:
      return "fresh";
    case VerdictState::kStale:
      return "stale";
    case VerdictState::kNoLivenessRecord:
      return "no-liveness-record";
    case VerdictState::kLivenessUnconfirmed:
      return "liveness-unconfirmed";
    case VerdictState::kEmpty:
      return "empty";
    case VerdictState::kUnreachable:
      return "unreachable";
    case VerdictState::kVerifyFailed:
      return "verify-failed";
    case VerdictState::kVerifyImpossible:
      return "verify-impossible";
  }
  return "unknown";
}

ReplicaVerdict Judge(ReplicaClient& client, const JudgeOptions& options, Clock& clock) {
  ReplicaVerdict v;
  v.replica = client.Describe();
  v.checked = clock.Now();
  const RequestCounts before = client.requests();
  std::optional<LivenessRecord> live;
  std::string claim_problem;
  bool beyond = false;
  if (JudgeFreshness(client, options, &v, &live, &claim_problem, &beyond)) {
    if (v.checked - v.current_at <= options.max_age) {
      v.state = VerdictState::kFresh;
    } else if (!v.liveness.present && claim_problem.empty()) {
      v.state = VerdictState::kNoLivenessRecord;
    } else if (!v.liveness.confirmed) {
      v.state = VerdictState::kLivenessUnconfirmed;
    } else {
      v.state = VerdictState::kStale;
    }
    if (v.state != VerdictState::kFresh) v.reason = StaleReason(v, options, claim_problem);
    if (options.verify) {
      if (beyond) {
        // The newest state the sidecar confirmed is not in the replica: a restore of
        // what is listed would pass and hide it.
        v.verification.ran = true;
        v.verification.error = claim_problem;
      } else {
        Verify(client, options, &v);
      }
      if (!v.verification.ok && v.state == VerdictState::kFresh) {
        bool impossible = absl::StrContains(v.verification.error, "is age-encrypted");
        v.state = impossible ? VerdictState::kVerifyImpossible : VerdictState::kVerifyFailed;
        v.reason = impossible ? fmt::format(
                                    "{}: cannot verify: the replica is encrypted with age; give "
                                    "-age-identity-file FILE to verify it ({})",
                                    v.replica, v.verification.error)
                              : fmt::format("{}: verification failed: {}", v.replica,
                                            v.verification.error);
      } else if (!v.verification.ok) {
        v.reason += fmt::format("; verification failed: {}", v.verification.error);
      }
    }
  }
  v.fresh = v.state == VerdictState::kFresh;
  v.requests = Since(client.requests(), before);
  return v;
}

}  // namespace litesync
