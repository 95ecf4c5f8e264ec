#include "cmd/replicate.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/handles.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/secret.h"
#include "base/status.h"
#include "base/sync_record.h"
#include "fmt/format.h"
#include <sqlite3.h>

#include "cmd/child_process.h"
#include "cmd/command.h"
#include "cmd/control_server.h"
#include "cmd/db_set.h"
#include "cmd/fd_limit.h"
#include "cmd/flags.h"
#include "cmd/replicate_loop.h"
#include "cmd/restore_on_start.h"
#include "cmd/version.h"
#include "heartbeat/heartbeat.h"
#include "replica/engine/replicator.h"
#include "replica/sqlite/db_reader.h"
#include "replica/storage/backend.h"
#include "replica/storage/replica_client.h"

namespace litesync {
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

int ExitCodeFor(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsFailedPrecondition(s) ? kExitUsage : kExitFailure;
}

std::string Prefixed(const std::string& source, const std::string& msg) {
  return source.empty() ? msg : fmt::format("{}: {}", source, msg);
}

// Each replica must be constructible and, unless the failure looks transient
// (an S3 server briefly unreachable), answer a Ping.
absl::Status CheckReplicas(const ResolvedDb& db) {
  // "litesync.yml:4: dbs[0].path" -> "litesync.yml:4: dbs[0]": the message is about a replica.
  std::string source = db.source;
  if (source.size() > 5 && source.compare(source.size() - 5, 5, ".path") == 0) {
    source.resize(source.size() - 5);
  }
  for (const ReplicaOptions& r : db.options.replicas) {
    std::string where = RedactUrl(r.Describe());
    absl::StatusOr<std::unique_ptr<ReplicaClient>> client = NewReplicaClient(r);
    if (!client.ok()) {
      return absl::Status(
          client.status().code(),
          Prefixed(source, fmt::format("replica {}: {}", where, StatusMessage(client.status()))));
    }
    absl::Status s = (*client)->Ping();
    if (s.ok()) continue;
    if (const Backend* backend = FindBackend(r.type); backend && backend->transient(s)) {
      LogWarn("replica unreachable at start; replication will retry",
              {{"db", db.options.path}, {"replica", where}, {"err", s}});
      continue;
    }
    return absl::Status(s.code(),
                        Prefixed(source, fmt::format("replica {}: {}", where, StatusMessage(s))));
  }
  return absl::OkStatus();
}

// Litestream's `addr: ":9090"` listens on every interface; litesync's on loopback
// only. Says so, and how to listen on every interface, when the host was left out.
void LogLoopbackAddr(const std::string& addr, const std::string& bound) {
  if (addr.empty() || addr.front() != ':') return;
  LogInfo("addr without a host listens on loopback only",
          {{"addr", addr},
           {"bound", bound},
           {"all_interfaces", fmt::format("set addr: \"0.0.0.0{}\" (or \"[::]{}\")", addr, addr)}});
}

struct Setup {
  Config config;
  std::vector<ResolvedDb> dbs;
  bool from_config = true;
  std::string exec;             // -exec: the application's command line
  bool once = false;            // -once: sync every database once, then exit
  bool force_snapshot = false;  // -force-snapshot: that sync is a full snapshot
  RestoreOnStart restore;       // -restore-if-db-not-exists
  std::string log_level;        // -log-level, kept over the config's on reload
};

// Flags and positional arguments to a Setup; an exit code when there is nothing to run.
std::optional<int> ParseSetup(const std::vector<std::string>& args, Setup* setup) {
  std::string config_flag;
  std::string& exec = setup->exec;
  std::string& log_level = setup->log_level;
  FlagSet flags(kUsage);
  flags.String("config", &config_flag, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  flags.String("exec", &exec, "\"CMD ARGS\"",
               "run CMD (with /bin/sh -c) as a child; stop and exit with its status when "
               "it exits");
  flags.String("log-level", &log_level, "LEVEL", kLogLevelFlagHelp);
  flags.Bool("once", &setup->once,
             "sync every database once, then exit: 0 when every sync succeeded, 1 otherwise");
  flags.Bool("force-snapshot", &setup->force_snapshot,
             "with -once: write a full snapshot of every database");
  flags.Bool("restore-if-db-not-exists", &setup->restore.all,
             "restore each missing database from its replicas before replicating it");
  if (std::optional<int> code = flags.ParseOrExit(args, "litesync replicate")) return code;
  setup->restore.log_level = log_level;
  if (setup->force_snapshot && !setup->once) {
    PrintError("replicate", "-force-snapshot needs -once (as in Litestream)");
    return kExitUsage;
  }
  if (setup->once && flags.IsSet("exec")) {
    PrintError("replicate", "give either -once or -exec, not both");
    return kExitUsage;
  }
  if (flags.IsSet("exec") && exec.empty()) {
    PrintError("replicate", "-exec needs a command");
    return kExitUsage;
  }
  const std::vector<std::string>& pos = flags.args();
  if (pos.empty()) {
    absl::StatusOr<Config> config = LoadCommandConfig(config_flag, log_level);
    if (!config.ok()) {
      PrintError("replicate", config.status());
      return kExitUsage;
    }
    setup->config = *std::move(config);
    // The config's exec:, unless -exec is given (or -once, which runs no application).
    if (exec.empty() && !setup->once) exec = setup->config.exec;
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
  if (flags.IsSet("config")) {
    PrintError("replicate", "give either -config or DBPATH REPLICA-URL, not both");
    return kExitUsage;
  }
  if (pos.size() < 2) {
    PrintError("replicate",
               fmt::format("{} needs a replica URL after it (or use -config)", pos[0]));
    return kExitUsage;
  }
  if (!log_level.empty()) {
    if (absl::Status s = ApplyLogLevelFlag(log_level); !s.ok()) {
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

// True when a replica of the config may spill downloads to the scratch directory.
bool SpillsToScratch(const Setup& setup) {
  for (const ResolvedDb& db : setup.dbs) {
    if (AnySpillsToScratch(db.options.replicas)) return true;
  }
  for (const DirOptions& dir : setup.config.dirs) {
    if (AnySpillsToScratch(dir.replicas)) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckDatabaseFile(const ResolvedDb& db) {
  const std::string& path = db.options.path;
  std::string dir = std::filesystem::path(path).parent_path().string();
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::FailedPreconditionError(Prefixed(
          db.source, fmt::format("directory {} does not exist (create it, or fix the path)", dir)));
    }
    return ErrnoStatus(errno, Prefixed(db.source, fmt::format("directory {}", dir)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        Prefixed(db.source, fmt::format("{} is not a directory", dir)));
  }
  absl::Status header = CheckSqliteHeader(path);
  if (header.ok() || absl::IsNotFound(header)) return absl::OkStatus();  // created on first use
  return absl::Status(header.code(), Prefixed(db.source, std::string(header.message().data(),
                                                                     header.message().size())));
}

int RunReplicateCommand(const std::vector<std::string>& args) {
  const sigset_t signals = BlockSignals();  // before any thread exists
  Setup setup;
  if (std::optional<int> code = ParseSetup(args, &setup)) return *code;
  for (ResolvedDb& db : setup.dbs) db.options.force_snapshot = setup.force_snapshot;

  if (std::string bug = CheckSqliteVersion(); !bug.empty()) {
    LogError("refusing to start", {{"err", bug}});
    return kExitFailure;
  }
  LogInfo("litesync starting", {{"version", LITESYNC_VERSION},
                                {"sqlite", sqlite3_libversion()},
                                {"config", setup.from_config ? setup.config.path : "(none)"},
                                {"dbs", setup.dbs.size()}});
  for (const std::string& note : setup.config.notes) {
    LogInfo("litestream key read differently", {{"note", note}});
  }
  if (SpillsToScratch(
          setup)) {  // S3 downloads over the memory limit spill to the scratch directory
    if (absl::Status s = CheckScratchDir(ScratchDir()); !s.ok()) {
      LogError("refusing to start", {{"err", s}});
      return kExitUsage;
    }
  }
  // ~7 descriptors per database: 1,000 databases do not fit a soft limit of 1,024.
  FdBudget fd_budget(RaiseFdLimit());
  // Replica pings can take a client timeout each: a signal meanwhile ends the start.
  absl::Status checked;
  std::string checked_db;
  RunInterruptible(
      [&] {
        for (const ResolvedDb& db : setup.dbs) {
          checked = CheckDatabaseFile(db);
          if (checked.ok()) checked = CheckReplicas(db);
          checked_db = db.options.path;
          if (!checked.ok()) return;
        }
      },
      [](int sig) {
        LogError("start-up interrupted", {{"signal", SignalName(sig)}});
        ::_exit(kExitFailure);
      });
  if (!checked.ok()) {
    LogError("refusing to start", {{"db", checked_db}, {"err", checked}});
    return ExitCodeFor(checked);
  }

  SyncRegistry registry;
  ReplicatorOptions replicator_options;
  replicator_options.final_sync_deadline = setup.config.shutdown_sync_timeout;
  Replicator replicator(&registry, Clock::Real(), replicator_options);
  std::unique_ptr<Heartbeat> heartbeat;
  if (!setup.config.heartbeat.targets.empty()) {
    heartbeat = std::make_unique<Heartbeat>(setup.config.heartbeat, &registry, Clock::Real());
  }
  // The control socket is bound before replication starts: a second daemon on the
  // same config finds the first one answering there and refuses to start.
  std::unique_ptr<ControlServer> control;
  if (setup.from_config) {
    absl::StatusOr<std::unique_ptr<ControlServer>> started = ControlServer::Start(
        ControlServerOptionsFromConfig(setup.config), &registry, heartbeat.get(), Clock::Real(),
        [&replicator](const std::string& path, SyncDone done) {
          return replicator.RequestSync(path, std::move(done));
        });
    if (!started.ok()) {
      LogError("refusing to start", {{"err", Annotate(started.status(), "control endpoint")}});
      return kExitFailure;
    }
    control = *std::move(started);
    LogInfo("control endpoint listening",
            {{"socket", control->socket_path()}, {"addr", control->tcp_address()}});
    LogLoopbackAddr(setup.config.addr, control->tcp_address());
  }

  // The restore handles SIGINT/SIGTERM itself (nothing is left half-written).
  absl::Status restored = RestoreMissingDatabases(setup.restore, setup.config, setup.dbs);
  if (!restored.ok()) {
    LogError("refusing to start", {{"err", restored}});
    if (control) control->Stop();
    return kExitFailure;
  }

  replicator.Start();
  DbSet dbs(&replicator, &fd_budget);
  if (absl::Status s = dbs.Apply(setup.dbs); !s.ok()) {  // Apply logged which database
    LogError("refusing to start", {{"err", s}});
    (void)replicator.Stop();
    if (control) control->Stop();
    return ExitCodeFor(s);
  }
  if (setup.dbs.empty()) {
    LogWarn("no databases yet: waiting for the dirs: folders to hold one",
            {{"config", setup.config.path}});
  }
  if (heartbeat && !setup.once) heartbeat->Start();

  // -exec: the application starts once replication runs, so its first write is shipped.
  std::unique_ptr<ChildProcess> child;
  bool exec_failed = false;
  if (!setup.exec.empty()) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> started = ChildProcess::Start(setup.exec);
    if (started.ok()) {
      child = *std::move(started);
      LogInfo("application started", {{"pid", child->pid()}, {"exec", setup.exec}});
    } else {
      LogError("application not started", {{"exec", setup.exec}, {"err", started.status()}});
      exec_failed = true;
    }
  }
  LoopEnd end;
  if (setup.once) {
    LogInfo("replicate -once: syncing every database once");
  } else if (!exec_failed) {
    DaemonLoop loop;
    loop.signals = &signals;
    loop.dbs = &dbs;
    loop.config = &setup.config;
    loop.from_config = setup.from_config;
    loop.log_level_flag = setup.log_level;
    loop.child = child.get();
    end = RunDaemonLoop(loop);
  }
  LogField why = end.child_code    ? LogField("application_exit", *end.child_code)
                 : end.signal != 0 ? LogField("signal", SignalName(end.signal))
                 : setup.once      ? LogField("reason", "-once")
                                   : LogField("reason", "application not started");
  LogInfo("litesync stopping",
          {why, {"shutdown_sync_timeout", setup.config.shutdown_sync_timeout}});
  if (heartbeat) heartbeat->Stop();  // no ping once shutdown has begun
  absl::Status final_sync;
  RunInterruptible([&] { final_sync = replicator.Stop(); },
                   [](int second) {
                     LogError("second signal: exiting without waiting for the final sync",
                              {{"signal", SignalName(second)}});
                     ::_exit(kExitFailure);
                   });
  if (control) control->Stop();
  int code = exec_failed ? kExitFailure : end.child_code.value_or(kExitOk);
  if (!final_sync.ok()) {  // the replicator logged each failed database and why
    LogError("litesync stopped", {{"final_sync", "failed"}});
    return code == kExitOk ? kExitFailure : code;
  }
  LogInfo("litesync stopped", {{"final_sync", "ok"}, {"exit", code}});
  return code;
}

}  // namespace litesync
