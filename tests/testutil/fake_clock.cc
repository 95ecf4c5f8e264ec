#include "tests/testutil/fake_clock.h"

#include <chrono>

namespace litesync::testing {

absl::Time FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

bool FakeClock::SleepUntil(absl::Time deadline, const StopSignal& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  ++sleepers_;
  cv_.notify_all();
  while (now_ < deadline && !stop.Notified()) {
    // Poll the stop signal briefly: StopSignal has its own condition variable.
    cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
  --sleepers_;
  return !stop.Notified();
}

void FakeClock::Advance(absl::Duration d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  cv_.notify_all();
}

bool FakeClock::WaitForSleepers(int n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] { return sleepers_ >= n; });
}

}  // namespace litesync::testing
