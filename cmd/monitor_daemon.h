// The check loop of `litesync monitor -config`: every replica of monitor.yml is
// judged (monitor/verdict.h) every check interval on one checker thread, and
// verified every verify-interval on one verifier thread (so at most one restore
// runs at a time, and a long restore never delays a freshness check). After each
// judgement the notifier (cmd/monitor_notifier.h) decides what to send.
//
// Bounds: a check is one Judge() per due replica (about one LIST page and one
// small GET each, docs/monitor.md); each request is bounded by the storage
// client's timeouts; pings by their target's timeout. Stop() interrupts waits
// and abandons pings in flight; a Judge() in progress finishes first.
//
// Thread-safety: Start/Stop from the owning thread; Snapshot() and the
// notifier's TargetStatuses() from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "base/clock.h"
#include "base/request_counts.h"
#include "monitor/verdict.h"

#include "cmd/monitor_config.h"
#include "cmd/monitor_notifier.h"
#include "heartbeat/pinger.h"

namespace litesync {

// What the daemon knows of one replica (a copy for /metrics and /healthz).
struct MonitoredState {
  std::string name;
  std::string location;  // the replica, redacted (ReplicaClient::Describe)
  absl::Duration max_age;
  bool judged = false;
  bool fresh = false;
  VerdictState state = VerdictState::kUnreachable;
  std::string reason;                            // the last check's, when not fresh
  absl::Time current_at = absl::InfinitePast();  // newest data known current
  absl::Time last_check = absl::InfinitePast();
  uint64_t checks = 0;          // by the checker (a verification judges freshness too,
  uint64_t check_failures = 0;  // but counts only as a verification); not fresh
  bool verify_failed = false;   // the last verification failed or could not run
  std::string verify_error;
  absl::Time last_good_verification = absl::InfinitePast();
  uint64_t verifications = 0;
  uint64_t verification_failures = 0;
  RequestCounts requests;  // sent to its storage by this process

  bool good() const { return judged && fresh && !verify_failed; }
  // "app: stale: <the verdict's reason, naming the replica>", "app: verification
  // failed: <error naming the file>", "app (s3://bkt/app): not judged yet"; empty
  // when good.
  std::string Problem() const;
};

class MonitorDaemon {
 public:
  // Judges one replica; `verify` asks for a restore too. Called on the checker or
  // the verifier thread (never both for one call), so it must be safe to call from
  // two threads at once for the same replica.
  using JudgeFn = std::function<ReplicaVerdict(const MonitoredReplica&, bool verify)>;

  // `clock` and `pinger` must outlive the daemon.
  MonitorDaemon(MonitorConfig config, JudgeFn judge, Pinger* pinger, Clock* clock);
  ~MonitorDaemon();  // Stop()
  MonitorDaemon(const MonitorDaemon&) = delete;
  MonitorDaemon& operator=(const MonitorDaemon&) = delete;

  // Before Start, when monitor.yml is loaded again: what `previous` (the last
  // daemon's Snapshot) knew of each replica that keeps its name and location, so
  // /healthz and /metrics go on from there (counters included) rather than
  // showing it "not judged yet" until its first check, which runs at Start. One
  // whose last verification passed is verified next at that verification plus
  // its (new) verify-interval, not at Start.
  void CarryOver(const std::vector<MonitoredState>& previous);
  void Start();
  void Stop();  // idempotent

  std::vector<MonitoredState> Snapshot() const;
  const MonitorNotifier& notifier() const { return notifier_; }
  const MonitorConfig& config() const { return config_; }

  // Judge() calls each replica's storage (NewReplicaClient, read-only), created
  // for every call, so the two threads never share a client. `clock` must outlive it.
  static JudgeFn StorageJudge(const std::string& scratch_dir, Clock* clock);

 private:
  void RunChecker();
  void RunVerifier();
  void Apply(size_t i, const ReplicaVerdict& v, bool verified);
  void Notify(absl::Time now);

  const MonitorConfig config_;
  const JudgeFn judge_;
  Clock* const clock_;
  MonitorNotifier notifier_;
  StopSignal stop_;
  std::thread checker_;
  std::thread verifier_;

  mutable std::mutex mu_;  // guards states_, verify_queue_, queued_
  std::condition_variable verify_cv_;
  std::vector<MonitoredState> states_;
  std::deque<size_t> verify_queue_;
  std::vector<bool> queued_;

  std::mutex notify_mu_;  // one Notify at a time (both threads call it)
};

}  // namespace litesync
