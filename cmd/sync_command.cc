#include "cmd/sync_command.h"

#include <chrono>
#include <cstdio>

#include "base/status.h"
#include "fmt/format.h"

#include "cmd/command.h"
#include "cmd/control_http.h"
#include "cmd/control_server.h"
#include "cmd/flags.h"
#include "cmd/json.h"
#include "replica/format/tx_file_info.h"

namespace litesync {
namespace {

constexpr char kUsage[] =
    "Usage: litesync sync [-config PATH] [-wait] [-timeout SECONDS] [-socket PATH] [-json] "
    "DBPATH\n"
    "\n"
    "Asks the running `litesync replicate` of the config to sync DBPATH now, through its\n"
    "control socket (the one `litesync status` finds). Without -wait it returns once the\n"
    "daemon has the request; with -wait, once every replica of DBPATH acknowledged what\n"
    "was committed when the command started, or with the replica that failed and why.\n"
    "\n"
    "Exit status: 0 done; 1 the sync failed, timed out, or no daemon answers; 2 on a\n"
    "usage or config error, or a database the daemon does not replicate.\n";

struct SyncFlags {
  std::string config;
  std::string socket;
  bool wait = false;
  int64_t timeout = 30;
  bool json = false;
};

// The daemon's answer to POST /sync on the first socket where one answers.
absl::StatusOr<HttpResult> Ask(const std::vector<std::string>& sockets, const std::string& body,
                               absl::Duration timeout, std::string* used) {
  absl::StatusOr<HttpResult> first = absl::NotFoundError("no control socket");
  for (size_t i = 0; i < sockets.size(); ++i) {
    absl::StatusOr<HttpResult> r = HttpPostUnix(sockets[i], "/sync", body, timeout);
    if (r.ok()) {
      *used = sockets[i];
      return r;
    }
    if (i == 0) first = std::move(r);
  }
  return first;
}

int Report(const SyncFlags& f, const HttpResult& answer, int64_t elapsed_ms) {
  absl::StatusOr<Json> j = ParseJson(answer.body);
  if (!j.ok() || !j->is_object()) {
    PrintError("sync", fmt::format("the daemon answered HTTP {}: {}", answer.code, answer.body));
    return kExitFailure;
  }
  if (answer.code != 200) {
    std::string err = j->value("error", answer.body);
    PrintError("sync", err);
    return answer.code == 404 || answer.code == 400 ? kExitUsage : kExitFailure;
  }
  (*j)["duration_ms"] = elapsed_ms;
  if (f.json) {
    std::printf("%s\n", DumpJson(*j).c_str());
    return kExitOk;
  }
  std::printf("db_path: %s\n", j->value("path", "").c_str());
  std::printf("status: %s\n", j->value("status", "").c_str());
  std::printf("txid: %s\n", TxidString(j->value("txid", uint64_t{0})).c_str());
  if (f.wait) {
    std::printf("replica_txid: %s\n", TxidString(j->value("replicated_txid", uint64_t{0})).c_str());
  }
  std::printf("duration_ms: %lld\n", static_cast<long long>(elapsed_ms));
  return kExitOk;
}

}  // namespace

int RunSyncCommand(const std::vector<std::string>& args) {
  SyncFlags f;
  FlagSet flags(kUsage);
  flags.String("config", &f.config, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  flags.String("socket", &f.socket, "PATH", "the daemon's control socket (default: the config's)");
  flags.Bool("wait", &f.wait, "wait until every replica acknowledged the sync");
  flags.Int("timeout", &f.timeout, "SECONDS", "how long -wait waits");
  flags.Bool("json", &f.json, "print the result as JSON");
  if (std::optional<int> code = flags.ParseOrExit(args, "litesync sync")) return *code;
  if (flags.args().size() != 1) {
    PrintError("sync", flags.args().empty() ? "give the database path (litesync sync /data/app.db)"
                                            : "give one database path");
    return kExitUsage;
  }
  if (f.timeout <= 0) {
    PrintError("sync", "-timeout must be a positive number of seconds");
    return kExitUsage;
  }
  std::vector<std::string> sockets;
  if (!f.socket.empty()) {
    sockets.push_back(f.socket);
  } else {
    absl::StatusOr<Config> config = LoadCommandConfig(f.config, "");
    if (!config.ok()) {
      PrintError("sync", config.status());
      return kExitUsage;
    }
    sockets = ControlSocketCandidates(*config);
  }
  Json req;
  req["path"] = NormalizePath(flags.args()[0]);
  req["wait"] = f.wait;
  req["timeout"] = f.timeout;
  // The daemon answers within the timeout; the margin covers the exchange itself.
  absl::Duration client_timeout = absl::Seconds(f.wait ? f.timeout + 5 : 10);
  std::string used;
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<HttpResult> answer = Ask(sockets, DumpJson(req, -1), client_timeout, &used);
  int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (!answer.ok()) {
    PrintError("sync", fmt::format("no litesync daemon answers on {} ({}); is `litesync "
                                   "replicate` running with this config?",
                                   sockets.empty() ? "(no socket)" : sockets[0],
                                   StatusMessage(answer.status())));
    return kExitFailure;
  }
  return Report(f, *answer, elapsed_ms);
}

}  // namespace litesync
