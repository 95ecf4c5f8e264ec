#include "cmd/monitor_notifier.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_join.h"
#include "base/log.h"
#include "fmt/format.h"

#include "heartbeat/heartbeat_url.h"

namespace litesync {
namespace {

bool Covers(const MonitorTarget& t, const std::string& name) {
  return t.replicas.empty() ||
         std::find(t.replicas.begin(), t.replicas.end(), name) != t.replicas.end();
}

}  // namespace

MonitorNotifier::MonitorNotifier(std::vector<MonitorTarget> targets, Pinger* pinger)
    : pinger_(pinger) {
  for (MonitorTarget& t : targets) {
    State s;
    s.redacted = RedactHeartbeatUrl(t.url.reveal());
    if (!t.fail_url.empty()) s.redacted_fail = RedactHeartbeatUrl(t.fail_url.reveal());
    s.can_send_down = !t.fail_url.empty() || HasStatusPlaceholder(t.url.reveal());
    s.target = std::move(t);
    HeartbeatTargetStatus st;
    st.url = s.redacted;
    status_.push_back(std::move(st));
    states_.push_back(std::move(s));
  }
}

std::vector<HeartbeatTargetStatus> MonitorNotifier::TargetStatuses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void MonitorNotifier::Update(std::span<const ReplicaHealth> health, absl::Time now,
                             const StopSignal& stop) {
  std::vector<PingRequest> requests;
  std::vector<Pending> pending;
  for (size_t i = 0; i < states_.size(); ++i) Plan(i, health, now, &requests, &pending);
  if (requests.empty() || stop.Notified()) return;
  std::vector<PingResult> results = pinger_->Send(requests, stop);
  for (size_t k = 0; k < pending.size() && k < results.size(); ++k) {
    Record(pending[k], results[k], now);
  }
}

void MonitorNotifier::Plan(size_t i, std::span<const ReplicaHealth> health, absl::Time now,
                           std::vector<PingRequest>* requests, std::vector<Pending>* pending) {
  State& s = states_[i];
  std::vector<std::string> reasons;
  absl::Duration worst_age = absl::ZeroDuration();
  for (const ReplicaHealth& h : health) {
    if (!Covers(s.target, h.name)) continue;
    if (!h.judged) return;  // not every replica judged yet: nothing to say
    if (!h.good) reasons.push_back(h.reason);
    worst_age = std::max(worst_age, h.data_age);
  }
  Decide(i, reasons, worst_age, now, requests, pending);
  std::lock_guard<std::mutex> lock(mu_);
  status_[i].withholding = !reasons.empty();
  status_[i].reasons = std::move(reasons);
  status_[i].down = s.down;
  status_[i].next_due = s.up_pending ? now : s.next_up;
}

void MonitorNotifier::Decide(size_t i, const std::vector<std::string>& reasons,
                             absl::Duration worst_age, absl::Time now,
                             std::vector<PingRequest>* requests, std::vector<Pending>* pending) {
  State& s = states_[i];
  if (reasons.empty()) {
    if (s.down) {
      LogInfo("monitor target recovered", {{"url", s.redacted}, {"source", s.target.source}});
      s.down = false;
      s.up_pending = true;  // recovery is news: say it at once
      s.down_sent = false;
    }
    if (!s.up_pending && now < s.next_up) return;
    requests->push_back({ExpandHeartbeatUrl(s.target.url.reveal(), /*up=*/true, "OK", worst_age),
                         s.target.method, s.target.timeout});
    pending->push_back({i, Kind::kUp, "OK"});
    return;
  }
  std::string msg = reasons.size() == 1 ? reasons[0]
                                        : fmt::format("{} replicas bad: {}", reasons.size(),
                                                      absl::StrJoin(reasons, "; "));
  if (!s.down) {
    LogWarn("monitor target down",
            {{"url", s.redacted}, {"source", s.target.source}, {"reason", msg}});
    s.down = true;
    s.down_sent = false;
    s.up_pending = false;
  }
  if (s.down_sent || !s.can_send_down) return;
  const Secret& url = s.target.fail_url.empty() ? s.target.url : s.target.fail_url;
  requests->push_back({ExpandHeartbeatUrl(url.reveal(), /*up=*/false, msg, worst_age),
                       s.target.method, s.target.timeout});
  pending->push_back({i, Kind::kDown, msg});
}

void MonitorNotifier::Record(const Pending& p, const PingResult& r, absl::Time now) {
  if (r.stopped) return;
  State& s = states_[p.target];
  const bool up = p.kind == Kind::kUp;
  const std::string& url = up || s.redacted_fail.empty() ? s.redacted : s.redacted_fail;
  if (r.ok) {
    if (up) {
      s.up_pending = false;
      s.next_up = now + s.target.interval;
    } else {
      s.down_sent = true;
    }
    LogInfo(up ? "monitor up sent" : "monitor down sent",
            {{"url", url}, {"status", r.http_status}, {"msg", p.msg}});
  } else {
    LogError("monitor ping failed", {{"url", url},
                                     {"kind", up ? "up" : "down"},
                                     {"error", r.error},
                                     {"retry", "at the next check"}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  HeartbeatTargetStatus& st = status_[p.target];
  st.last_ping = now;
  st.last_ok = r.ok;
  st.last_result = r.ok || r.http_status != 0 ? fmt::format("HTTP {}", r.http_status) : r.error;
  if (r.ok) {
    ++st.pings_sent;
    st.last_success = now;
  } else {
    ++st.pings_failed;
  }
  st.down = s.down;
  st.next_due = s.up_pending ? now : s.next_up;
}

}  // namespace litesync
