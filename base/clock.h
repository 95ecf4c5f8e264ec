// Time as a seam: real time for the daemon, FakeClock (tests/testutil) where tests
// control it. Intervals are measured on the clock's own monotonic notion of now.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace litesync {

// A one-shot stop signal threads wait on. Thread-safe.
class StopSignal {
 public:
  void Notify();
  bool Notified() const { return notified_.load(); }
  // Waits until `deadline` (real time) or Notify(); true when notified.
  bool WaitUntil(absl::Time deadline) const;

 private:
  std::atomic<bool> notified_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // Sleeps until `deadline`; false when `stop` fired first (or already had).
  virtual bool SleepUntil(absl::Time deadline, const StopSignal& stop) = 0;
  // The process-wide real clock.
  static Clock* Real();
};

}  // namespace litesync
