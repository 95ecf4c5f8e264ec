#include "base/clock.h"

#include <chrono>

namespace litesync {

void StopSignal::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_.store(true);
  }
  cv_.notify_all();
}

bool StopSignal::WaitUntil(absl::Time deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto tp = absl::ToChronoTime(deadline);
  cv_.wait_until(lock, tp, [this] { return notified_.load(); });
  return notified_.load();
}

namespace {
class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  bool SleepUntil(absl::Time deadline, const StopSignal& stop) override {
    return !stop.WaitUntil(deadline);
  }
};
}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock();
  return clock;
}

}  // namespace litesync
