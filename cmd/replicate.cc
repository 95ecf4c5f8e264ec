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
#include "cmd/replicate_args.h"
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

namespace {

using replicate_args::Setup;

// The SQLite library, then the start-up line and the config's notes. An exit
// code when litesync must not start.
std::optional<int> Announce(const Setup& setup) {
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
  return std::nullopt;
}

// Before anything runs: the scratch directory, every database file and replica.
// An exit code when litesync must not start.
std::optional<int> Preflight(const Setup& setup) {
  if (replicate_args::SpillsToScratch(setup)) {  // S3 downloads over the memory limit
    if (absl::Status s = CheckScratchDir(ScratchDir()); !s.ok()) {
      LogError("refusing to start", {{"err", s}});
      return kExitUsage;
    }
  }
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
  return std::nullopt;
}

// One run of the daemon, from the checked setup to the exit status.
class Daemon {
 public:
  Daemon(Setup& setup, FdBudget& fd_budget)
      : setup_(setup),
        fd_budget_(fd_budget),
        replicator_(&registry_, Clock::Real(), ReplicatorOptionsOf(setup)) {
    if (!setup_.config.heartbeat.targets.empty()) {
      heartbeat_ = std::make_unique<Heartbeat>(setup_.config.heartbeat, &registry_, Clock::Real());
    }
  }

  int Run(const sigset_t& signals) {
    if (std::optional<int> code = StartControl()) return *code;
    // The restore handles SIGINT/SIGTERM itself (nothing is left half-written).
    if (absl::Status s = RestoreMissingDatabases(setup_.restore, setup_.config, setup_.dbs);
        !s.ok()) {
      LogError("refusing to start", {{"err", s}});
      if (control_) control_->Stop();
      return kExitFailure;
    }
    replicator_.Start();
    DbSet dbs(&replicator_, &fd_budget_);
    if (absl::Status s = dbs.Apply(setup_.dbs); !s.ok()) {  // Apply logged which database
      LogError("refusing to start", {{"err", s}});
      (void)replicator_.Stop();
      if (control_) control_->Stop();
      return ExitCodeFor(s);
    }
    if (setup_.dbs.empty()) {
      LogWarn("no databases yet: waiting for the dirs: folders to hold one",
              {{"config", setup_.config.path}});
    }
    if (heartbeat_ && !setup_.once) heartbeat_->Start();
    // -exec: the application starts once replication runs, so its first write is shipped.
    StartApplication();
    LoopEnd end;
    if (setup_.once) {
      LogInfo("replicate -once: syncing every database once");
    } else if (!exec_failed_) {
      DaemonLoop loop;
      loop.signals = &signals;
      loop.dbs = &dbs;
      loop.config = &setup_.config;
      loop.from_config = setup_.from_config;
      loop.log_level_flag = setup_.log_level;
      loop.child = child_.get();
      end = RunDaemonLoop(loop);
    }
    return Stop(end);
  }

 private:
  static ReplicatorOptions ReplicatorOptionsOf(const Setup& setup) {
    ReplicatorOptions o;
    o.final_sync_deadline = setup.config.shutdown_sync_timeout;
    return o;
  }

  // The control socket is bound before replication starts: a second daemon on the
  // same config finds the first one answering there and refuses to start.
  std::optional<int> StartControl() {
    if (!setup_.from_config) return std::nullopt;
    absl::StatusOr<std::unique_ptr<ControlServer>> started = ControlServer::Start(
        ControlServerOptionsFromConfig(setup_.config), &registry_, heartbeat_.get(), Clock::Real(),
        [this](const std::string& path, SyncDone done) {
          return replicator_.RequestSync(path, std::move(done));
        });
    if (!started.ok()) {
      LogError("refusing to start", {{"err", Annotate(started.status(), "control endpoint")}});
      return kExitFailure;
    }
    control_ = *std::move(started);
    LogInfo("control endpoint listening",
            {{"socket", control_->socket_path()}, {"addr", control_->tcp_address()}});
    LogLoopbackAddr(setup_.config.addr, control_->tcp_address());
    return std::nullopt;
  }

  void StartApplication() {
    if (setup_.exec.empty()) return;
    absl::StatusOr<std::unique_ptr<ChildProcess>> started = ChildProcess::Start(setup_.exec);
    if (!started.ok()) {
      LogError("application not started", {{"exec", setup_.exec}, {"err", started.status()}});
      exec_failed_ = true;
      return;
    }
    child_ = *std::move(started);
    LogInfo("application started", {{"pid", child_->pid()}, {"exec", setup_.exec}});
  }

  // Stops the heartbeat, makes the final sync and stops the control endpoint;
  // the exit status.
  int Stop(const LoopEnd& end) {
    LogField why = end.child_code    ? LogField("application_exit", *end.child_code)
                   : end.signal != 0 ? LogField("signal", SignalName(end.signal))
                   : setup_.once     ? LogField("reason", "-once")
                                     : LogField("reason", "application not started");
    LogInfo("litesync stopping",
            {why, {"shutdown_sync_timeout", setup_.config.shutdown_sync_timeout}});
    if (heartbeat_) heartbeat_->Stop();  // no ping once shutdown has begun
    absl::Status final_sync;
    RunInterruptible([&] { final_sync = replicator_.Stop(); },
                     [](int second) {
                       LogError("second signal: exiting without waiting for the final sync",
                                {{"signal", SignalName(second)}});
                       ::_exit(kExitFailure);
                     });
    if (control_) control_->Stop();
    int code = exec_failed_ ? kExitFailure : end.child_code.value_or(kExitOk);
    if (!final_sync.ok()) {  // the replicator logged each failed database and why
      LogError("litesync stopped", {{"final_sync", "failed"}});
      return code == kExitOk ? kExitFailure : code;
    }
    LogInfo("litesync stopped", {{"final_sync", "ok"}, {"exit", code}});
    return code;
  }

  Setup& setup_;
  FdBudget& fd_budget_;
  SyncRegistry registry_;
  Replicator replicator_;
  std::unique_ptr<Heartbeat> heartbeat_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<ChildProcess> child_;
  bool exec_failed_ = false;
};

}  // namespace

int RunReplicateCommand(const std::vector<std::string>& args) {
  const sigset_t signals = BlockSignals();  // before any thread exists
  Setup setup;
  if (std::optional<int> code = replicate_args::Parse(args, &setup)) return *code;
  for (ResolvedDb& db : setup.dbs) db.options.force_snapshot = setup.force_snapshot;
  if (std::optional<int> code = Announce(setup)) return *code;
  // ~7 descriptors per database: 1,000 databases do not fit a soft limit of 1,024.
  FdBudget fd_budget(RaiseFdLimit());
  if (std::optional<int> code = Preflight(setup)) return *code;
  return Daemon(setup, fd_budget).Run(signals);
}

}  // namespace litesync
