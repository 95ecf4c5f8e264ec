// A Clock whose time moves only on Advance(). SleepUntil blocks until the fake
// time reaches the deadline or the stop signal fires. Thread-safe.
#pragma once

#include <condition_variable>
#include <mutex>

#include "base/clock.h"

namespace litesync::testing {

class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}
  absl::Time Now() const override;
  bool SleepUntil(absl::Time deadline, const StopSignal& stop) override;
  void Advance(absl::Duration d);
  // Blocks (real time, bounded by `timeout`) until `n` threads are sleeping.
  bool WaitForSleepers(int n, absl::Duration timeout = absl::Seconds(10));

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  absl::Time now_;
  int sleepers_ = 0;
};

}  // namespace litesync::testing
