#include "cmd/restore.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "base/fs.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/secret.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "cmd/age_flags.h"
#include "cmd/command.h"
#include "cmd/databases.h"
#include "cmd/flags.h"
#include "cmd/restore_choice.h"
#include "cmd/restore_output.h"
#include "cmd/restore_progress.h"
#include "replica/compat/litestream.h"
#include "replica/crypto/age.h"
#include "replica/crypto/age_replica_client.h"
#include "replica/restore/restore.h"
#include "replica/storage/backend.h"
#include "replica/storage/replica_client.h"

namespace litesync {
namespace {

using restore_choice::Candidate;
using restore_choice::Choose;
using restore_choice::FormatPlan;
using restore_choice::Outcome;

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

struct Args {
  std::string config, output, timestamp, txid, replica, log_level;
  std::vector<std::string> age_identity_files;
  std::string integrity_check = "none";
  IntegrityCheck check = IntegrityCheck::kNone;
  bool if_db_not_exists = false, if_replica_exists = false, dry_run = false, json = false;
  int64_t parallelism = 8;
  std::string target_arg;  // DBPATH or REPLICA
  bool config_set = false;
};

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Moves the verified `staging` file to `output` unless something appeared there.
absl::Status Publish(const std::string& staging, const std::string& output) {
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, output.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) {
      return ErrnoStatus(errno, fmt::format("move the restored file to {}", output));
    }
    // A filesystem without RENAME_NOREPLACE: link(2) fails when the target exists.
    if (::link(staging.c_str(), output.c_str()) != 0) {
      return ErrnoStatus(errno, fmt::format("move the restored file to {}", output));
    }
    ::unlink(staging.c_str());
  }
  return fs::FsyncParentDir(output);
}

std::optional<int> ParseArgs(const std::vector<std::string>& argv, Args* a, RestoreTarget* target) {
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

// The replicas to restore from and the output path; an exit code on error.
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
  std::string names;
  for (const ReplicaOptions& r : db->options.replicas) {
    std::string name = r.name.empty() ? r.type : r.name;
    names += (names.empty() ? "" : ", ") + name;
    if (a.replica.empty() || a.replica == name) replicas->push_back(r);
  }
  if (replicas->empty()) {
    PrintError("restore", fmt::format("{} has no replica named \"{}\" (its replicas: {})",
                                      db->options.path, a.replica, names));
    return kExitUsage;
  }
  *output = NormalizePath(a.output.empty() ? db->options.path : a.output);
  return std::nullopt;
}

}  // namespace

absl::StatusOr<uint64_t> ParseTxid(std::string_view s) {
  // One rule, Litestream's: the 16 hex digits of tx file names (issue 18). "10" read
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

namespace {

// Litestream v0.3 replicas written with `age:` hold age files with LZ4 inside:
// objects that start with age's header are decrypted (and authenticated) with the
// configured identities before decoding, or refused naming the object when there
// are none; others pass as stored.
absl::StatusOr<StoredObjectDecoder> AgeObjectDecoder(const ReplicaOptions& r) {
  std::vector<AgeIdentity> ids;
  if (!r.age.identities.empty()) {
    LS_ASSIGN_OR_RETURN(ids, AgeIdentitiesOf(r.age, r.Describe()));
  }
  auto shared = std::make_shared<const std::vector<AgeIdentity>>(std::move(ids));
  std::string where = RedactUrl(r.Describe());
  return StoredObjectDecoder(
      [shared, where](std::unique_ptr<ByteReader> stored,
                      const ObjectInfo& object) -> absl::StatusOr<std::unique_ptr<ByteReader>> {
        std::string head(kAgeMagic.size(), '\0');
        size_t got = 0;
        LS_RETURN_IF_ERROR(ReadFull(*stored, head.data(), head.size(), &got));
        head.resize(got);
        const bool age = LooksLikeAge(head);
        std::unique_ptr<ByteReader> whole = NewPrefixedReader(std::move(head), std::move(stored));
        if (!age) return whole;
        if (shared->empty()) {
          return absl::FailedPreconditionError(fmt::format(
              "{}/{}: an age-encrypted file (Litestream's age:): an age identity is needed; "
              "pass -age-identity-file FILE, or set age: identities in the config",
              where, object.key));
        }
        return AgeDecrypt(std::move(whole), *shared, where + "/" + object.key);
      });
}

}  // namespace

int RunRestoreCommand(const std::vector<std::string>& argv) {
  BlockSignals();  // ExecuteRestore runs threads; signals are handled below
  Args a;
  RestoreTarget target;
  if (std::optional<int> code = ParseArgs(argv, &a, &target)) return *code;
  std::vector<ReplicaOptions> replicas;
  std::string output;
  if (std::optional<int> code = Resolve(a, &replicas, &output)) return *code;
  for (ReplicaOptions& r : replicas) {
    if (absl::Status s = ApplyAgeIdentityFiles(a.age_identity_files, &r); !s.ok()) {
      PrintError("restore", s);
      return kExitUsage;
    }
  }
  if (AnySpillsToScratch(replicas)) {  // objects over the memory limit spill there
    if (absl::Status s = CheckScratchDir(ScratchDir()); !s.ok()) {
      PrintError("restore", s);
      return kExitUsage;
    }
  }

  // -json: one object on stdout whatever the outcome (errors also go to stderr).
  auto report = [&](const std::string& status, const std::string& reason,
                    const Candidate* c = nullptr, absl::Duration elapsed = absl::ZeroDuration()) {
    if (!a.json) return;
    RestoreReport r{.status = status,
                    .reason = reason,
                    .output = output,
                    .replica = c ? RedactUrl(c->client->Describe()) : "",
                    .plan = c ? &c->plan : nullptr,
                    .integrity_check = a.check,
                    .elapsed = elapsed};
    std::fputs(RestoreReportJson(r).c_str(), stdout);
  };
  if (Exists(output)) {
    if (a.if_db_not_exists) {
      LogInfo("restore skipped: the database exists", {{"output", output}});
      report("skipped", "the database exists");
      return kExitOk;
    }
    report("failed", "the output exists");
    PrintError("restore", fmt::format("{} already exists; restore never overwrites a database: "
                                      "remove it, or choose another -o",
                                      output));
    return kExitFailure;
  }
  if (Exists(output + "-wal")) {
    PrintError("restore", fmt::format("{}-wal exists (left by an earlier database); it would be "
                                      "applied over the restored file: remove it first",
                                      output));
    return kExitFailure;
  }

  std::optional<Candidate> best;
  absl::Status error;
  Outcome outcome = Outcome::kFailed;
  RunInterruptible([&] { outcome = Choose(replicas, target, &best, &error); },
                   [](int sig) {
                     PrintError("restore", fmt::format("interrupted by {}; nothing was written",
                                                       SignalName(sig)));
                     ::_exit(kExitFailure);
                   });
  switch (outcome) {
    case Outcome::kPlanned:
      break;
    case Outcome::kNoBackup:
      if (a.if_replica_exists) {
        LogInfo("restore skipped: the replica holds no backup", {{"output", output}});
        report("skipped", "the replica holds no backup");
        return kExitOk;
      }
      PrintError("restore", error);
      report("failed", StatusMessage(error));
      return kExitFailure;
    case Outcome::kFailed:
      PrintError("restore", error);
      report("failed", StatusMessage(error));
      return kExitFailure;
  }
  if (a.dry_run) {
    if (a.json) {
      report("planned", "", &*best);
    } else {
      std::fputs(FormatPlan(*best, output).c_str(), stdout);
    }
    return kExitOk;
  }

  std::filesystem::path out_path(output);
  std::error_code ec;
  std::filesystem::create_directories(out_path.parent_path(), ec);
  if (ec) {
    PrintError("restore", fmt::format("create directory {}: {}", out_path.parent_path().string(),
                                      ec.message()));
    return kExitFailure;
  }
  // Restored next to the output under a private name, then moved into place with
  // no-replace semantics: a file that appears at the output meanwhile is kept.
  const std::string staging =
      (out_path.parent_path() /
       fmt::format(".{}.restore-{}", out_path.filename().string(), getpid()))
          .string();
  const std::string staging_tmp = fmt::format("{}.tmp-{}", staging, getpid());
  RestoreOptions options;
  options.output_path = staging;
  options.parallelism = static_cast<int>(a.parallelism);
  options.client_factory = [&] { return NewReplicaClient(best->options); };
  RestoreProgressLine progress(STDERR_FILENO);  // a TTY only
  options.on_progress = [&](const RestoreProgress& p) { progress.Update(p); };
  absl::Time start = absl::Now();
  absl::Status s;
  RunInterruptible(
      [&] {
        if (best->litestream) {
          LitestreamRestoreOptions theirs;
          theirs.output_path = staging;
          theirs.client_factory = options.client_factory;
          absl::StatusOr<StoredObjectDecoder> decode = AgeObjectDecoder(best->options);
          if (!decode.ok()) {
            s = decode.status();
            return;
          }
          theirs.decode_stored = *std::move(decode);
          s = ExecuteLitestreamRestore(*best->client, *best->litestream, theirs);
        } else {
          s = ExecuteRestoreReplanning(*best->client, target, &best->plan, options);
        }
        progress.Clear();
      },
      [&](int sig) {
        progress.Clear();
        ::unlink(staging_tmp.c_str());
        ::unlink(staging.c_str());
        PrintError("restore", fmt::format("interrupted by {}; nothing was written to {}",
                                          SignalName(sig), output));
        ::_exit(kExitFailure);
      });
  if (s.ok()) s = CheckIntegrity(staging, a.check);
  if (s.ok()) s = Publish(staging, output);
  if (!s.ok()) {
    ::unlink(staging.c_str());
    PrintError("restore", Annotate(s, "restore " + output));
    report("failed", StatusMessage(Annotate(s, "restore " + output)));
    return kExitFailure;
  }
  if (best->litestream) {
    LogInfo("restore finished", {{"output", output},
                                 {"replica", RedactUrl(best->client->Describe())},
                                 {"from", DescribeLitestreamPlan(*best->litestream)},
                                 {"time", best->litestream->timestamp},
                                 {"files", best->litestream->objects.size()},
                                 {"bytes", best->litestream->bytes},
                                 {"elapsed", absl::Now() - start}});
    return kExitOk;
  }
  LogInfo("restore finished", {{"output", output},
                               {"replica", RedactUrl(best->client->Describe())},
                               {"lineage", LineageName(best->plan.lineage)},
                               {"txid", TxidString(best->plan.txid)},
                               {"time", best->plan.timestamp},
                               {"files", best->plan.files.size()},
                               {"bytes", best->plan.bytes},
                               {"integrity_check", IntegrityCheckName(a.check)},
                               {"elapsed", absl::Now() - start}});
  report("restored", "", &*best, absl::Now() - start);
  return kExitOk;
}

}  // namespace litesync
