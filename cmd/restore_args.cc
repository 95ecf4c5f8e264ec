#include "cmd/restore_args.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "base/log.h"
#include "base/secret.h"
#include "fmt/format.h"

#include "cmd/age_flags.h"
#include "cmd/command.h"
#include "cmd/databases.h"
#include "cmd/flags.h"
#include "cmd/restore.h"
#include "replica/storage/backend.h"

namespace litesync {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

absl::StatusOr<uint64_t> ParseTxid(std::string_view s) {
  // One rule, Litestream's: the 16 hex digits of tx file names. "10" read
  // as decimal here but as hex in a file name would restore the wrong transaction.
  uint64_t v = 0;
  bool ok = s.size() == 16;
  for (char c : s) ok = ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!ok || !absl::SimpleHexAtoi(AbslView(s), &v)) {
    return absl::InvalidArgumentError(
        fmt::format("-txid must be 16 hex digits as in tx file names, like 00000000000004d2 "
                    "(got \"{}\")",
                    s));
  }
  if (v == 0) return absl::InvalidArgumentError("-txid must be at least 0000000000000001");
  return v;
}

absl::StatusOr<absl::Time> ParseRestoreTime(std::string_view s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err)) {
    return absl::InvalidArgumentError(fmt::format(
        "-timestamp must be an RFC 3339 time like 2025-03-04T10:20:00Z (got \"{}\")", s));
  }
  return t;
}

namespace restore_args {
namespace {

constexpr char kUsage[] =
    "Usage:\n"
    "  litesync restore [-config PATH] [flags] DBPATH\n"
    "  litesync restore -o OUT [flags] REPLICA\n"
    "\n"
    "Rebuilds a database from its replica: the newest state, or the last transaction at\n"
    "or before -timestamp, or exactly -txid. With a config, DBPATH names a database of it\n"
    "(the newest of its replicas is used unless -replica picks one) and the output is\n"
    "DBPATH itself unless -o says otherwise. REPLICA restores without a config and\n"
    "needs -o.\n"
    "\n"
    "DBPATH or REPLICA: the argument is a REPLICA when it is a URL (file:///backups/app,\n"
    "s3://bucket/prefix?endpoint=...) or an existing directory (/backups/app: a file\n"
    "replica); anything else is a DBPATH, looked up in the config.\n"
    "\n"
    "Restore never overwrites: it refuses when the output (or a leftover OUT-wal) exists.\n"
    "Every file is verified before the result is moved into place; on any error or on\n"
    "SIGINT/SIGTERM nothing is left at the output path.\n"
    "\n"
    "-integrity-check quick|full runs SQLite's quick_check or integrity_check on the\n"
    "result before it is moved into place (default none: every page is already verified\n"
    "by its checksum). -json prints one JSON object on stdout: the plan with -dry-run,\n"
    "else {\"status\": \"restored\"|\"skipped\"|\"failed\", \"output\", \"txid\", ...}.\n"
    "\n"
    "For a container's start-up (restore when there is something to restore):\n"
    "  litesync restore -config /etc/litesync.yml -if-db-not-exists -if-replica-exists "
    "/data/app.db\n"
    "\n"
    "Exit status: 0 restored (or nothing to do under -if-*), 1 on failure, 2 on a usage\n"
    "or config error.\n";

}  // namespace

std::optional<int> Parse(const std::vector<std::string>& argv, Args* a, RestoreTarget* target) {
  FlagSet flags(kUsage);
  flags.String("config", &a->config, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  flags.String("o", &a->output, "OUT", "where to write the database (default: DBPATH itself)");
  flags.String("timestamp", &a->timestamp, "TIME",
               "restore the last transaction at or before this RFC 3339 time "
               "(2025-03-04T10:20:00Z)");
  flags.String("txid", &a->txid, "TXID",
               "restore exactly this transaction: 16 hex digits, like 00000000000004d2");
  flags.Bool("if-db-not-exists", &a->if_db_not_exists,
             "do nothing (exit 0) when the output already exists");
  flags.Bool("if-replica-exists", &a->if_replica_exists,
             "do nothing (exit 0) when the replica holds no backup");
  flags.Bool("dry-run", &a->dry_run, "print the restore plan; write nothing");
  flags.Int("parallelism", &a->parallelism, "N", "files downloaded at once");
  flags.String("replica", &a->replica, "NAME", "restore from this replica of the config");
  flags.String("integrity-check", &a->integrity_check, "none|quick|full",
               "run PRAGMA quick_check (quick) or integrity_check (full) on the restored file "
               "before it is moved into place");
  flags.Bool("json", &a->json,
             "print the plan (-dry-run) or the result as one JSON object on stdout");
  flags.String("log-level", &a->log_level, "LEVEL", kLogLevelFlagHelp);
  AddAgeIdentityFlag(flags, &a->age_identity_files);
  // Litestream's restore flags that litesync does not have (v0.3's and v0.5's).
  flags.Foreign("generation",
                "Litestream v0.3's generation is chosen by time in litesync: give a -timestamp "
                "inside it (-dry-run shows the generation a restore uses)");
  flags.Foreign("index",
                "Litestream v0.3's WAL index is chosen by time in litesync: give the -timestamp "
                "of that point (-dry-run shows what a restore uses)");
  flags.Foreign("force",
                "litesync never restores over an existing database: remove it (and its -wal and "
                "-shm) first, or restore to another -o");
  for (const char* follow : {"f", "follow-interval"}) {
    flags.Foreign(follow,
                  "litesync has no follow mode: each restore is one point in time; run it again "
                  "for a newer state");
  }
  if (std::optional<int> code = flags.ParseOrExit(argv, "litesync restore")) return code;
  auto usage_error = [](const std::string& msg) {
    PrintError("restore", msg + " (see litesync restore -h)");
    return kExitUsage;
  };
  if (flags.args().size() != 1) {
    return usage_error(flags.args().empty() ? "needs a DBPATH or a REPLICA"
                                            : "takes one DBPATH or REPLICA");
  }
  a->target_arg = flags.args()[0];
  a->config_set = flags.IsSet("config");
  if (!ParseIntegrityCheck(a->integrity_check, &a->check)) {
    return usage_error(fmt::format("-integrity-check must be none, quick or full (got \"{}\")",
                                   a->integrity_check));
  }
  if (!a->timestamp.empty() && !a->txid.empty()) {
    return usage_error("give either -timestamp or -txid, not both");
  }
  if (!a->timestamp.empty()) {
    absl::StatusOr<absl::Time> t = ParseRestoreTime(a->timestamp);
    if (!t.ok()) return usage_error(StatusMessage(t.status()));
    target->timestamp = *t;
  }
  if (!a->txid.empty()) {
    absl::StatusOr<uint64_t> t = ParseTxid(a->txid);
    if (!t.ok()) return usage_error(StatusMessage(t.status()));
    target->txid = *t;
  }
  if (a->parallelism < 1 || a->parallelism > 64) {
    return usage_error(
        fmt::format("-parallelism must be between 1 and 64 (got {})", a->parallelism));
  }
  return std::nullopt;
}

std::optional<int> Resolve(const Args& a, std::vector<ReplicaOptions>* replicas,
                           std::string* output) {
  if (std::optional<std::string> url = ReplicaArgument(a.target_arg)) {
    if (a.config_set || !a.replica.empty()) {
      PrintError("restore", fmt::format("-config and -replica apply to a DBPATH, not to a replica "
                                        "(\"{}\" is a URL or a directory)",
                                        RedactUrl(a.target_arg)));
      return kExitUsage;
    }
    if (a.output.empty()) {
      PrintError("restore", fmt::format("-o OUT is required when restoring from a replica (\"{}\" "
                                        "is a URL or a directory)",
                                        RedactUrl(a.target_arg)));
      return kExitUsage;
    }
    if (!a.log_level.empty()) {
      if (absl::Status s = ApplyLogLevelFlag(a.log_level); !s.ok()) {
        PrintError("restore", s);
        return kExitUsage;
      }
    }
    absl::StatusOr<ReplicaOptions> r = ReplicaOptionsFromUrl(*url);
    if (!r.ok()) {
      PrintError("restore", r.status());  // the message names the (redacted) URL
      return kExitUsage;
    }
    replicas->push_back(*std::move(r));
    *output = NormalizePath(a.output);
    return std::nullopt;
  }
  absl::StatusOr<Config> config = LoadCommandConfig(a.config, a.log_level);
  if (!config.ok()) {
    PrintError("restore", config.status());
    return kExitUsage;
  }
  absl::StatusOr<ResolvedDb> db = FindDatabase(*config, a.target_arg);
  if (!db.ok()) {
    PrintError("restore", db.status());
    return kExitUsage;
  }
  absl::StatusOr<std::vector<ReplicaOptions>> picked = PickReplicas(db->options, a.replica);
  if (!picked.ok()) {
    PrintError("restore", picked.status());
    return kExitUsage;
  }
  *replicas = *std::move(picked);
  *output = NormalizePath(a.output.empty() ? db->options.path : a.output);
  return std::nullopt;
}

}  // namespace restore_args
}  // namespace litesync
