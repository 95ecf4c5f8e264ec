// litesync's entry point: the command table. Each command parses its own flags;
// exit codes are 0 (clean), 1 (runtime failure), 2 (usage or config error).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include <curl/curl.h>

#include "cmd/command.h"
#include "cmd/daemon_records.h"
#include "cmd/databases.h"
#include "cmd/flags.h"
#include "cmd/heartbeat_command.h"
#include "cmd/list_command.h"
#include "cmd/monitor.h"
#include "cmd/replicate.h"
#include "cmd/restore.h"
#include "cmd/status_command.h"
#include "cmd/sync_command.h"
#include "cmd/version.h"

namespace litesync {
namespace {

constexpr char kUsage[] =
    "litesync continuously replicates SQLite databases to a directory or S3-compatible\n"
    "storage, restores them to any point within retention, and sends one heartbeat while\n"
    "every database is being replicated.\n"
    "\n"
    "Usage:\n"
    "  litesync <command> [flags] [arguments]\n"
    "\n"
    "Commands:\n"
    "  replicate   replicate the config's databases until SIGINT/SIGTERM (the daemon)\n"
    "  restore     rebuild a database from its replica (newest, -timestamp or -txid)\n"
    "  status      what is healthy, what is behind, and why\n"
    "  sync        make the running daemon sync a database now (-wait: until replicated)\n"
    "  databases   list the config's databases and their replicas\n"
    "  snapshots   list the snapshots a replica holds\n"
    "  ltx         list the tx files a replica holds (-level N|all)\n"
    "  heartbeat   evaluate the heartbeat rule now; -send pings\n"
    "  monitor     judge replicas from storage alone, from another machine (-once)\n"
    "  version     print the litesync and SQLite versions\n"
    "\n"
    "Examples:\n"
    "  litesync replicate -config /etc/litesync.yml\n"
    "  litesync replicate /data/app.db file:///backups/app\n"
    "  litesync restore -config /etc/litesync.yml -o /tmp/app.db /data/app.db\n"
    "  litesync restore -o /tmp/app.db 's3://bucket/app?endpoint=http://127.0.0.1:9000'\n"
    "\n"
    "The config is -config PATH, else $LITESYNC_CONFIG, else /etc/litesync.yml (every key\n"
    "is described in etc/litesync.yml). `litesync <command> -h` shows a command's flags.\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage or config error.\n";

constexpr char kHeartbeatUsage[] =
    "Usage: litesync heartbeat [-config PATH] [-send]\n"
    "\n"
    "Evaluates every heartbeat target of the config now, from the running daemon's sync\n"
    "records (or, without a daemon, from the replicas), and prints whether it would ping\n"
    "and, when not, which databases are behind and why. URLs are shown redacted.\n"
    "With -send, pings each target that would ping, once.\n"
    "\n"
    "Exit status: 0 when every target would ping (and, with -send, was answered 2xx);\n"
    "1 otherwise or when no heartbeat is configured; 2 on a usage or config error.\n";

int RunVersion(const std::vector<std::string>& args) {
  FlagSet flags("Usage: litesync version\n\nPrints the litesync and linked SQLite versions.\n");
  if (std::optional<int> code = flags.ParseOrExit(args, "litesync version")) return *code;
  std::printf("%s\n", VersionString().c_str());
  return kExitOk;
}

int RunHeartbeat(const std::vector<std::string>& args) {
  std::string config_flag;
  bool send = false;
  FlagSet flags(kHeartbeatUsage);
  flags.String("config", &config_flag, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  flags.Bool("send", &send, "ping each target that would ping");
  if (std::optional<int> code = flags.ParseOrExit(args, "litesync heartbeat")) return *code;
  if (!flags.args().empty()) {
    PrintError("heartbeat", fmt::format("unexpected argument \"{}\"", flags.args()[0]));
    return kExitUsage;
  }
  absl::StatusOr<Config> config = LoadCommandConfig(config_flag, "");
  if (!config.ok()) {
    PrintError("heartbeat", config.status());
    return kExitUsage;
  }
  std::string note;
  RecordList records(ReadSyncRecords(*config, &note));
  std::fprintf(stderr, "%s\n", note.c_str());
  return RunHeartbeatCommand(*config, records, send);
}

// status parses its own flags (and skips -config); main loads the config for it.
int RunStatus(const std::vector<std::string>& args) {
  std::string config_flag;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "-help" || a == "--help") return RunStatusCommand(Config{}, args);
    if ((a == "-config" || a == "--config") && i + 1 < args.size()) config_flag = args[i + 1];
    if (a == "-no-expand-env" || a == "--no-expand-env") *NoExpandEnvFlag() = true;
    for (std::string_view p : {"-config=", "--config="}) {
      if (a.rfind(p, 0) == 0) config_flag = a.substr(p.size());
    }
  }
  absl::StatusOr<Config> config = LoadCommandConfig(config_flag, "");
  if (!config.ok()) {
    PrintError("status", config.status());
    return kExitUsage;
  }
  return RunStatusCommand(*config, args);
}

struct Command {
  std::string_view name;
  int (*run)(const std::vector<std::string>& args);
};

constexpr Command kCommands[] = {
    {"replicate", RunReplicateCommand}, {"restore", RunRestoreCommand}, {"status", RunStatus},
    {"databases", RunDatabasesCommand}, {"heartbeat", RunHeartbeat},    {"version", RunVersion},
    {"snapshots", RunSnapshotsCommand}, {"ltx", RunLtxCommand},         {"sync", RunSyncCommand},
    {"monitor", RunMonitorCommand},
};

// Litestream's commands litesync does not have, each with what to use instead
// (its scripts then fail with a reason, not "unknown command").
struct ForeignCommand {
  std::string_view name;
  std::string_view instead;
};
constexpr ForeignCommand kForeignCommands[] = {
    {"list", "`litesync status` lists the databases the daemon replicates, with their state"},
    {"info",
     "`litesync version` prints the version; `litesync status -json` has the daemon's start "
     "time (started_at) and its databases"},
    {"start",
     "litesync replicates every database of its config: add it there and send SIGHUP "
     "(systemctl reload litesync)"},
    {"stop",
     "litesync replicates every database of its config: remove it there and send SIGHUP "
     "(systemctl reload litesync); the database gets a final sync"},
    {"register", "add the database to the config and send SIGHUP (systemctl reload litesync)"},
    {"unregister",
     "remove the database from the config and send SIGHUP (systemctl reload litesync)"},
    {"reset",
     "litesync keeps no local state to reset: a database that no longer matches its replica "
     "starts a new lineage with a full snapshot by itself"},
    {"generations",
     "`litesync snapshots` lists litesync's files; `litesync restore -dry-run` shows what a "
     "restore of Litestream's files would use"},
    {"wal",
     "`litesync ltx` lists litesync's files; `litesync restore -dry-run` shows what a restore "
     "of Litestream's files would use"},
};

const Command* FindCommand(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

int Dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string name = argv[0];
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  if (name == "-h" || name == "-help" || name == "--help" || name == "help") {
    if (name == "help" && !args.empty() && FindCommand(args[0]) != nullptr) {
      return FindCommand(args[0])->run({"-h"});
    }
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (name == "-version" || name == "--version") name = "version";
  if (const Command* c = FindCommand(name)) return c->run(args);
  for (const ForeignCommand& f : kForeignCommands) {
    if (f.name == name) {
      std::fprintf(stderr, "litesync: \"%s\" is Litestream's, not litesync's: %.*s\n", name.c_str(),
                   static_cast<int>(f.instead.size()), f.instead.data());
      return kExitUsage;
    }
  }
  std::fprintf(stderr, "litesync: unknown command \"%s\"\n\n%s", name.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace
}  // namespace litesync

int main(int argc, char** argv) {
  // Before any thread: libcurl's global state, and no death by SIGPIPE on a closed
  // socket (control endpoint clients, S3 and heartbeat connections).
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ::signal(SIGPIPE, SIG_IGN);
  int code = litesync::Dispatch(std::vector<std::string>(argv + 1, argv + argc));
  curl_global_cleanup();
  return code;
}
