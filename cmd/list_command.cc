#include "cmd/list_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/secret.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "cmd/age_flags.h"
#include "cmd/command.h"
#include "cmd/databases.h"
#include "cmd/flags.h"
#include "cmd/json.h"
#include "replica/compat/litestream.h"
#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {
namespace {

constexpr char kSnapshotsUsage[] =
    "Usage:\n"
    "  litesync snapshots [-config PATH] [-replica NAME] [-json] DBPATH\n"
    "  litesync snapshots [-json] REPLICA\n"
    "\n"
    "Lists the snapshots (level 9: every page of the database) a replica holds, one row\n"
    "per file sorted by lineage and TXID: lineage, level, TXID range (16 hex digits),\n"
    "size in bytes and capture time (RFC 3339, UTC). With a config, DBPATH names a\n"
    "database of it and every replica is listed unless -replica picks one.\n"
    "A REPLICA needs no config: a URL (file:///backups/app, s3://bucket/prefix?endpoint=...)\n"
    "or an existing directory (/backups/app); anything else is a DBPATH.\n"
    "\n"
    "Exit status: 0 listed, 1 when a database or replica cannot be read, 2 on a usage or\n"
    "config error.\n";

constexpr char kLtxUsage[] =
    "Usage:\n"
    "  litesync ltx [-config PATH] [-level N|all] [-replica NAME] [-json] DBPATH\n"
    "  litesync ltx [-level N|all] [-json] REPLICA\n"
    "\n"
    "Lists the tx files a replica holds, one row per file sorted by lineage, level and\n"
    "TXID: lineage, level, TXID range (16 hex digits), size in bytes and capture time\n"
    "(RFC 3339, UTC). Levels: 0 (one file per sync), 1-3 (compacted), 9 (snapshots);\n"
    "-level picks one (default: all). With a config, DBPATH names a database of it and\n"
    "every replica is listed unless -replica picks one. A REPLICA needs no config: a URL\n"
    "(file:///backups/app, s3://bucket/prefix?endpoint=...) or an existing directory\n"
    "(/backups/app); anything else is a DBPATH.\n"
    "\n"
    "Exit status: 0 listed, 1 when a database or replica cannot be read, 2 on a usage or\n"
    "config error.\n";

struct Args {
  std::string command;  // "snapshots" or "ltx", for messages
  std::string config, replica, level = "all", log_level, target;
  bool json = false;
  bool config_set = false;
  std::vector<int> levels;
  std::vector<std::string> age_identity_files;
};

struct Row {
  std::string replica;
  TxFileInfo info;
};

std::optional<int> ParseArgs(const std::vector<std::string>& argv, bool snapshots, Args* a) {
  a->command = snapshots ? "snapshots" : "ltx";
  FlagSet flags(snapshots ? kSnapshotsUsage : kLtxUsage);
  flags.String("config", &a->config, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  flags.String("replica", &a->replica, "NAME", "list only this replica of the config");
  if (!snapshots) flags.String("level", &a->level, "N|all", "0, 1, 2, 3, 9 or all");
  flags.Bool("json", &a->json, "print a JSON array instead of a table");
  flags.String("log-level", &a->log_level, "LEVEL", kLogLevelFlagHelp);
  AddAgeIdentityFlag(flags, &a->age_identity_files);
  if (std::optional<int> code = flags.ParseOrExit(argv, "litesync " + a->command)) return code;
  auto usage_error = [&](const std::string& msg) {
    PrintError(a->command, fmt::format("{} (see litesync {} -h)", msg, a->command));
    return kExitUsage;
  };
  if (flags.args().size() != 1) {
    return usage_error(flags.args().empty() ? "needs a DBPATH or a REPLICA"
                                            : "takes one DBPATH or REPLICA");
  }
  a->target = flags.args()[0];
  a->config_set = flags.IsSet("config");
  if (snapshots) {
    a->levels = {kSnapshotLevel};
  } else if (a->level == "all") {
    for (int l = 0; l <= kMaxCompactionLevel; ++l) a->levels.push_back(l);
    a->levels.push_back(kSnapshotLevel);
  } else if (a->level.size() == 1 &&
             ((a->level[0] >= '0' && a->level[0] <= '0' + kMaxCompactionLevel) ||
              a->level[0] == '0' + kSnapshotLevel)) {
    a->levels = {a->level[0] - '0'};
  } else {
    return usage_error(fmt::format("-level must be 0, 1, 2, 3, 9 or all (got \"{}\")", a->level));
  }
  return std::nullopt;
}

// The replicas to list, with their display names; an exit code on error.
std::optional<int> Resolve(const Args& a, std::vector<ReplicaOptions>* replicas,
                           std::string* what) {
  if (std::optional<std::string> url = ReplicaArgument(a.target)) {
    if (a.config_set || !a.replica.empty()) {
      PrintError(a.command, fmt::format("-config and -replica apply to a DBPATH, not to a replica "
                                        "(\"{}\" is a URL or a directory)",
                                        RedactUrl(a.target)));
      return kExitUsage;
    }
    if (!a.log_level.empty()) {
      if (absl::Status s = ApplyLogLevelFlag(a.log_level); !s.ok()) {
        PrintError(a.command, s);
        return kExitUsage;
      }
    }
    absl::StatusOr<ReplicaOptions> r = ReplicaOptionsFromUrl(*url);
    if (!r.ok()) {
      PrintError(a.command, r.status());
      return kExitUsage;
    }
    replicas->push_back(*std::move(r));
    *what = RedactUrl(*url);
    return std::nullopt;
  }
  absl::StatusOr<Config> config = LoadCommandConfig(a.config, a.log_level);
  if (!config.ok()) {
    PrintError(a.command, config.status());
    return kExitUsage;
  }
  absl::StatusOr<ResolvedDb> db = FindDatabase(*config, a.target);
  if (!db.ok()) {
    PrintError(a.command, db.status());  // names the database and the configured ones
    return kExitFailure;
  }
  *what = db->options.path;
  absl::StatusOr<std::vector<ReplicaOptions>> picked = PickReplicas(db->options, a.replica);
  if (!picked.ok()) {
    PrintError(a.command, picked.status());
    return kExitFailure;
  }
  *replicas = *std::move(picked);
  return std::nullopt;
}

absl::Status ListReplica(const ReplicaOptions& options, const std::vector<int>& levels,
                         std::vector<Row>* rows) {
  std::string name = options.name.empty() ? options.type : options.name;
  std::string where = fmt::format("replica {} ({})", name, RedactUrl(options.Describe()));
  absl::StatusOr<std::unique_ptr<ReplicaClient>> client = NewReplicaClient(options);
  if (!client.ok()) return Annotate(client.status(), where);
  absl::StatusOr<std::vector<Lineage>> lineages = (*client)->ListLineages();
  if (!lineages.ok()) return Annotate(lineages.status(), where + ": list lineages");
  for (Lineage lineage : *lineages) {
    for (int level : levels) {
      absl::StatusOr<std::vector<TxFileInfo>> files = (*client)->List(lineage, level);
      if (!files.ok()) {
        return Annotate(files.status(),
                        fmt::format("{}: list {}/{}", where, LineageName(lineage), level));
      }
      for (TxFileInfo& f : *files) rows->push_back({name, std::move(f)});
    }
  }
  // Litestream's files at the same place are not rows (they have no lineage or
  // levels); a Litestream user looking for their backups is told where they went.
  absl::StatusOr<LitestreamPresence> theirs = FindLitestream(**client);
  if (theirs.ok() && theirs->any()) {
    LogInfo(
        "the replica also holds Litestream's files: restore reads them; this list shows "
        "litesync's own",
        {{"replica", RedactUrl(options.Describe())}, {"litestream", theirs->versions()}});
  }
  return absl::OkStatus();
}

std::string FormatTable(const std::vector<Row>& rows) {
  size_t width = 7;  // "REPLICA"
  for (const Row& r : rows) width = std::max(width, r.replica.size());
  std::string out =
      fmt::format("{:<{}}  {:<16}  {:>5}  {:<16}  {:<16}  {:>12}  {}\n", "REPLICA", width,
                  "LINEAGE", "LEVEL", "MIN_TXID", "MAX_TXID", "SIZE", "CREATED");
  for (const Row& r : rows) {
    const TxFileInfo& f = r.info;
    out += fmt::format("{:<{}}  {:<16}  {:>5}  {:<16}  {:<16}  {:>12}  {}\n", r.replica, width,
                       LineageName(f.lineage), f.level, TxidString(f.min_txid),
                       TxidString(f.max_txid), f.size, FormatTimestamp(f.timestamp));
  }
  return out;
}

// One object per line inside the array, so the output also reads well to grep.
std::string FormatJson(const std::vector<Row>& rows) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const TxFileInfo& f = rows[i].info;
    Json o = {{"replica", rows[i].replica},
              {"lineage", LineageName(f.lineage)},
              {"level", f.level},
              {"min_txid", TxidString(f.min_txid)},
              {"max_txid", TxidString(f.max_txid)},
              {"size", f.size},
              {"created", FormatTimestamp(f.timestamp)},
              {"path", f.RelativePath()}};
    out += (i == 0 ? "\n  " : ",\n  ") + DumpJson(o, -1);
  }
  return out + (rows.empty() ? "]\n" : "\n]\n");
}

int Run(const std::vector<std::string>& argv, bool snapshots) {
  Args a;
  if (std::optional<int> code = ParseArgs(argv, snapshots, &a)) return *code;
  std::vector<ReplicaOptions> replicas;
  std::string what;
  if (std::optional<int> code = Resolve(a, &replicas, &what)) return *code;
  for (ReplicaOptions& r : replicas) {
    if (absl::Status s = ApplyAgeIdentityFiles(a.age_identity_files, &r); !s.ok()) {
      PrintError(a.command, s);
      return kExitUsage;
    }
  }
  std::vector<Row> rows;
  int code = kExitOk;
  for (const ReplicaOptions& r : replicas) {
    std::vector<Row> found;
    if (absl::Status s = ListReplica(r, a.levels, &found); !s.ok()) {
      PrintError(a.command, Annotate(s, what));
      code = kExitFailure;
      continue;
    }
    // Replicas keep the config's order; within one, files by lineage, level, TXIDs.
    std::sort(found.begin(), found.end(), [](const Row& x, const Row& y) {
      return std::tie(x.info.lineage, x.info.level, x.info.min_txid, x.info.max_txid) <
             std::tie(y.info.lineage, y.info.level, y.info.min_txid, y.info.max_txid);
    });
    rows.insert(rows.end(), found.begin(), found.end());
  }
  if (code == kExitOk || !rows.empty()) {
    std::fputs((a.json ? FormatJson(rows) : FormatTable(rows)).c_str(), stdout);
  }
  return code;
}

}  // namespace

int RunSnapshotsCommand(const std::vector<std::string>& args) { return Run(args, true); }
int RunLtxCommand(const std::vector<std::string>& args) { return Run(args, false); }

}  // namespace litesync
