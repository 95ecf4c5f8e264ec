#include "heartbeat/ticker.h"

#include <utility>

namespace litesync {

Ticker::Ticker(Clock* clock, absl::Duration every, std::function<void(absl::Time)> tick)
    : clock_(clock), every_(every), tick_(std::move(tick)) {}

Ticker::~Ticker() { Stop(); }

void Ticker::Start() {
  if (thread_.joinable() || stop_.Notified()) return;
  // The first deadline is read here, not in the thread, so a test that advances a
  // fake clock right after Start() cannot race with it.
  absl::Time first = clock_->Now() + every_;
  thread_ = std::thread([this, first] { Run(first); });
}

void Ticker::Stop() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void Ticker::Run(absl::Time next) {
  while (clock_->SleepUntil(next, stop_)) {
    tick_(next);
    next += every_;
    if (absl::Time now = clock_->Now(); next + every_ <= now) next = now;
  }
}

}  // namespace litesync
