#include "cmd/monitor.h"

#include <cstdio>
#include <memory>

#include "absl/time/time.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "fmt/format.h"
#include "monitor/verdict.h"

#include "cmd/age_flags.h"
#include "cmd/command.h"
#include "cmd/flags.h"
#include "cmd/monitor_report.h"
#include "cmd/monitor_serve.h"
#include "heartbeat/heartbeat_url.h"
#include "heartbeat/pinger.h"
#include "replica/storage/replica_client.h"

namespace litesync {
namespace {

constexpr char kUsage[] =
    "Usage: litesync monitor -once [-json] [-max-age D] [-verify] [-url PING-URL]\n"
    "                        [-age-identity-file FILE] REPLICA-URL...\n"
    "       litesync monitor -config monitor.yml [-log-level L] [-no-expand-env]\n"
    "\n"
    "-config runs the monitor as a daemon over the replicas of monitor.yml (etc/monitor.yml,\n"
    "docs/monitor-daemon.md): each judged every check interval, verified every\n"
    "verify-interval, down notifications at once, /metrics and /healthz on addr:;\n"
    "SIGHUP reads monitor.yml again (one with an error leaves the running one).\n"
    "\n"
    "Judges each replica from its storage alone, read-only (LIST and GET), from any\n"
    "machine: fresh when it holds data that was current at most -max-age ago (the\n"
    "newest tx file's capture time, or the liveness record an idle database's sidecar\n"
    "writes with liveness-interval, when the replica really holds what it claims).\n"
    "-verify also restores the latest state into a scratch file ($TMPDIR, else /tmp;\n"
    "removed after), checks the checksum chain and runs PRAGMA integrity_check.\n"
    "With -url, pings it (GET) only when every replica is fresh.\n"
    "\n"
    "REPLICA-URL: a directory, file:///path, or s3://bucket/prefix?endpoint=...; S3\n"
    "credentials come from the environment, as for restore.\n"
    "\n"
    "Exit status: 0 every replica fresh (and verified, with -verify); 1 any stale or\n"
    "not judged (each named, with the reason), or the ping failed; 2 usage error.\n";

struct Args {
  bool once = false;
  bool json = false;
  bool verify = false;
  std::string max_age = "10m";
  std::string url;
  std::string log_level;
  std::string config;  // -config: the daemon (cmd/monitor_serve.h)
  std::vector<std::string> age_identity_files;
  std::vector<std::string> replicas;
  absl::Duration max_age_d;
};

std::optional<int> ParseArgs(const std::vector<std::string>& argv, Args* a) {
  FlagSet flags(kUsage);
  flags.Bool("once", &a->once, "check every replica once and exit");
  flags.Bool("json", &a->json, "print the verdicts as one JSON object on stdout");
  flags.Bool("verify", &a->verify, "also restore each replica into a scratch file and check it");
  flags.String("max-age", &a->max_age, "D", "fresh when data was current at most D ago");
  flags.String("url", &a->url, "PING-URL",
               "ping this URL when every replica is fresh ({status}, {msg}, {ping} expand)");
  flags.String("log-level", &a->log_level, "LEVEL", kLogLevelFlagHelp);
  flags.String("config", &a->config, "FILE", "run as a daemon over the replicas of FILE");
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  AddAgeIdentityFlag(flags, &a->age_identity_files);
  if (std::optional<int> code = flags.ParseOrExit(argv, "litesync monitor")) return code;
  auto usage_error = [](const std::string& msg) {
    PrintError("monitor", msg + " (see litesync monitor -h)");
    return kExitUsage;
  };
  if (!a->config.empty()) {  // the daemon applies -log-level itself
    if (a->once || !flags.args().empty()) {
      return usage_error("give either -config monitor.yml or -once REPLICA-URL..., not both");
    }
    return std::nullopt;
  }
  if (!a->once) return usage_error("give -once REPLICA-URL... or -config monitor.yml");
  a->replicas = flags.args();
  if (a->replicas.empty()) return usage_error("needs at least one REPLICA-URL");
  if (!absl::ParseDuration(a->max_age, &a->max_age_d) || a->max_age_d <= absl::ZeroDuration() ||
      a->max_age_d == absl::InfiniteDuration()) {
    return usage_error(fmt::format(
        "-max-age must be a positive duration like 90s or 10m (got \"{}\")", a->max_age));
  }
  if (!a->url.empty()) {
    if (absl::Status s = ValidateHeartbeatUrl(a->url); !s.ok()) {
      return usage_error(fmt::format("-url: {}", std::string(s.message())));
    }
  }
  if (!a->log_level.empty()) {
    if (absl::Status s = ApplyLogLevelFlag(a->log_level); !s.ok()) {
      PrintError("monitor", s);
      return kExitUsage;
    }
  }
  return std::nullopt;
}

// A read-only client for each REPLICA-URL; an exit code on error.
std::optional<int> OpenReplicas(const Args& a, std::vector<std::unique_ptr<ReplicaClient>>* out) {
  for (const std::string& arg : a.replicas) {
    std::string url = ReplicaArgument(arg).value_or(arg);
    absl::StatusOr<ReplicaOptions> r = ReplicaOptionsFromUrl(url);
    if (!r.ok()) {
      PrintError("monitor", r.status());  // the message names the (redacted) URL
      return kExitUsage;
    }
    r->read_only = true;
    if (absl::Status s = ApplyAgeIdentityFiles(a.age_identity_files, &*r); !s.ok()) {
      PrintError("monitor", s);
      return kExitUsage;
    }
    absl::StatusOr<std::unique_ptr<ReplicaClient>> client = NewReplicaClient(*r);
    if (!client.ok()) {
      PrintError("monitor", client.status());
      return kExitUsage;
    }
    out->push_back(*std::move(client));
  }
  return std::nullopt;
}

// Pings -url (all fresh); false when it was not answered 2xx.
bool Ping(const std::string& url, absl::Duration worst_age) {
  std::unique_ptr<Pinger> pinger = NewCurlPinger();
  const StopSignal never;
  std::vector<PingRequest> request = {{ExpandHeartbeatUrl(url, /*up=*/true, "OK", worst_age)}};
  PingResult r = pinger->Send(request, never).at(0);
  if (r.ok) {
    LogInfo("monitor ping sent", {{"url", RedactHeartbeatUrl(url)},
                                  {"status", r.http_status},
                                  {"elapsed_ms", absl::ToInt64Milliseconds(r.elapsed)}});
    return true;
  }
  LogError("monitor ping failed", {{"url", RedactHeartbeatUrl(url)}, {"err", r.error}});
  return false;
}

}  // namespace

int RunMonitorCommand(const std::vector<std::string>& args) {
  Args a;
  if (std::optional<int> code = ParseArgs(args, &a)) return *code;
  if (!a.config.empty()) return RunMonitorDaemon(a.config, a.log_level);
  std::vector<std::unique_ptr<ReplicaClient>> clients;
  if (std::optional<int> code = OpenReplicas(a, &clients)) return *code;
  if (a.verify) {
    if (absl::Status s = CheckScratchDir(ScratchDir()); !s.ok()) {
      PrintError("monitor", s);
      return kExitUsage;
    }
  }
  JudgeOptions options;
  options.max_age = a.max_age_d;
  options.verify = a.verify;
  std::vector<ReplicaVerdict> verdicts;
  bool all_fresh = true;
  absl::Duration worst = absl::ZeroDuration();
  for (std::unique_ptr<ReplicaClient>& c : clients) {  // one at a time: one restore at a time
    verdicts.push_back(Judge(*c, options, *Clock::Real()));
    const ReplicaVerdict& v = verdicts.back();
    all_fresh = all_fresh && v.fresh;
    if (v.fresh) worst = std::max(worst, v.checked - v.current_at);
    if (!v.fresh) {
      LogWarn("replica not fresh", {{"replica", v.replica},
                                    {"state", std::string(VerdictStateName(v.state))},
                                    {"reason", v.reason}});
    }
  }
  if (a.json) {
    std::fputs((DumpJson(VerdictsJson(verdicts)) + "\n").c_str(), stdout);
  } else {
    for (const ReplicaVerdict& v : verdicts) std::fputs(VerdictLine(v).c_str(), stdout);
  }
  std::fflush(stdout);
  if (!all_fresh) return kExitFailure;
  if (!a.url.empty() && !Ping(a.url, worst)) return kExitFailure;
  return kExitOk;
}

}  // namespace litesync
