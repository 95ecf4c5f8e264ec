#include "cmd/monitor_metrics.h"

#include <optional>

#include "fmt/format.h"

#include "cmd/metrics.h"

namespace litesync {
namespace {

double Seconds(absl::Time t) { return absl::ToUnixMillis(t) / 1000.0; }

// One family per call: its header, then one sample per replica that has a value.
template <typename Get>
void ReplicaFamily(std::string* out, std::span<const MonitoredState> rs, std::string_view name,
                   std::string_view type, std::string_view help, Get get) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  for (const MonitoredState& r : rs) {
    std::optional<double> v = get(r);
    if (!v) continue;
    *out += fmt::format("{}{{replica=\"{}\",location=\"{}\"}} {}\n", name, EscapeLabelValue(r.name),
                        EscapeLabelValue(r.location), *v);
  }
}

template <typename Get>
void TargetFamily(std::string* out, std::span<const HeartbeatTargetStatus> ts,
                  std::string_view name, std::string_view type, std::string_view help, Get get) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  for (const HeartbeatTargetStatus& t : ts) {
    *out += fmt::format("{}{{url=\"{}\"}} {}\n", name, EscapeLabelValue(t.url), get(t));
  }
}

}  // namespace

std::string RenderMonitorMetrics(std::span<const MonitoredState> rs,
                                 std::span<const HeartbeatTargetStatus> ts, absl::Time now,
                                 absl::Time process_start) {
  using Opt = std::optional<double>;
  std::string out;
  ReplicaFamily(&out, rs, "litesync_monitor_replica_fresh", "gauge",
                "1 when the last check found data current within max-age, else 0 (also before "
                "the first check).",
                [](const MonitoredState& r) -> Opt { return r.judged && r.fresh ? 1 : 0; });
  ReplicaFamily(&out, rs, "litesync_monitor_replica_healthy", "gauge",
                "1 when the replica is fresh and its last verification (if any) passed: what "
                "/healthz and the notifications report.",
                [](const MonitoredState& r) -> Opt { return r.good() ? 1 : 0; });
  ReplicaFamily(&out, rs, "litesync_monitor_data_age_seconds", "gauge",
                "Seconds since the newest data the replica holds was known current (absent "
                "until known).",
                [now](const MonitoredState& r) -> Opt {
                  if (r.current_at == absl::InfinitePast()) return std::nullopt;
                  return absl::ToDoubleSeconds(now - r.current_at);
                });
  ReplicaFamily(&out, rs, "litesync_monitor_max_age_seconds", "gauge",
                "The replica's max-age: data older than this is stale.",
                [](const MonitoredState& r) -> Opt { return absl::ToDoubleSeconds(r.max_age); });
  ReplicaFamily(
      &out, rs, "litesync_monitor_last_check_timestamp_seconds", "gauge",
      "Unix time of the last completed check; 0 before the first.",
      [](const MonitoredState& r) -> Opt { return r.judged ? Seconds(r.last_check) : 0.0; });
  ReplicaFamily(&out, rs, "litesync_monitor_last_good_verification_timestamp_seconds", "gauge",
                "Unix time of the last verification that restored and checked the replica; 0 "
                "before the first.",
                [](const MonitoredState& r) -> Opt {
                  return r.last_good_verification == absl::InfinitePast()
                             ? 0.0
                             : Seconds(r.last_good_verification);
                });
  ReplicaFamily(&out, rs, "litesync_monitor_checks_total", "counter",
                "Freshness checks of the replica (verifications are counted apart).",
                [](const MonitoredState& r) -> Opt { return static_cast<double>(r.checks); });
  ReplicaFamily(
      &out, rs, "litesync_monitor_check_failures_total", "counter",
      "Checks that did not find the replica fresh (stale, empty, unreachable...).",
      [](const MonitoredState& r) -> Opt { return static_cast<double>(r.check_failures); });
  ReplicaFamily(
      &out, rs, "litesync_monitor_verifications_total", "counter",
      "Verifications (restore + checksum chain + integrity_check) attempted.",
      [](const MonitoredState& r) -> Opt { return static_cast<double>(r.verifications); });
  ReplicaFamily(&out, rs, "litesync_monitor_verification_failures_total", "counter",
                "Verifications that failed or could not run.", [](const MonitoredState& r) -> Opt {
                  return static_cast<double>(r.verification_failures);
                });
  out +=
      "# HELP litesync_monitor_requests_total Requests the monitor sent to a replica's "
      "storage, by op (LIST, GET, HEAD; never a write).\n"
      "# TYPE litesync_monitor_requests_total counter\n";
  for (const MonitoredState& r : rs) {
    if (r.requests.Total() == 0) continue;
    for (size_t op = 0; op < kRequestOps; ++op) {
      out += fmt::format(
          "litesync_monitor_requests_total{{replica=\"{}\",location=\"{}\",op=\"{}\"}} {}\n",
          EscapeLabelValue(r.name), EscapeLabelValue(r.location), RequestOpName(RequestOp(op)),
          r.requests.sent[op]);
    }
  }
  TargetFamily(&out, ts, "litesync_monitor_pings_sent_total", "counter",
               "Notifications (up and down) answered 2xx, per target (URL redacted).",
               [](const HeartbeatTargetStatus& t) { return t.pings_sent; });
  TargetFamily(&out, ts, "litesync_monitor_pings_failed_total", "counter",
               "Notifications that failed, per target (URL redacted).",
               [](const HeartbeatTargetStatus& t) { return t.pings_failed; });
  TargetFamily(&out, ts, "litesync_monitor_target_down", "gauge",
               "1 while a replica the target covers is bad (an incident), else 0.",
               [](const HeartbeatTargetStatus& t) { return t.down ? 1 : 0; });
  out += fmt::format(
      "# HELP litesync_process_start_time_seconds Start time of the litesync process since "
      "the Unix epoch in seconds.\n# TYPE litesync_process_start_time_seconds gauge\n"
      "litesync_process_start_time_seconds {}\n",
      Seconds(process_start));
  return out;
}

HealthzAnswer MonitorHealthz(std::span<const MonitoredState> replicas) {
  std::string problems;
  for (const MonitoredState& r : replicas) {
    if (!r.good()) problems += r.Problem() + "\n";
  }
  if (replicas.empty()) problems = "no replicas\n";
  if (problems.empty()) return {200, "ok\n"};
  return {503, "unhealthy\n" + problems};
}

}  // namespace litesync
