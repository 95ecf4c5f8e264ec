// `litesync monitor -config monitor.yml`: loads the config, starts the check loop
// (cmd/monitor_daemon.h) and, with addr:, /metrics and /healthz, then waits for
// SIGINT or SIGTERM.
#include "cmd/monitor_serve.h"

#include <signal.h>
#include <unistd.h>

#include <memory>

#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/status.h"

#include "cmd/command.h"
#include "cmd/control_http.h"
#include "cmd/control_server.h"
#include "cmd/metrics.h"
#include "cmd/monitor_config.h"
#include "cmd/monitor_daemon.h"
#include "cmd/monitor_metrics.h"

namespace litesync {
namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";

ControlServer::Responder MonitorResponder(const MonitorDaemon* daemon, Clock* clock,
                                          absl::Time started) {
  return [daemon, clock, started](const std::string& method, const std::string& path) {
    const bool head = method == "HEAD";
    if (method != "GET" && !head) return FormatResponse(405, kText, "method not allowed\n");
    if (path == "/metrics") {
      std::vector<MonitoredState> states = daemon->Snapshot();
      std::vector<HeartbeatTargetStatus> targets = daemon->notifier().TargetStatuses();
      return FormatResponse(200, kMetricsContentType,
                            RenderMonitorMetrics(states, targets, clock->Now(), started), head);
    }
    if (path == "/healthz") {
      HealthzAnswer a = MonitorHealthz(daemon->Snapshot());
      return FormatResponse(a.code, kText, a.body, head);
    }
    return FormatResponse(404, kText, "not found\n", head);
  };
}

}  // namespace

int RunMonitorDaemon(const std::string& config_path, const std::string& log_level_flag) {
  const sigset_t signals = BlockSignals();  // before any thread exists
  SetConfigExpandEnv(!*NoExpandEnvFlag());
  if (!log_level_flag.empty()) {
    if (absl::Status s = ApplyLogLevelFlag(log_level_flag); !s.ok()) {
      PrintError("monitor", s);
      return kExitUsage;
    }
  }
  absl::StatusOr<MonitorConfig> config = LoadMonitorConfig(config_path);
  if (!config.ok()) {
    PrintError("monitor", config.status());
    return kExitUsage;
  }
  if (log_level_flag.empty() && config->log_level) SetLogLevel(*config->log_level);
  bool verifies = false;
  for (const MonitoredReplica& r : config->replicas) {
    verifies = verifies || r.verify_interval > absl::ZeroDuration();
  }
  if (verifies) {
    if (absl::Status s = CheckScratchDir(ScratchDir(config->scratch_dir)); !s.ok()) {
      LogError("refusing to start", {{"err", s}});
      return kExitUsage;
    }
  }
  Clock* clock = Clock::Real();
  const absl::Time started = clock->Now();
  std::unique_ptr<Pinger> pinger = NewCurlPinger();
  MonitorDaemon daemon(*config, MonitorDaemon::StorageJudge(config->scratch_dir, clock),
                       pinger.get(), clock);
  std::unique_ptr<ControlServer> server;
  if (!config->addr.empty()) {
    ControlServerOptions options;
    options.tcp_addr = config->addr;
    options.process_start = started;
    absl::StatusOr<std::unique_ptr<ControlServer>> s =
        ControlServer::StartWith(options, MonitorResponder(&daemon, clock, started), clock);
    if (!s.ok()) {
      LogError("refusing to start", {{"err", Annotate(s.status(), "addr")}});
      return kExitFailure;
    }
    server = *std::move(s);
  }
  LogInfo("monitor starting", {{"config", config->path},
                               {"replicas", config->replicas.size()},
                               {"targets", config->targets.size()},
                               {"addr", server ? server->tcp_address() : ""}});
  for (const MonitoredReplica& r : config->replicas) {
    LogInfo("monitoring", {{"replica", r.name},
                           {"location", r.replica.Describe()},
                           {"max_age", r.max_age},
                           {"check_interval", r.check_interval},
                           {"verify_interval", r.verify_interval}});
  }
  daemon.Start();
  int sig = 0;
  while (sig != SIGINT && sig != SIGTERM) {
    if (::sigwait(&signals, &sig) != 0) sig = 0;  // SIGHUP: nothing to reload yet
  }
  LogInfo("monitor stopping", {{"signal", SignalName(sig)}});
  RunInterruptible([&] { daemon.Stop(); },
                   [](int second) {
                     LogError("second signal: exiting without waiting for the check in progress",
                              {{"signal", SignalName(second)}});
                     ::_exit(kExitFailure);
                   });
  if (server) server->Stop();
  LogInfo("monitor stopped");
  return kExitOk;
}

}  // namespace litesync
