// `litesync monitor -config monitor.yml`: loads the config, starts the check loop
// (cmd/monitor_daemon.h) and, with addr:, /metrics and /healthz, then waits for
// SIGINT or SIGTERM; SIGHUP loads the config again.
#include "cmd/monitor_serve.h"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <mutex>

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

// The running daemon, swapped whole on SIGHUP; /metrics and /healthz (the
// control server's thread) read whichever is current.
class CurrentDaemon {
 public:
  std::shared_ptr<MonitorDaemon> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return daemon_;
  }
  void Set(std::shared_ptr<MonitorDaemon> d) {
    std::lock_guard<std::mutex> lock(mu_);
    daemon_ = std::move(d);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<MonitorDaemon> daemon_;
};

ControlServer::Responder MonitorResponder(const CurrentDaemon* current, Clock* clock,
                                          absl::Time started) {
  return [current, clock, started](const std::string& method, const std::string& path) {
    const bool head = method == "HEAD";
    if (method != "GET" && !head) return FormatResponse(405, kText, "method not allowed\n");
    std::shared_ptr<MonitorDaemon> daemon = current->Get();
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

// Before a config runs: its scratch directory checked when a replica is
// verified, and its log level applied (unless -log-level was given).
absl::Status MakeReady(const MonitorConfig& config, const std::string& log_level_flag) {
  bool verifies = false;
  for (const MonitoredReplica& r : config.replicas) {
    verifies = verifies || r.verify_interval > absl::ZeroDuration();
  }
  if (verifies) LS_RETURN_IF_ERROR(CheckScratchDir(ScratchDir(config.scratch_dir)));
  if (log_level_flag.empty() && config.log_level) SetLogLevel(*config.log_level);
  return absl::OkStatus();
}

void LogReplicas(const MonitorConfig& config) {
  for (const MonitoredReplica& r : config.replicas) {
    LogInfo("monitoring", {{"replica", r.name},
                           {"location", r.replica.Describe()},
                           {"max_age", r.max_age},
                           {"check_interval", r.check_interval},
                           {"verify_interval", r.verify_interval}});
  }
}

std::shared_ptr<MonitorDaemon> NewDaemon(const MonitorConfig& config, Pinger* pinger,
                                         Clock* clock) {
  return std::make_shared<MonitorDaemon>(
      config, MonitorDaemon::StorageJudge(config.scratch_dir, clock), pinger, clock);
}

// Stops `daemon` (its check in progress finishes first); a second signal meanwhile
// exits at once.
void StopDaemon(MonitorDaemon& daemon) {
  RunInterruptible([&] { daemon.Stop(); },
                   [](int second) {
                     LogError("second signal: exiting without waiting for the check in progress",
                              {{"signal", SignalName(second)}});
                     ::_exit(kExitFailure);
                   });
}

// SIGHUP: monitor.yml again. A config with an error is logged and the running
// one goes on. Otherwise the checks restart with the new config: every replica
// is judged at once, replicas kept by name and location keep what was known of
// them meanwhile and, when their last verification passed, its schedule
// (MonitorDaemon::CarryOver); the others are verified at once, where they are.
// Each target sends what the new verdicts say. addr: is bound once: a
// change to it is logged and needs a restart.
void Reload(const std::string& path, const std::string& log_level_flag, const std::string& addr,
            Pinger* pinger, Clock* clock, CurrentDaemon* current) {
  absl::StatusOr<MonitorConfig> config = LoadMonitorConfig(path);
  absl::Status ready = config.ok() ? MakeReady(*config, log_level_flag) : config.status();
  if (!ready.ok()) {
    LogError("reload failed; the running config goes on", {{"err", ready}});
    return;
  }
  if (config->addr != addr) {
    LogWarn("addr: changed; it takes effect at the next start",
            {{"config", config->path}, {"running", addr}, {"new", config->addr}});
  }
  std::shared_ptr<MonitorDaemon> old = current->Get();
  StopDaemon(*old);
  std::shared_ptr<MonitorDaemon> next = NewDaemon(*config, pinger, clock);
  next->CarryOver(old->Snapshot());
  LogInfo("monitor reloaded", {{"config", config->path},
                               {"replicas", config->replicas.size()},
                               {"targets", config->targets.size()}});
  LogReplicas(*config);
  next->Start();
  current->Set(std::move(next));
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
  if (absl::Status s = MakeReady(*config, log_level_flag); !s.ok()) {
    LogError("refusing to start", {{"err", s}});
    return kExitUsage;
  }
  Clock* clock = Clock::Real();
  const absl::Time started = clock->Now();
  std::unique_ptr<Pinger> pinger = NewCurlPinger();
  CurrentDaemon current;
  current.Set(NewDaemon(*config, pinger.get(), clock));
  std::unique_ptr<ControlServer> server;
  if (!config->addr.empty()) {
    ControlServerOptions options;
    options.tcp_addr = config->addr;
    options.process_start = started;
    absl::StatusOr<std::unique_ptr<ControlServer>> s =
        ControlServer::StartWith(options, MonitorResponder(&current, clock, started), clock);
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
  LogReplicas(*config);
  current.Get()->Start();
  int sig = 0;
  while (sig != SIGINT && sig != SIGTERM) {
    if (::sigwait(&signals, &sig) != 0) sig = 0;
    if (sig == SIGHUP)
      Reload(config_path, log_level_flag, config->addr, pinger.get(), clock, &current);
  }
  LogInfo("monitor stopping", {{"signal", SignalName(sig)}});
  StopDaemon(*current.Get());
  if (server) server->Stop();
  LogInfo("monitor stopped");
  return kExitOk;
}

}  // namespace litesync
