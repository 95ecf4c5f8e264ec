// Calls a function every `every` on its own thread until stopped. The function gets
// the scheduled time of its tick; a tick that overran by a whole period or more is
// not made up for (no burst after a slow tick). Start() and Stop() are called from
// one owning thread; a Ticker is started at most once.
#pragma once

#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "base/clock.h"

namespace litesync {

class Ticker {
 public:
  // `clock` must outlive this ticker.
  Ticker(Clock* clock, absl::Duration every, std::function<void(absl::Time)> tick);
  ~Ticker();  // Stop()
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  void Start();
  // Fires the stop signal (a tick in progress sees it) and joins. Idempotent.
  void Stop();
  // Fired when Stop() begins; ticks pass it to their blocking calls.
  const StopSignal& stop_signal() const { return stop_; }

 private:
  void Run(absl::Time first);

  Clock* const clock_;
  const absl::Duration every_;
  const std::function<void(absl::Time)> tick_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace litesync
