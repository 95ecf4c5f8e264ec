#include "cmd/monitor_daemon.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/storage/replica_client.h"

namespace litesync {
namespace {

void AddCounts(RequestCounts* into, const RequestCounts& from) {
  for (size_t op = 0; op < kRequestOps; ++op) {
    into->sent[op] += from.sent[op];
    into->failed[op] += from.failed[op];
  }
}

}  // namespace

std::string MonitoredState::Problem() const {
  // The verdict's reason and a verification's error name the replica and the object.
  if (good()) return "";
  if (!judged) return fmt::format("{} ({}): not judged yet", name, location);
  if (!fresh) return fmt::format("{}: {}: {}", name, VerdictStateName(state), reason);
  return fmt::format("{}: verification failed: {}", name, verify_error);
}

MonitorDaemon::MonitorDaemon(MonitorConfig config, JudgeFn judge, Pinger* pinger, Clock* clock)
    : config_(std::move(config)),
      judge_(std::move(judge)),
      clock_(clock),
      notifier_(config_.targets, pinger) {
  for (const MonitoredReplica& r : config_.replicas) {
    MonitoredState s;
    s.name = r.name;
    s.location = r.replica.Describe();
    s.max_age = r.max_age;
    states_.push_back(std::move(s));
  }
  queued_.assign(config_.replicas.size(), false);
}

MonitorDaemon::~MonitorDaemon() { Stop(); }

void MonitorDaemon::CarryOver(const std::vector<MonitoredState>& previous) {
  std::lock_guard<std::mutex> lock(mu_);
  for (MonitoredState& s : states_) {
    for (const MonitoredState& p : previous) {
      if (p.name != s.name || p.location != s.location) continue;
      const absl::Duration max_age = s.max_age;  // the new config's
      s = p;
      s.max_age = max_age;
    }
  }
}

void MonitorDaemon::Start() {
  checker_ = std::thread([this] { RunChecker(); });
  verifier_ = std::thread([this] { RunVerifier(); });
}

void MonitorDaemon::Stop() {
  stop_.Notify();
  {
    std::lock_guard<std::mutex> lock(mu_);
    verify_cv_.notify_all();
  }
  if (checker_.joinable()) checker_.join();
  if (verifier_.joinable()) verifier_.join();
}

std::vector<MonitoredState> MonitorDaemon::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return states_;
}

void MonitorDaemon::RunChecker() {
  const size_t n = config_.replicas.size();
  const absl::Time start = clock_->Now();
  std::vector<absl::Time> next_check(n, start);
  // The first verification at start, except for a replica carried over a reload
  // whose last verification passed: it keeps its schedule (a reload does not
  // cost one restore per verified replica). One that failed is verified at once.
  std::vector<absl::Time> next_verify(n, start);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < n; ++i) {
      const MonitoredState& s = states_[i];
      if (!s.verify_failed && s.last_good_verification != absl::InfinitePast()) {
        next_verify[i] =
            std::max(start, s.last_good_verification + config_.replicas[i].verify_interval);
      }
    }
  }
  while (!stop_.Notified()) {
    absl::Time now = clock_->Now();
    bool judged = false;
    for (size_t i = 0; i < n && !stop_.Notified(); ++i) {
      const MonitoredReplica& r = config_.replicas[i];
      if (r.verify_interval > absl::ZeroDuration() && now >= next_verify[i]) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!queued_[i]) {
          queued_[i] = true;
          verify_queue_.push_back(i);
          verify_cv_.notify_all();
        }
        next_verify[i] = now + r.verify_interval;
      }
      if (now < next_check[i]) continue;
      Apply(i, judge_(r, /*verify=*/false), /*verified=*/false);
      judged = true;
      // On the schedule, but never a burst after a slow round.
      next_check[i] = std::max(next_check[i] + r.check_interval, clock_->Now());
    }
    if (judged) Notify(clock_->Now());
    absl::Time wake = *std::min_element(next_check.begin(), next_check.end());
    for (size_t i = 0; i < n; ++i) {
      if (config_.replicas[i].verify_interval > absl::ZeroDuration()) {
        wake = std::min(wake, next_verify[i]);
      }
    }
    if (!clock_->SleepUntil(wake, stop_)) return;
  }
}

void MonitorDaemon::RunVerifier() {
  while (true) {
    size_t i;
    {
      std::unique_lock<std::mutex> lock(mu_);
      verify_cv_.wait(lock, [this] { return stop_.Notified() || !verify_queue_.empty(); });
      if (stop_.Notified()) return;
      i = verify_queue_.front();
      verify_queue_.pop_front();
    }
    ReplicaVerdict v = judge_(config_.replicas[i], /*verify=*/true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_[i] = false;
    }
    if (stop_.Notified()) return;
    Apply(i, v, /*verified=*/true);
    Notify(clock_->Now());
  }
}

void MonitorDaemon::Apply(size_t i, const ReplicaVerdict& v, bool verified) {
  const MonitoredReplica& r = config_.replicas[i];
  // A verdict of kVerifyFailed / kVerifyImpossible is fresh data that did not verify.
  const bool verify_state =
      v.state == VerdictState::kVerifyFailed || v.state == VerdictState::kVerifyImpossible;
  const bool fresh = v.fresh || verify_state;
  std::lock_guard<std::mutex> lock(mu_);
  MonitoredState& s = states_[i];
  const bool was_good = s.good();
  const bool first = !s.judged;
  s.judged = true;
  s.fresh = fresh;
  s.state = fresh ? VerdictState::kFresh : v.state;
  s.reason = fresh ? "" : v.reason;
  if (v.current_at != absl::InfinitePast()) s.current_at = std::max(s.current_at, v.current_at);
  s.last_check = v.checked;
  if (!verified) {
    ++s.checks;
    if (!fresh) ++s.check_failures;
  }
  AddCounts(&s.requests, v.requests);
  if (verified && (v.verification.ran || verify_state)) {
    ++s.verifications;
    const bool ok = v.verification.ran && v.verification.ok && !verify_state;
    s.verify_failed = !ok;
    s.verify_error = ok ? "" : (v.verification.error.empty() ? v.reason : v.verification.error);
    if (ok) {
      s.last_good_verification = v.checked;
      LogInfo("monitor verified", {{"replica", r.name},
                                   {"location", s.location},
                                   {"txid", v.verification.txid},
                                   {"files", v.verification.files},
                                   {"elapsed", FormatAge(v.verification.elapsed)}});
    } else {
      ++s.verification_failures;
      LogError("monitor verification failed",
               {{"replica", r.name}, {"location", s.location}, {"err", s.verify_error}});
    }
  }
  if (!s.good() && (was_good || first)) {
    LogWarn("monitor replica bad", {{"replica", r.name}, {"problem", s.Problem()}});
  } else if (s.good() && (!was_good || first)) {
    LogInfo("monitor replica good", {{"replica", r.name},
                                     {"location", s.location},
                                     {"data_age", FormatAge(clock_->Now() - s.current_at)},
                                     {"max_age", FormatAge(r.max_age)}});
  }
}

void MonitorDaemon::Notify(absl::Time now) {
  std::vector<ReplicaHealth> health;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const MonitoredState& s : states_) {
      ReplicaHealth h;
      h.name = s.name;
      h.judged = s.judged;
      h.good = s.good();
      h.reason = s.Problem();
      if (s.current_at != absl::InfinitePast()) h.data_age = now - s.current_at;
      health.push_back(std::move(h));
    }
  }
  std::lock_guard<std::mutex> lock(notify_mu_);
  notifier_.Update(health, now, stop_);
}

MonitorDaemon::JudgeFn MonitorDaemon::StorageJudge(const std::string& scratch_dir, Clock* clock) {
  return [scratch_dir, clock](const MonitoredReplica& r, bool verify) {
    ReplicaOptions options = r.replica;
    options.read_only = true;
    absl::StatusOr<std::unique_ptr<ReplicaClient>> client = NewReplicaClient(options);
    if (!client.ok()) {
      ReplicaVerdict v;
      v.replica = r.replica.Describe();
      v.state = VerdictState::kUnreachable;
      v.reason = std::string(client.status().message());
      v.checked = clock->Now();
      return v;
    }
    JudgeOptions o;
    o.max_age = r.max_age;
    o.verify = verify;
    o.scratch_dir = scratch_dir;
    return Judge(**client, o, *clock);
  };
}

}  // namespace litesync
