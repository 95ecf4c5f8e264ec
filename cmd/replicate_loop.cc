#include "cmd/replicate_loop.h"

#include <ctime>
#include <set>

#include "absl/time/clock.h"

#include "cmd/command.h"
#include "cmd/databases.h"
#include "cmd/replicate.h"
#include "replica/log.h"

namespace litesync {
namespace {

// Rescans dirs: folders and applies what they hold now. A folder that cannot be
// listed (removed, unmounted) changes nothing: its databases keep replicating.
void Rescan(const DaemonLoop& loop, std::string* last_error) {
  absl::StatusOr<std::vector<ResolvedDb>> want = ResolveDatabases(*loop.config);
  if (!want.ok()) {
    std::string err = StatusMessage(want.status());
    if (err != *last_error) LogWarn("dir rescan failed; nothing changed", {{"err", err}});
    *last_error = err;
    return;
  }
  last_error->clear();
  // A found file that is not (yet) a database, e.g. one still being written, waits
  // for a later scan; dbs: entries were checked at start or reload.
  std::set<std::string> listed;
  for (const DbOptions& db : loop.config->dbs) listed.insert(db.path);
  std::vector<ResolvedDb> ok;
  for (ResolvedDb& db : *want) {
    // Files already replicated were checked when they were added.
    if (listed.count(db.options.path) == 0 && !loop.dbs->Running(db.options.path) &&
        !CheckDatabaseFile(db).ok()) {
      continue;
    }
    ok.push_back(std::move(db));
  }
  (void)loop.dbs->Apply(ok);  // Apply logs each failure
}

}  // namespace

void ReloadConfig(const DaemonLoop& loop) {
  if (!loop.from_config) {
    LogWarn("sighup ignored: databases come from the command line, no config to reload");
    return;
  }
  LogInfo("reloading config", {{"config", loop.config->path}});
  absl::StatusOr<Config> config = LoadConfig(loop.config->path);
  absl::StatusOr<std::vector<ResolvedDb>> want =
      config.ok() ? ResolveDatabases(*config)
                  : absl::StatusOr<std::vector<ResolvedDb>>(config.status());
  absl::Status checked = want.status();
  if (want.ok()) {
    for (const ResolvedDb& db : *want) {
      if (checked = CheckDatabaseFile(db); !checked.ok()) break;
    }
  }
  if (!checked.ok()) {
    LogError("config reload failed; keeping the running config",
             {{"config", loop.config->path}, {"err", checked}});
    return;
  }
  if (config->addr != loop.config->addr) {
    LogWarn("config reload: addr changes take effect after a restart",
            {{"addr", loop.config->addr}});
  }
  if (loop.log_level_flag.empty() && config->log_level) SetLogLevel(*config->log_level);
  // The heartbeat and control endpoint keep the settings they started with.
  config->heartbeat = loop.config->heartbeat;
  config->addr = loop.config->addr;
  *loop.config = *std::move(config);
  absl::Status s = loop.dbs->Apply(*want);
  LogInfo("config reloaded", {{"dbs", loop.dbs->size()}, {"ok", s.ok()}});
}

LoopEnd RunDaemonLoop(const DaemonLoop& loop) {
  // A short poll: the child's exit and the rescan timer are noticed without SIGCHLD.
  const struct timespec poll = {0, 100 * 1000 * 1000};
  absl::Time next_scan = absl::Now() + loop.rescan_every;
  std::string scan_error;
  while (true) {
    int sig = sigtimedwait(loop.signals, nullptr, &poll);
    if (sig == SIGHUP) {
      ReloadConfig(loop);
      if (!loop.config->dirs.empty()) next_scan = absl::Now() + loop.rescan_every;
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      if (loop.child == nullptr) return LoopEnd{.signal = sig, .child_code = std::nullopt};
      LogInfo("forwarding signal to the application",
              {{"signal", SignalName(sig)}, {"pid", loop.child->pid()}});
      loop.child->Signal(sig);
      continue;
    }
    if (loop.child != nullptr) {
      if (std::optional<int> code = loop.child->Poll()) {
        LogInfo("application exited", {{"pid", loop.child->pid()}, {"code", *code}});
        return LoopEnd{.signal = 0, .child_code = code};
      }
    }
    if (!loop.config->dirs.empty() && absl::Now() >= next_scan) {
      Rescan(loop, &scan_error);
      next_scan = absl::Now() + loop.rescan_every;
    }
  }
}

}  // namespace litesync
