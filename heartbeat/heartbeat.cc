#include "heartbeat/heartbeat.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "heartbeat/heartbeat_url.h"

namespace litesync {
namespace {

constexpr int kMaxRetries = 3;  // after a failed up ping, within its interval
constexpr absl::Duration kDefaultCheckEvery = absl::Seconds(15);

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// One `heartbeat skipped` line per problem: Litestream's reason, then the details.
void LogSkipped(const std::string& url, int target, const Verdict& v, absl::Duration interval) {
  for (const DbProblem& p : v.problems) {
    const bool record_problem = p.reason != "database not configured" && p.reason != "no databases";
    std::string reason = record_problem ? "database not synced" : p.reason;
    std::string age = FormatAge(p.last_sync_age);
    std::string iv = FormatAge(interval);
    if (p.error.empty()) {
      LogWarn("heartbeat skipped", {{"reason", reason},
                                    {"db", p.db},
                                    {"replica", p.replica},
                                    {"detail", p.reason},
                                    {"last_sync_age", age},
                                    {"interval", iv},
                                    {"url", url},
                                    {"target", target}});
    } else {
      LogWarn("heartbeat skipped", {{"reason", reason},
                                    {"db", p.db},
                                    {"replica", p.replica},
                                    {"detail", p.reason},
                                    {"last_sync_age", age},
                                    {"interval", iv},
                                    {"url", url},
                                    {"target", target},
                                    {"err", p.error}});
    }
  }
}

}  // namespace

struct Heartbeat::TargetState {
  HeartbeatTarget target;
  std::string redacted;  // the URL template, redacted: what logs and status show
  std::string redacted_fail;
  absl::Duration interval;
  bool has_status_placeholder = false;

  absl::Time window_start = absl::InfinitePast();  // the last due up ping attempt
  int attempts = 0;                                // up attempts in this window
  bool window_ok = false;                          // one of them succeeded
  absl::Time retry_at = absl::InfiniteFuture();
  bool down = false;       // unhealthy since the down transition fired
  bool down_sent = false;  // a down notification went out: recover promptly
  absl::Time next_skip_log = absl::InfinitePast();
};

Heartbeat::Heartbeat(HeartbeatOptions options, const SyncRecordSource* records, Clock* clock)
    : Heartbeat(std::move(options), records, clock, NewCurlPinger()) {}

Heartbeat::Heartbeat(HeartbeatOptions options, const SyncRecordSource* records, Clock* clock,
                     std::unique_ptr<Pinger> pinger)
    : options_(std::move(options)),
      records_(records),
      clock_(clock),
      pinger_(std::move(pinger)),
      check_every_(options_.check_every > absl::ZeroDuration() ? options_.check_every
                                                               : kDefaultCheckEvery),
      started_(clock->Now()),
      ticker_(clock, check_every_, [this](absl::Time t) { Check(t); }) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const HeartbeatTarget& t : options_.targets) {
    TargetState s;
    s.target = t;
    s.redacted = RedactHeartbeatUrl(t.url.reveal());
    if (!t.fail_url.empty()) s.redacted_fail = RedactHeartbeatUrl(t.fail_url.reveal());
    s.interval = EffectiveInterval(t);
    s.has_status_placeholder = HasStatusPlaceholder(t.url.reveal());
    states_.push_back(std::move(s));
    HeartbeatTargetStatus st;
    st.url = states_.back().redacted;
    status_.push_back(std::move(st));
  }
}

Heartbeat::~Heartbeat() { Stop(); }

void Heartbeat::Start() {
  if (states_.empty()) return;
  started_ = clock_->Now();
  ticker_.Start();
}

void Heartbeat::Stop() { ticker_.Stop(); }

std::vector<HeartbeatTargetStatus> Heartbeat::TargetStatuses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

uint64_t Heartbeat::checks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return checks_;
}

bool Heartbeat::WaitForChecks(uint64_t n, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return checks_cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                             [this, n] { return checks_ >= n; });
}

void Heartbeat::Check(absl::Time now) {
  const StopSignal& stop = ticker_.stop_signal();
  if (stop.Notified()) return;
  // A copy: the records' lock is held for the copy only, never during a ping.
  const std::vector<SyncRecord> records = records_->Snapshot();
  std::vector<Verdict> verdicts;
  std::vector<PingRequest> requests;
  std::vector<Pending> pending;
  for (size_t i = 0; i < states_.size(); ++i) {
    verdicts.push_back(Evaluate(records, now, states_[i].interval, states_[i].target.databases));
    PlanTarget(i, verdicts.back(), now, &requests, &pending);
  }
  if (!requests.empty() && !stop.Notified()) {
    std::vector<PingResult> results = pinger_->Send(requests, stop);
    for (size_t k = 0; k < pending.size() && k < results.size(); ++k) {
      Record(pending[k], results[k], now);
    }
  }
  for (size_t i = 0; i < states_.size(); ++i) Publish(i, verdicts[i], now);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++checks_;
  }
  checks_cv_.notify_all();
}

void Heartbeat::PlanTarget(size_t i, const Verdict& v, absl::Time now,
                           std::vector<PingRequest>* requests, std::vector<Pending>* pending) {
  TargetState& t = states_[i];
  const bool window_over =
      t.window_start == absl::InfinitePast() || now >= t.window_start + t.interval;
  if (v.healthy) {
    if (t.down) {
      LogInfo("heartbeat recovered", {{"url", t.redacted}, {"target", i + 1}});
      t.down = false;
    }
    t.next_skip_log = absl::InfinitePast();
    const bool due = window_over || (t.down_sent && now >= t.window_start + kMinHeartbeatInterval);
    if (due) {
      t.window_start = now;
      t.attempts = 0;
      t.window_ok = false;
      t.retry_at = absl::InfiniteFuture();
      t.down_sent = false;
    } else if (t.window_ok || t.attempts == 0 || t.attempts > kMaxRetries || now < t.retry_at) {
      return;
    }
    requests->push_back({ExpandHeartbeatUrl(t.target.url.reveal(), /*up=*/true, "OK", v.worst_lag),
                         t.target.method, t.target.timeout});
    pending->push_back({i, Kind::kUp, t.redacted});
    return;
  }

  t.retry_at = absl::InfiniteFuture();  // no retry of an up ping once health is bad
  if (window_over && now >= t.next_skip_log) {
    LogSkipped(t.redacted, static_cast<int>(i) + 1, v, t.interval);
    t.next_skip_log = now + t.interval;
  }
  if (t.down || now < started_ + t.interval) return;
  t.down = true;
  const Secret& url = t.target.fail_url.empty() ? t.target.url : t.target.fail_url;
  if (t.target.fail_url.empty() && !t.has_status_placeholder) return;  // silence is the alarm
  requests->push_back({ExpandHeartbeatUrl(url.reveal(), /*up=*/false, Summarize(v), v.worst_lag),
                       t.target.method, t.target.timeout});
  pending->push_back({i, Kind::kDown, t.target.fail_url.empty() ? t.redacted : t.redacted_fail});
}

void Heartbeat::Record(const Pending& p, const PingResult& r, absl::Time now) {
  if (r.stopped) return;  // shutdown: neither a success nor a failure worth an alarm
  TargetState& t = states_[p.target];
  const char* sent_msg = p.kind == Kind::kUp ? "heartbeat sent" : "heartbeat down sent";
  std::string next_retry;
  if (p.kind == Kind::kUp) {
    ++t.attempts;
    t.window_ok = r.ok;
    if (!r.ok && t.attempts <= kMaxRetries) {
      absl::Duration backoff = check_every_ * (1 << (t.attempts - 1));
      if (now + backoff < t.window_start + t.interval) {
        t.retry_at = now + backoff;
        next_retry = FormatAge(backoff);
      }
    }
  } else if (r.ok) {
    t.down_sent = true;
  }
  if (r.ok) {
    LogInfo(sent_msg, {{"url", p.redacted_url},
                       {"status", r.http_status},
                       {"elapsed_ms", Millis(r.elapsed)},
                       {"target", p.target + 1}});
  } else {
    LogError("heartbeat failed", {{"url", p.redacted_url},
                                  {"error", r.error},
                                  {"kind", p.kind == Kind::kUp ? "up" : "down"},
                                  {"attempt", p.kind == Kind::kUp ? t.attempts : 1},
                                  {"retry_in", p.kind == Kind::kDown ? "not retried"
                                               : next_retry.empty()  ? "next interval"
                                                                     : next_retry},
                                  {"target", p.target + 1}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  HeartbeatTargetStatus& s = status_[p.target];
  s.last_ping = now;
  s.last_ok = r.ok;
  s.last_result = r.ok || r.http_status != 0 ? fmt::format("HTTP {}", r.http_status) : r.error;
  if (r.ok) {
    ++s.pings_sent;
    s.last_success = now;
  } else {
    ++s.pings_failed;
  }
}

void Heartbeat::Publish(size_t i, const Verdict& v, absl::Time now) {
  const TargetState& t = states_[i];
  absl::Time next_due = t.window_start == absl::InfinitePast() ? now : t.window_start + t.interval;
  if (t.retry_at != absl::InfiniteFuture()) next_due = std::min(next_due, t.retry_at);
  std::lock_guard<std::mutex> lock(mu_);
  HeartbeatTargetStatus& s = status_[i];
  s.withholding = !v.healthy;
  s.reasons = v.reasons;
  s.next_due = next_due;
  s.down = t.down;
}

}  // namespace litesync
