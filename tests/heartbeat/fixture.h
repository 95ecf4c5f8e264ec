// Shared set-up of the heartbeat tests: a fake clock, a real sync registry, a real
// HTTP receiver on loopback, and captured logs that must never show the URL token.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/secret.h"
#include "base/sync_record.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heartbeat/heartbeat_options.h"
#include "tests/heartbeat/log_capture.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/http_server.h"

namespace litesync::testing {

inline constexpr absl::Duration kCheckEvery = absl::Seconds(15);

class HeartbeatFixture : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& line : logs_.Lines()) {
      EXPECT_THAT(line, ::testing::Not(::testing::HasSubstr(std::string(kToken))));
    }
  }

  // A target on this test's receiver: url http://127.0.0.1:<port><prefix><token><suffix>.
  HeartbeatTarget Target(const std::string& prefix = "/ping/",
                         absl::Duration interval = absl::Minutes(1),
                         const std::string& suffix = "") {
    HeartbeatTarget t;
    t.url = Secret(server_.Url(prefix + std::string(kToken) + suffix));
    t.interval = interval;
    t.timeout = absl::Seconds(5);
    return t;
  }
  HeartbeatOptions Options(std::vector<HeartbeatTarget> targets) {
    HeartbeatOptions o;
    o.targets = std::move(targets);
    o.check_every = kCheckEvery;
    return o;
  }
  // The time of the n-th check after the start.
  absl::Time At(int n) const { return t0_ + n * kCheckEvery; }

  void Synced(const std::string& db, absl::Time when, const std::string& replica = "file:///r") {
    registry_.Update(db, replica, [&](SyncRecord& r) {
      r.last_success = when;
      r.last_error = absl::OkStatus();
    });
  }
  void Failing(const std::string& db, absl::Status error,
               const std::string& replica = "file:///r") {
    registry_.Update(db, replica, [&](SyncRecord& r) { r.last_error = error; });
  }

  LogCapture logs_;  // declared first: outlives everything that logs
  FakeClock clock_;
  const absl::Time t0_ = clock_.Now();
  SyncRegistry registry_;
  HttpServer server_;
};

}  // namespace litesync::testing
