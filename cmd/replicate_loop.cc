#include "cmd/replicate_loop.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <set>

#include "absl/time/clock.h"
#include "base/log.h"

#include "cmd/command.h"
#include "cmd/databases.h"
#include "cmd/replicate.h"

namespace litesync {
namespace {

// What the last rescan saw, to skip listing folders that cannot have changed.
struct ScanMemo {
  std::vector<std::optional<absl::Time>> mtimes;  // per dirs: entry; nullopt: must list
  bool retry = true;  // a found file was not (yet) a database, or the scan failed
  absl::Time listed = absl::InfinitePast();
  std::string last_error;
};

// Even unchanged-looking folders are listed this often (a file system whose
// timestamps or clock cannot be trusted costs at most this delay).
constexpr absl::Duration kListAtLeastEvery = absl::Seconds(30);

// A dir's modification time when it vouches that the dir holds what it held
// when that time was recorded: not for recursive dirs (a subdirectory's entries
// do not touch it), and only once it is a few seconds old, since timestamps are
// coarse (a file created in the same tick as a listing would leave it unchanged).
std::optional<absl::Time> SettledMtime(const DirOptions& d, absl::Time now) {
  struct stat st;
  if (d.recursive || ::stat(d.dir.c_str(), &st) != 0) return std::nullopt;
  absl::Time mtime = absl::TimeFromTimespec(st.st_mtim);
  if (now - mtime < absl::Seconds(3)) return std::nullopt;
  return mtime;
}

// Rescans dirs: folders and applies what they hold now; a folder whose entries
// cannot have changed since the last scan is not listed again. A folder that
// cannot be listed (removed, unmounted) changes nothing: its databases keep
// replicating.
void Rescan(const DaemonLoop& loop, ScanMemo* memo) {
  std::vector<std::optional<absl::Time>> mtimes;
  absl::Time now = absl::Now();
  for (const DirOptions& d : loop.config->dirs) mtimes.push_back(SettledMtime(d, now));
  bool unchanged = !memo->retry && now - memo->listed < kListAtLeastEvery &&
                   mtimes == memo->mtimes &&
                   std::all_of(mtimes.begin(), mtimes.end(), [](auto& t) { return t.has_value(); });
  if (unchanged) return;
  memo->mtimes = mtimes;  // taken before listing: a later change moves them
  memo->listed = now;
  memo->retry = true;
  absl::StatusOr<std::vector<ResolvedDb>> want = ResolveDatabases(*loop.config);
  if (!want.ok()) {
    std::string err = StatusMessage(want.status());
    if (err != memo->last_error) LogWarn("dir rescan failed; nothing changed", {{"err", err}});
    memo->last_error = err;
    return;
  }
  memo->last_error.clear();
  memo->retry = false;
  // A found file that is not (yet) a database, e.g. one still being written, waits
  // for a later scan; dbs: entries were checked at start or reload.
  std::set<std::string> listed;
  for (const DbOptions& db : loop.config->dbs) listed.insert(db.path);
  std::vector<ResolvedDb> ok;
  for (ResolvedDb& db : *want) {
    // Files already replicated were checked when they were added.
    if (listed.count(db.options.path) == 0 && !loop.dbs->Running(db.options.path)) {
      if (absl::Status s = CheckDatabaseFile(db); !s.ok()) {
        LogDebug("dir rescan: not a database yet", {{"db", db.options.path}, {"err", s}});
        memo->retry = true;  // its content, not the folder, will change: list again
        continue;
      }
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
  if (config->shutdown_sync_timeout != loop.config->shutdown_sync_timeout) {
    LogWarn("config reload: shutdown-sync-timeout changes take effect after a restart",
            {{"shutdown_sync_timeout", loop.config->shutdown_sync_timeout}});
  }
  if (loop.log_level_flag.empty() && config->log_level) SetLogLevel(*config->log_level);
  // The heartbeat and control endpoint keep the settings they started with.
  config->heartbeat = loop.config->heartbeat;
  config->addr = loop.config->addr;
  config->shutdown_sync_timeout = loop.config->shutdown_sync_timeout;
  *loop.config = *std::move(config);
  absl::Status s = loop.dbs->Apply(*want);
  LogInfo("config reloaded", {{"dbs", loop.dbs->size()}, {"ok", s.ok()}});
}

LoopEnd RunDaemonLoop(const DaemonLoop& loop) {
  absl::Time next_scan = absl::Now() + loop.rescan_every;
  ScanMemo memo;
  while (true) {
    // With a child, a short poll notices its exit without SIGCHLD; otherwise the
    // loop sleeps until the next rescan (signals end the wait at once).
    absl::Duration wait = loop.child != nullptr ? absl::Milliseconds(100) : absl::Seconds(1);
    if (!loop.config->dirs.empty()) {
      wait = std::clamp(next_scan - absl::Now(), absl::Milliseconds(1), wait);
    }
    const struct timespec poll = absl::ToTimespec(wait);
    int sig = sigtimedwait(loop.signals, nullptr, &poll);
    if (sig == SIGHUP) {
      ReloadConfig(loop);
      memo = ScanMemo{};  // the dirs may differ: list them all at the next rescan
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
      Rescan(loop, &memo);
      next_scan = absl::Now() + loop.rescan_every;
    }
  }
}

}  // namespace litesync
