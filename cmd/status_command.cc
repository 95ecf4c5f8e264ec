#include "cmd/status_command.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/secret.h"
#include "base/status.h"
#include "fmt/format.h"

#include "cmd/control_http.h"
#include "cmd/control_server.h"
#include "replica/storage/replica_head.h"

namespace litesync {
namespace {

constexpr std::string_view kUsage =
    "usage: litesync status -config litesync.yml [-json] [DBPATH]\n"
    "  Shows, per database and replica, whether replication is healthy, how far\n"
    "  behind it is and why, then the heartbeat targets. Asks the running daemon\n"
    "  over its control socket; without one, reads the files and replicas.\n"
    "  -json  print the /status JSON document instead of a table\n"
    "The socket is <config dir>/.<config name>.sock; LITESYNC_SOCKET overrides it.\n"
    "Exit status: 0 when every database is ok, 1 otherwise, 2 on usage errors.\n";

struct StatusArgs {
  bool json = false;
  bool help = false;
  std::string db;
};

absl::StatusOr<StatusArgs> ParseArgs(const std::vector<std::string>& args) {
  StatusArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-json" || a == "--json") {
      out.json = true;
    } else if (a == "-h" || a == "-help" || a == "--help") {
      out.help = true;
    } else if (a == "-config" || a == "--config") {
      if (++i == args.size()) return absl::InvalidArgumentError(a + ": missing value");
    } else if (a.rfind("-config=", 0) == 0 || a.rfind("--config=", 0) == 0) {
      continue;
    } else if (!a.empty() && a[0] == '-') {
      return absl::InvalidArgumentError(fmt::format("unknown flag {}", a));
    } else if (!out.db.empty()) {
      return absl::InvalidArgumentError(fmt::format("more than one database ({}, {})", out.db, a));
    } else {
      out.db = a;
    }
  }
  return out;
}

std::string Normalize(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

SyncRecord ReadReplica(const std::string& db, bool db_exists, int64_t wal_size,
                       const ReplicaOptions& options, const ReplicaClientFactory& new_client,
                       absl::Time now) {
  SyncRecord r;
  r.db = db;
  r.database_missing = !db_exists;
  r.wal_size = wal_size;
  r.replica = RedactUrl(options.Describe());
  absl::StatusOr<std::unique_ptr<ReplicaClient>> client = new_client(options);
  absl::StatusOr<std::optional<TxFileInfo>> newest =
      client.ok() ? NewestTxFile(**client) : client.status();
  if (client.ok()) r.replica = RedactUrl((*client)->Describe());
  if (!newest.ok()) {
    r.last_error = Annotate(newest.status(), "read replica " + r.replica);
    r.last_error_time = now;
  } else if (newest->has_value()) {
    r.last_success = (*newest)->timestamp;
    r.lineage = (*newest)->lineage;
    r.replicated_txid = (*newest)->max_txid;
  }
  return r;
}

// In direct mode a heartbeat row says what the daemon would do; nothing is sent.
HeartbeatRow DirectHeartbeatRow(const HeartbeatTarget& t, const StatusReport& report) {
  HeartbeatRow h;
  h.url = RedactUrl(t.url.reveal(), /*mask_path=*/true);
  for (const DbStatus& d : report.databases) {
    bool watched = t.databases.empty() ||
                   std::find(t.databases.begin(), t.databases.end(), d.path) != t.databases.end();
    if (watched && !d.healthy) h.reasons.push_back(fmt::format("{}: {}", d.path, d.reason));
  }
  h.withholding = !h.reasons.empty();
  return h;
}

int Finish(const StatusReport& report, bool json, size_t width, std::string* out) {
  *out += json ? RenderJson(report) : RenderTable(report, width);
  bool all_ok = !report.databases.empty();
  for (const DbStatus& d : report.databases) all_ok = all_ok && d.state == DbState::kOk;
  return all_ok ? 0 : 1;
}

}  // namespace

StatusReport ReadStatusDirect(const Config& config, const ReplicaClientFactory& new_client,
                              absl::Time now, absl::Duration interval) {
  std::vector<SyncRecord> records;
  for (const DbOptions& db : config.dbs) {
    struct stat st;
    bool exists = ::stat(db.path.c_str(), &st) == 0;
    int64_t wal_size = ::stat((db.path + "-wal").c_str(), &st) == 0 ? st.st_size : 0;
    for (const ReplicaOptions& replica : db.replicas) {
      records.push_back(ReadReplica(db.path, exists, wal_size, replica, new_client, now));
    }
  }
  StatusReport report = BuildStatus(records, {}, now, interval);
  report.source = "direct";
  for (DbStatus& d : report.databases) {  // only the daemon knows these
    if (!d.last_sync) {                   // an empty (or unreadable) replica: no position at all
      d.lineage.reset();
      d.replicated_txid.reset();
    }
    d.local_txid.reset();
    d.behind_txns.reset();
    d.behind_bytes.reset();
    d.lag_seconds.reset();
    d.sync_count.reset();
    d.sync_error_count.reset();
    d.bytes_written.reset();
    d.snapshot_count.reset();
  }
  for (const HeartbeatTarget& t : config.heartbeat.targets) {
    report.heartbeat.push_back(DirectHeartbeatRow(t, report));
  }
  for (const DirOptions& dir : config.dirs) {
    report.notes.push_back(
        fmt::format("dir {}: its databases are listed only by the running daemon", dir.dir));
  }
  return report;
}

int RunStatusCommand(const Config& config, const std::vector<std::string>& args,
                     const StatusCommandEnv& env, std::string* out, std::string* err) {
  absl::StatusOr<StatusArgs> parsed = ParseArgs(args);
  if (!parsed.ok()) {
    *err += fmt::format("status: {}\n{}", MessageOf(parsed.status()), kUsage);
    return 2;
  }
  if (parsed->help) {
    *out += kUsage;
    return 0;
  }
  std::string socket;
  StatusReport report;
  absl::StatusOr<HttpResult> answer =
      HttpGetFirstUnix(env.socket_path.empty() ? ControlSocketCandidates(config)
                                               : std::vector<std::string>{env.socket_path},
                       "/status", &socket, env.timeout);
  if (answer.ok() && answer->code == 200) {
    absl::StatusOr<StatusReport> daemon = ParseStatusJson(answer->body);
    if (!daemon.ok()) {
      *err += fmt::format("status: the daemon on {} answered an invalid status: {}\n", socket,
                          MessageOf(daemon.status()));
      return 1;
    }
    report = *std::move(daemon);
    report.notes.insert(report.notes.begin(), fmt::format("daemon running (socket {})", socket));
  } else {
    std::string note;
    if (!answer.ok() &&
        (absl::IsNotFound(answer.status()) || absl::IsUnavailable(answer.status()))) {
      note = fmt::format("no daemon running (socket {})", socket);
    } else {
      note = fmt::format(
          "no daemon reachable (socket {}: {})", socket,
          answer.ok() ? fmt::format("HTTP {}", answer->code) : MessageOf(answer.status()));
    }
    report = ReadStatusDirect(config, env.new_client, env.clock->Now(), HealthInterval(config));
    report.notes.insert(report.notes.begin(),
                        note + ": read the database files and replicas directly");
  }

  if (!parsed->db.empty()) {
    const std::string want = Normalize(parsed->db);
    std::erase_if(report.databases, [&](const DbStatus& d) {
      return d.path != parsed->db && Normalize(d.path) != want;
    });
    if (report.databases.empty()) {
      *err += fmt::format("status: {}: not a database of {}\n", parsed->db, config.path);
      return 2;
    }
    report.healthy = std::all_of(report.databases.begin(), report.databases.end(),
                                 [](const DbStatus& d) { return d.healthy; });
  }
  return Finish(report, parsed->json, env.width, out);
}

int RunStatusCommand(const Config& config, const std::vector<std::string>& args) {
  StatusCommandEnv env;
  env.new_client = [](const ReplicaOptions& o) { return NewReplicaClient(o); };
  env.clock = Clock::Real();
  struct winsize ws {};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    env.width = ws.ws_col;
  std::string out, err;
  int code = RunStatusCommand(config, args, env, &out, &err);
  std::fputs(out.c_str(), stdout);
  std::fputs(err.c_str(), stderr);
  std::fflush(stdout);
  return code;
}

}  // namespace litesync
