#include "cmd/restore_choice.h"

#include <utility>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "base/time_format.h"
#include "base/url.h"
#include "fmt/format.h"

#include "cmd/command.h"

namespace litesync::restore_choice {
namespace {

std::string FormatLitestreamPlan(const Candidate& c, const std::string& output) {
  const LitestreamPlan& p = *c.litestream;
  std::string out = "restore plan (dry run: nothing written)\n";
  out += fmt::format("  replica:   {}\n", RedactUrl(c.client->Describe()));
  out += fmt::format("  output:    {}\n", output);
  out += fmt::format("  from:      {}\n", DescribeLitestreamPlan(p));
  out += fmt::format("  time:      {}\n", FormatTimestamp(p.timestamp));
  out += fmt::format("  files:     {}\n", p.objects.size());
  out += fmt::format("  bytes:     {}\n", p.bytes);
  for (const ObjectInfo& o : p.objects) out += fmt::format("    {}  {} bytes\n", o.key, o.size);
  return out;
}

// `s`'s message led by the replica it is about, unless it names it already.
std::string NamingReplica(const std::string& where, const absl::Status& s) {
  std::string msg = StatusMessage(s);
  return msg.find(where) == std::string::npos ? fmt::format("replica {}: {}", where, msg) : msg;
}

}  // namespace

std::string FormatPlan(const Candidate& c, const std::string& output) {
  if (c.litestream) return FormatLitestreamPlan(c, output);
  const RestorePlan& p = c.plan;
  size_t snapshots = 0;
  for (const TxFileInfo& f : p.files) snapshots += f.level == kSnapshotLevel ? 1 : 0;
  std::string out = "restore plan (dry run: nothing written)\n";
  out += fmt::format("  replica:   {}\n", RedactUrl(c.client->Describe()));
  out += fmt::format("  output:    {}\n", output);
  out += fmt::format("  lineage:   {}\n", LineageName(p.lineage));
  out += fmt::format("  txid:      {} ({})\n", TxidString(p.txid), p.txid);
  out += fmt::format("  time:      {}\n", FormatTimestamp(p.timestamp));
  out += fmt::format("  files:     {} ({} snapshot, {} incremental)\n", p.files.size(), snapshots,
                     p.files.size() - snapshots);
  out += fmt::format("  bytes:     {}\n", p.bytes);
  for (const TxFileInfo& f : p.files) {
    out += fmt::format("    {}  {} bytes\n", f.RelativePath(), f.size);
  }
  return out;
}

Outcome Choose(const std::vector<ReplicaOptions>& replicas, const RestoreTarget& target,
               std::optional<Candidate>* best, absl::Status* error) {
  std::vector<std::string> problems;
  bool all_empty = true;
  absl::StatusCode code = absl::StatusCode::kNotFound;
  for (const ReplicaOptions& r : replicas) {
    absl::StatusOr<std::unique_ptr<ReplicaClient>> client = NewReplicaClient(r);
    if (!client.ok()) {
      *error = absl::Status(client.status().code(),
                            NamingReplica(RedactUrl(r.Describe()), client.status()));
      return Outcome::kFailed;
    }
    std::string where = RedactUrl((*client)->Describe());
    absl::StatusOr<RestorePlan> plan = PlanRestore(**client, target);
    // A Litestream replica at the same location (what was there before the
    // switch) competes too: the newest state at the target wins.
    absl::StatusOr<std::optional<LitestreamPlan>> theirs = PlanLitestreamRestore(**client, target);
    const bool theirs_planned = theirs.ok() && theirs->has_value();
    if (plan.ok() || theirs_planned) {
      Candidate c{r, *std::move(client), plan.ok() ? *std::move(plan) : RestorePlan{}, {}};
      if (theirs_planned && (!plan.ok() || (*theirs)->timestamp > c.plan.timestamp)) {
        c.litestream = **theirs;
      }
      if (!best->has_value() || c.timestamp() > (*best)->timestamp()) *best = std::move(c);
      continue;
    }
    absl::Status why = plan.status();
    if (absl::IsNotFound(why) && !theirs.ok()) {
      absl::StatusOr<std::vector<Lineage>> ours = (*client)->ListLineages();
      why = ours.ok() && ours->empty()
                ? theirs.status()
                : absl::Status(theirs.status().code(),
                               fmt::format("{}; {}", StatusMessage(plan.status()),
                                           StatusMessage(theirs.status())));
    }
    problems.push_back(NamingReplica(where, why));
    if (!absl::IsNotFound(why)) {
      code = why.code();
      all_empty = false;
      continue;
    }
    absl::StatusOr<std::vector<Lineage>> lineages = (*client)->ListLineages();
    all_empty = all_empty && lineages.ok() && lineages->empty() && theirs.ok();
  }
  if (best->has_value()) {
    for (const std::string& p : problems) LogWarn("replica skipped", {{"err", p}});
    return Outcome::kPlanned;
  }
  std::string msg;
  for (const std::string& p : problems) msg += (msg.empty() ? "" : "; ") + p;
  *error = absl::Status(code, msg);
  return all_empty ? Outcome::kNoBackup : Outcome::kFailed;
}

}  // namespace litesync::restore_choice
