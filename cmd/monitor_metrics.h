// What the monitor daemon serves on `addr:`: /metrics (Prometheus text format
// 0.0.4, the litesync_monitor_* families of docs/monitor.md) and /healthz (200
// while every replica is judged fresh and not failing verification, else 503 with
// one line per problem). Pure functions over copies of the daemon's state.
#pragma once

#include <span>
#include <string>

#include "absl/time/time.h"

#include "cmd/monitor_daemon.h"
#include "heartbeat/heartbeat_status.h"

namespace litesync {

std::string RenderMonitorMetrics(std::span<const MonitoredState> replicas,
                                 std::span<const HeartbeatTargetStatus> targets, absl::Time now,
                                 absl::Time process_start);

struct HealthzAnswer {
  int code = 503;
  std::string body;
};
HealthzAnswer MonitorHealthz(std::span<const MonitoredState> replicas);

}  // namespace litesync
