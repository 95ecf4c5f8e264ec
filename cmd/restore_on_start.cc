#include "cmd/restore_on_start.h"

#include <sys/stat.h>

#include <algorithm>

#include "base/log.h"
#include "fmt/format.h"

#include "cmd/restore.h"

namespace litesync {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool Due(const RestoreOnStart& how, const Config& config, const std::string& path) {
  return how.all || std::find(config.restore_if_missing.begin(), config.restore_if_missing.end(),
                              path) != config.restore_if_missing.end();
}

}  // namespace

absl::Status RestoreMissingDatabases(const RestoreOnStart& how, const Config& config,
                                     const std::vector<ResolvedDb>& dbs) {
  for (const ResolvedDb& db : dbs) {
    const std::string& path = db.options.path;
    if (!Due(how, config, path)) continue;
    if (FileExists(path)) {
      LogInfo("database exists; not restoring it", {{"db", path}});
      continue;
    }
    // The restore command itself, so the start-up restore is the one users run
    // by hand: same replica choice, same checks, same messages.
    std::vector<std::string> args = {"-if-db-not-exists", "-if-replica-exists"};
    if (!how.log_level.empty()) args.insert(args.end(), {"-log-level", how.log_level});
    if (how.from_config) {
      args.insert(args.end(), {"-config", config.path, path});
    } else {
      if (how.replica_urls.empty()) continue;
      args.insert(args.end(), {"-o", path, how.replica_urls[0]});
    }
    LogInfo("database missing: restoring it before replication", {{"db", path}});
    if (int code = RunRestoreCommand(args); code != 0) {
      return absl::UnavailableError(fmt::format(
          "restore {} before replication failed (see the restore error above); fix the "
          "replica, or start without -restore-if-db-not-exists to begin with an empty database",
          path));
    }
    if (!FileExists(path)) {
      LogInfo("no backup in the replica: starting with an empty database", {{"db", path}});
    }
  }
  return absl::OkStatus();
}

}  // namespace litesync
