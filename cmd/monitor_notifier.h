// The monitor's notifications: given the health of every replica after a check,
// decides for each push target (cmd/monitor_config.h) what to send.
//
// Per target, over the replicas it covers (all of them for an aggregate target):
//  - nothing while any covered replica has not been judged yet;
//  - down at once when any covered replica is bad (stale, unjudgeable, failed
//    verification): one request to fail_url, or to url when it has a {status}
//    placeholder (Uptime Kuma), with the reasons in {msg}. Once per incident: a
//    request that failed is retried at the next update until one is answered 2xx,
//    then nothing more until the target recovers. A target with neither stays
//    silent (its monitor's own timeout is the alarm);
//  - up when every covered replica is good: at once on recovery from down, then at
//    most once per `interval`; a failed up ping is retried at the next update.
// URLs are secrets: logs and statuses show RedactHeartbeatUrl() forms only.
//
// Thread-safety: Update() from one thread at a time (the daemon serializes it);
// Statuses() from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/clock.h"

#include "cmd/monitor_config.h"
#include "heartbeat/heartbeat_status.h"
#include "heartbeat/pinger.h"

namespace litesync {

// One replica as the notifier sees it.
struct ReplicaHealth {
  std::string name;
  bool judged = false;  // a check has completed
  bool good = false;    // fresh, and verification (if any) has not failed
  std::string reason;   // why not good: "app: stale: newest data 6m12s old (max-age 5m)"
  absl::Duration data_age = absl::InfiniteDuration();  // for {ping}
};

class MonitorNotifier : public HeartbeatStatusSource {
 public:
  // `pinger` must outlive this object.
  MonitorNotifier(std::vector<MonitorTarget> targets, Pinger* pinger);

  // Decides and sends (bounded by each target's timeout; abandoned when `stop` fires).
  void Update(std::span<const ReplicaHealth> health, absl::Time now, const StopSignal& stop);

  std::vector<HeartbeatTargetStatus> TargetStatuses() const override;

 private:
  struct State {
    MonitorTarget target;
    std::string redacted;       // url, redacted
    std::string redacted_fail;  // fail_url, redacted (empty without one)
    bool can_send_down = false;
    bool down = false;        // in an incident
    bool down_sent = false;   // its notification was answered 2xx
    bool up_pending = false;  // recovered: the next up ping goes at once
    absl::Time next_up = absl::InfinitePast();
  };
  enum class Kind { kUp, kDown };
  struct Pending {
    size_t target;
    Kind kind;
    std::string msg;
  };

  void Plan(size_t i, std::span<const ReplicaHealth> health, absl::Time now,
            std::vector<PingRequest>* requests, std::vector<Pending>* pending);
  void Decide(size_t i, const std::vector<std::string>& reasons, absl::Duration worst_age,
              absl::Time now, std::vector<PingRequest>* requests, std::vector<Pending>* pending);
  void Record(const Pending& p, const PingResult& r, absl::Time now);

  std::vector<State> states_;  // the updating thread's only
  Pinger* const pinger_;

  mutable std::mutex mu_;
  std::vector<HeartbeatTargetStatus> status_;  // guarded by mu_
};

}  // namespace litesync
