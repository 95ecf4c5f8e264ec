// The heartbeat: one ticker thread checks every target's health every `check_every`
// and sends one ping per interval to each target whose databases are all healthy.
// It only reads copies of the sync records, so it can never stall replication, and
// a failed ping changes nothing but logs and status.
//
// Per target:
//  - up ping: when healthy and an interval has passed since the last attempt (or
//    none was made), to `url` with {status}=up, {msg}=OK. At most one per interval
//    (an interval is never below one minute); a failed one (connection error,
//    timeout, non-2xx) is retried at the checks after check_every, 2x and 4x later,
//    while health stays good and the interval lasts, then the next interval tries anew.
//  - silence: when any database is unhealthy nothing is sent, and one
//    `heartbeat skipped` line per unhealthy database is logged once per interval.
//  - down notification: on the transition to unhealthy (not before one interval
//    after Start, so a slow first sync raises no alarm) one request to `fail_url`,
//    or, without one, to `url` when it has a {status} placeholder (Uptime Kuma).
//    Not repeated while health stays bad; re-armed when it recovers, and the first
//    up ping after it is sent as soon as one minute has passed since the last one.
//
// Thread-safety: Start/Stop/Check from one owning thread; TargetStatuses() from any.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/clock.h"
#include "base/sync_record.h"

#include "heartbeat/health.h"
#include "heartbeat/heartbeat_options.h"
#include "heartbeat/heartbeat_status.h"
#include "heartbeat/pinger.h"
#include "heartbeat/ticker.h"

namespace litesync {

class Heartbeat : public HeartbeatStatusSource {
 public:
  // `records` and `clock` must outlive this object. Pings go through libcurl.
  Heartbeat(HeartbeatOptions options, const SyncRecordSource* records, Clock* clock);
  // The same with another pinger (tests).
  Heartbeat(HeartbeatOptions options, const SyncRecordSource* records, Clock* clock,
            std::unique_ptr<Pinger> pinger);
  ~Heartbeat() override;  // Stop()
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Starts the ticker thread (none when there are no targets). At most once.
  void Start();
  // Aborts a ping in flight, sends nothing more, joins the thread. Idempotent;
  // returns within about 50 ms of a ping in flight, never waiting for its timeout.
  void Stop();

  // pings_sent counts 2xx answers, pings_failed the other attempts.
  std::vector<HeartbeatTargetStatus> TargetStatuses() const override;

  // One check at `now`: what the ticker thread runs every check_every. Tests call
  // it directly on a Heartbeat that was not started.
  void Check(absl::Time now);
  // Checks completed so far, and a bounded (real time) wait for the n-th.
  uint64_t checks() const;
  bool WaitForChecks(uint64_t n, absl::Duration timeout = absl::Seconds(10)) const;

 private:
  struct TargetState;
  enum class Kind { kUp, kDown };
  struct Pending {
    size_t target;
    Kind kind;
    std::string redacted_url;
  };

  void PlanTarget(size_t i, const Verdict& v, absl::Time now, std::vector<PingRequest>* requests,
                  std::vector<Pending>* pending);
  void Record(const Pending& p, const PingResult& r, absl::Time now);
  void Publish(size_t i, const Verdict& v, absl::Time now);

  const HeartbeatOptions options_;
  const SyncRecordSource* const records_;
  Clock* const clock_;
  const std::unique_ptr<Pinger> pinger_;
  const absl::Duration check_every_;
  absl::Time started_;
  std::vector<TargetState> states_;  // the ticker thread's only
  Ticker ticker_;

  // std::mutex rather than absl::Mutex: Debian's Abseil is not
  // built with ThreadSanitizer, so TSan cannot see absl::Mutex synchronize and
  // reports false races; libstdc++'s std::mutex it sees. Guards the two below.
  mutable std::mutex mu_;
  mutable std::condition_variable checks_cv_;
  std::vector<HeartbeatTargetStatus> status_;  // guarded by mu_
  uint64_t checks_ = 0;                        // guarded by mu_
};

}  // namespace litesync
