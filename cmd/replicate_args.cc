#include "cmd/replicate_args.h"

#include "base/log.h"
#include "base/secret.h"
#include "fmt/format.h"

#include "cmd/command.h"
#include "cmd/flags.h"
#include "replica/storage/backend.h"

namespace litesync::replicate_args {
namespace {

constexpr char kUsage[] =
    "Usage:\n"
    "  litesync replicate [-config PATH] [-exec \"CMD ARGS\" | -once [-force-snapshot]]\n"
    "                     [-restore-if-db-not-exists] [-log-level LEVEL]\n"
    "  litesync replicate [-exec \"CMD ARGS\"] [-log-level LEVEL] DBPATH REPLICA-URL...\n"
    "\n"
    "Runs in the foreground and replicates every database of the config (or the one\n"
    "given on the command line) to its replicas until SIGINT or SIGTERM. Then it stops\n"
    "the heartbeat, makes a final sync of every database and exits 0 when that sync\n"
    "succeeded, 1 when it did not; a second signal exits at once without waiting.\n"
    "SIGHUP reloads the config: added databases start, removed ones stop after a final\n"
    "sync, changed ones restart; a config with an error is logged and the old one keeps\n"
    "running. dirs: folders are rescanned every few seconds and on SIGHUP.\n"
    "\n"
    "With -exec, CMD runs as a child (/bin/sh -c \"CMD ARGS\") once replication has\n"
    "started; SIGINT/SIGTERM are forwarded to it, and when it exits litesync makes the\n"
    "final sync and exits with the child's status (128+N if killed by signal N), or 1\n"
    "when the child exited 0 but the final sync failed.\n"
    "\n"
    "A REPLICA-URL is a directory, file:///backups/app, or\n"
    "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&force-path-style=true\n"
    "(S3 credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).\n"
    "\n"
    "Before starting it checks that each database's directory exists, that an existing\n"
    "database file is a SQLite database, and that each replica can be reached. A database\n"
    "that does not exist yet is replicated once the application creates it. While running,\n"
    "`litesync status` reads the daemon's state over a control socket ($LITESYNC_SOCKET,\n"
    "else in $RUNTIME_DIRECTORY or $XDG_RUNTIME_DIR, else next to the config; one it\n"
    "cannot create is a warning, not an error);\n"
    "`addr:` in the config adds an HTTP endpoint (/healthz, /status, /metrics).\n"
    "\n"
    "With -once, it syncs every database once (the same final sync as at shutdown) and\n"
    "exits: 0 when every database reached its replicas, 1 otherwise. -force-snapshot\n"
    "(with -once) makes that sync a full snapshot of every database.\n"
    "\n"
    "With -restore-if-db-not-exists (or restore-if-db-not-exists: true on a database),\n"
    "a database file that does not exist is first restored from its replicas (the\n"
    "newest state, as `litesync restore -if-db-not-exists -if-replica-exists` does); a\n"
    "replica that holds nothing starts it empty; a restore that fails stops the start.\n"
    "\n"
    "Exit status: 0 after a clean shutdown, 1 on a runtime failure (including a failed\n"
    "final sync), 2 on a usage or config error.\n";

// The databases of the config at `config_flag` (or the default one).
std::optional<int> FromConfig(const std::string& config_flag, Setup* setup) {
  absl::StatusOr<Config> config = LoadCommandConfig(config_flag, setup->log_level);
  if (!config.ok()) {
    PrintError("replicate", config.status());
    return kExitUsage;
  }
  setup->config = *std::move(config);
  // The config's exec:, unless -exec is given (or -once, which runs no application).
  if (setup->exec.empty() && !setup->once) setup->exec = setup->config.exec;
  absl::StatusOr<std::vector<ResolvedDb>> dbs = ResolveDatabases(setup->config);
  if (!dbs.ok()) {
    PrintError("replicate", dbs.status());
    return kExitUsage;
  }
  setup->dbs = *std::move(dbs);
  if (setup->dbs.empty() && setup->config.dirs.empty()) {
    PrintError("replicate", fmt::format("{}: no databases", setup->config.path));
    return kExitUsage;
  }
  return std::nullopt;
}

// DBPATH REPLICA-URL...: one database, no config.
std::optional<int> FromArguments(const std::vector<std::string>& pos, Setup* setup) {
  if (pos.size() < 2) {
    PrintError("replicate",
               fmt::format("{} needs a replica URL after it (or use -config)", pos[0]));
    return kExitUsage;
  }
  if (!setup->log_level.empty()) {
    if (absl::Status s = ApplyLogLevelFlag(setup->log_level); !s.ok()) {
      PrintError("replicate", s);
      return kExitUsage;
    }
  }
  setup->from_config = false;
  setup->restore.from_config = false;
  setup->restore.replica_urls.assign(pos.begin() + 1, pos.end());
  ResolvedDb db;
  db.options.path = NormalizePath(pos[0]);
  db.source = "";
  for (size_t i = 1; i < pos.size(); ++i) {
    absl::StatusOr<ReplicaOptions> r = ReplicaOptionsFromUrl(pos[i]);
    if (!r.ok()) {
      PrintError("replicate", r.status());  // the message names the (redacted) URL
      return kExitUsage;
    }
    db.options.replicas.push_back(*std::move(r));
  }
  setup->config.dbs.push_back(db.options);
  setup->config.db_sources.push_back("command line");
  setup->dbs.push_back(std::move(db));
  return std::nullopt;
}

}  // namespace

std::optional<int> Parse(const std::vector<std::string>& args, Setup* setup) {
  std::string config_flag;
  FlagSet flags(kUsage);
  flags.String("config", &config_flag, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  flags.String("exec", &setup->exec, "\"CMD ARGS\"",
               "run CMD (with /bin/sh -c) as a child; stop and exit with its status when "
               "it exits");
  flags.String("log-level", &setup->log_level, "LEVEL", kLogLevelFlagHelp);
  flags.Bool("once", &setup->once,
             "sync every database once, then exit: 0 when every sync succeeded, 1 otherwise");
  flags.Bool("force-snapshot", &setup->force_snapshot,
             "with -once: write a full snapshot of every database");
  flags.Bool("restore-if-db-not-exists", &setup->restore.all,
             "restore each missing database from its replicas before replicating it");
  // Litestream's: -once then also deletes what retention no longer keeps. litesync's
  // -once always does (its sync runs maintenance), so the flag changes nothing.
  bool enforce_retention = false;
  flags.Bool("enforce-retention", &enforce_retention,
             "with -once: apply retention too (accepted for Litestream's scripts; -once always "
             "does)");
  if (std::optional<int> code = flags.ParseOrExit(args, "litesync replicate")) return code;
  if (enforce_retention && !setup->once) {
    PrintError("replicate", "-enforce-retention needs -once (as in Litestream)");
    return kExitUsage;
  }
  setup->restore.log_level = setup->log_level;
  if (setup->force_snapshot && !setup->once) {
    PrintError("replicate", "-force-snapshot needs -once (as in Litestream)");
    return kExitUsage;
  }
  if (setup->once && flags.IsSet("exec")) {
    PrintError("replicate", "give either -once or -exec, not both");
    return kExitUsage;
  }
  if (flags.IsSet("exec") && setup->exec.empty()) {
    PrintError("replicate", "-exec needs a command");
    return kExitUsage;
  }
  if (flags.args().empty()) return FromConfig(config_flag, setup);
  if (flags.IsSet("config")) {
    PrintError("replicate", "give either -config or DBPATH REPLICA-URL, not both");
    return kExitUsage;
  }
  return FromArguments(flags.args(), setup);
}

bool SpillsToScratch(const Setup& setup) {
  for (const ResolvedDb& db : setup.dbs) {
    if (AnySpillsToScratch(db.options.replicas)) return true;
  }
  for (const DirOptions& dir : setup.config.dirs) {
    if (AnySpillsToScratch(dir.replicas)) return true;
  }
  return false;
}

}  // namespace litesync::replicate_args
