#include "cmd/heartbeat_command.h"

#include <cstdio>
#include <vector>

#include "base/clock.h"
#include "fmt/format.h"

#include "heartbeat/health.h"
#include "heartbeat/heartbeat_url.h"

namespace litesync {
namespace {

std::string FormatSpan(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "never synced";
  return absl::FormatDuration(absl::Trunc(d, absl::Seconds(1)));
}

std::string Scope(const HeartbeatTarget& t) {
  if (t.databases.empty()) return "all databases";
  std::string out = "databases:";
  for (size_t i = 0; i < t.databases.size(); ++i) {
    out += (i == 0 ? " " : ", ") + t.databases[i];
  }
  return out;
}

}  // namespace

int RunHeartbeatCommand(const HeartbeatOptions& options, const SyncRecordSource& records, bool send,
                        absl::Time now, Pinger& pinger, std::string* out) {
  if (options.targets.empty()) {
    *out += "no heartbeat configured (set heartbeat-url)\n";
    return 1;
  }
  const std::vector<SyncRecord> snapshot = records.Snapshot();
  int rc = 0;
  for (const HeartbeatTarget& t : options.targets) {
    const std::string url = RedactHeartbeatUrl(t.url.reveal());
    const absl::Duration interval = EffectiveInterval(t);
    Verdict v = Evaluate(snapshot, now, interval, t.databases);
    *out += fmt::format("heartbeat {} ({}, interval {}, {})\n", url, t.method, FormatSpan(interval),
                        Scope(t));
    if (!v.healthy) {
      rc = 1;
      *out += fmt::format("  would not ping: {} problem{}\n", v.reasons.size(),
                          v.reasons.size() == 1 ? "" : "s");
      for (const std::string& r : v.reasons) *out += fmt::format("    {}\n", r);
      if (send) *out += "  not sent\n";
      continue;
    }
    *out += fmt::format("  would ping: {} database{} healthy, worst lag {}\n", v.databases,
                        v.databases == 1 ? "" : "s", FormatSpan(v.worst_lag));
    if (!send) continue;
    const StopSignal never;
    std::vector<PingRequest> request = {
        {ExpandHeartbeatUrl(t.url.reveal(), /*up=*/true, "OK", v.worst_lag), t.method, t.timeout}};
    PingResult r = pinger.Send(request, never).at(0);
    if (r.ok) {
      *out += fmt::format("  sent: HTTP {} in {} ms\n", r.http_status,
                          absl::ToInt64Milliseconds(r.elapsed));
    } else {
      rc = 1;
      *out += fmt::format("  send failed: {}\n", r.error);
    }
  }
  return rc;
}

int RunHeartbeatCommand(const Config& config, const SyncRecordSource& records, bool send) {
  std::string out;
  std::unique_ptr<Pinger> pinger = NewCurlPinger();
  int rc =
      RunHeartbeatCommand(config.heartbeat, records, send, Clock::Real()->Now(), *pinger, &out);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  return rc;
}

}  // namespace litesync
