// The monitor's notifications against a real HTTP receiver on loopback: down once
// per incident, up on recovery, aggregate versus per-replica targets, retries of a
// down notification that failed, and no token in any log line.
#include "cmd/monitor_notifier.h"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heartbeat/pinger.h"
#include "tests/heartbeat/log_capture.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/s3_server.h"

namespace litesync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HttpServer;
using ::testing::IsEmpty;
using testing::kToken;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

ReplicaHealth Good(const std::string& name) {
  return {.name = name, .judged = true, .good = true, .reason = "", .data_age = absl::Seconds(3)};
}
ReplicaHealth Bad(const std::string& name, const std::string& why = "stale: newest data 6m old") {
  return {.name = name,
          .judged = true,
          .good = false,
          .reason = name + ": " + why,
          .data_age = absl::Minutes(6)};
}

class MonitorNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::InitCurlOnce(); }

  // A Kuma-style push target for `replicas`; its path carries the token.
  MonitorTarget Kuma(const std::string& path, std::vector<std::string> replicas,
                     absl::Duration interval = absl::Hours(1)) {
    MonitorTarget t;
    t.url = Secret(server_.Url("/api/push/" + path + std::string(kToken) +
                               "?status={status}&msg={msg}&ping={ping}"));
    t.replicas = std::move(replicas);
    t.interval = interval;
    t.timeout = absl::Seconds(5);
    return t;
  }

  // Requests' targets (path and query) received so far.
  std::vector<std::string> Targets() const {
    std::vector<std::string> out;
    for (const testing::HttpRequest& r : server_.Requests()) out.push_back(r.target);
    return out;
  }

  void ExpectNoTokenInLogs() {
    for (const std::string& line : logs_.Lines()) {
      EXPECT_THAT(line, Not(HasSubstr(std::string(kToken))));
    }
  }

  HttpServer server_;
  std::unique_ptr<Pinger> pinger_ = NewCurlPinger();
  StopSignal stop_;
  testing::LogCapture logs_;
};

TEST_F(MonitorNotifierTest, DownIsSentOnceAtOnceAndUpAgainOnRecovery) {
  MonitorNotifier n({Kuma("a-", {"app"})}, pinger_.get());
  std::vector<ReplicaHealth> h = {Good("app")};
  n.Update(h, kT0, stop_);
  ASSERT_EQ(server_.RequestCount(), 1u);
  EXPECT_THAT(server_.Requests()[0].query, HasSubstr("status=up&msg=OK&ping=3000"));
  n.Update(h, kT0 + absl::Seconds(10), stop_);  // within the interval: nothing
  EXPECT_EQ(server_.RequestCount(), 1u);

  h = {Bad("app")};
  n.Update(h, kT0 + absl::Seconds(20), stop_);
  ASSERT_EQ(server_.RequestCount(), 2u);
  EXPECT_THAT(server_.Requests()[1].query, HasSubstr("status=down&msg=app%3A%20stale"));
  n.Update(h, kT0 + absl::Seconds(30), stop_);  // the same incident: once
  n.Update(h, kT0 + absl::Hours(3), stop_);
  EXPECT_EQ(server_.RequestCount(), 2u);
  EXPECT_TRUE(n.TargetStatuses()[0].down);

  h = {Good("app")};
  n.Update(h, kT0 + absl::Hours(3) + absl::Seconds(1), stop_);  // recovery: up at once
  ASSERT_EQ(server_.RequestCount(), 3u);
  EXPECT_THAT(server_.Requests()[2].query, HasSubstr("status=up"));
  EXPECT_FALSE(n.TargetStatuses()[0].down);
  EXPECT_EQ(n.TargetStatuses()[0].pings_sent, 3u);

  h = {Bad("app", "verify-failed: tx file 0000000000000001/0/00000007-00000007 checksum")};
  n.Update(h, kT0 + absl::Hours(4), stop_);  // a new incident: down again
  ASSERT_EQ(server_.RequestCount(), 4u);
  EXPECT_THAT(server_.Requests()[3].query, HasSubstr("status=down&msg=app%3A%20verify-failed"));
  ExpectNoTokenInLogs();
}

TEST_F(MonitorNotifierTest, FailUrlTakesTheDownAndUrlTheUps) {
  MonitorTarget t;
  t.url = Secret(server_.Url("/hc/" + std::string(kToken)));
  t.fail_url = Secret(server_.Url("/hc/" + std::string(kToken) + "/fail?why={msg}"));
  t.timeout = absl::Seconds(5);
  MonitorNotifier n({t}, pinger_.get());
  std::vector<ReplicaHealth> h = {Bad("app")};
  n.Update(h, kT0, stop_);
  h = {Good("app")};
  n.Update(h, kT0 + absl::Seconds(5), stop_);
  std::vector<testing::HttpRequest> got = server_.Requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].path, "/hc/" + std::string(kToken) + "/fail");
  EXPECT_THAT(got[0].query, HasSubstr("why=app%3A%20stale"));
  EXPECT_EQ(got[1].path, "/hc/" + std::string(kToken));
  ExpectNoTokenInLogs();
}

TEST_F(MonitorNotifierTest, AnAggregateTargetPingsOnlyWhileEveryReplicaIsGood) {
  MonitorNotifier n({Kuma("all-", {}, absl::Seconds(1)), Kuma("b-", {"b"}, absl::Seconds(1))},
                    pinger_.get());
  std::vector<ReplicaHealth> h = {Bad("a"), Good("b")};
  n.Update(h, kT0, stop_);
  n.Update(h, kT0 + absl::Seconds(2), stop_);
  std::vector<std::string> got = Targets();
  // The aggregate: one down; b's own target: an up per interval.
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const std::string& s) {
                            return s.find("/all-") != std::string::npos &&
                                   s.find("status=down") != std::string::npos;
                          }),
            1);
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const std::string& s) {
                            return s.find("/b-") != std::string::npos &&
                                   s.find("status=up") != std::string::npos;
                          }),
            2);
  EXPECT_TRUE(n.TargetStatuses()[0].withholding);
  EXPECT_THAT(n.TargetStatuses()[0].reasons, ElementsAre(HasSubstr("a: stale")));
  EXPECT_FALSE(n.TargetStatuses()[1].withholding);

  h = {Good("a"), Good("b")};
  n.Update(h, kT0 + absl::Seconds(3), stop_);
  got = Targets();
  ASSERT_EQ(got.size(), 5u);  // the aggregate's up at once, and b's (its interval passed)
  EXPECT_THAT(got[3] + got[4], HasSubstr("/all-"));
}

TEST_F(MonitorNotifierTest, NothingIsSentUntilEveryCoveredReplicaWasJudged) {
  MonitorNotifier n({Kuma("all-", {})}, pinger_.get());
  ReplicaHealth unjudged;
  unjudged.name = "b";
  std::vector<ReplicaHealth> h = {Good("a"), unjudged};
  n.Update(h, kT0, stop_);
  EXPECT_EQ(server_.RequestCount(), 0u);
}

TEST_F(MonitorNotifierTest, AFailedDownNotificationIsRetriedUntilAnswered) {
  server_.Enqueue(testing::HttpResponse::Status(503));
  MonitorNotifier n({Kuma("a-", {"app"})}, pinger_.get());
  std::vector<ReplicaHealth> h = {Bad("app")};
  n.Update(h, kT0, stop_);
  n.Update(h, kT0 + absl::Seconds(1), stop_);  // retried: answered 200 now
  n.Update(h, kT0 + absl::Seconds(2), stop_);  // delivered: not again
  ASSERT_EQ(server_.RequestCount(), 2u);
  for (const std::string& t : Targets()) EXPECT_THAT(t, HasSubstr("status=down"));
  EXPECT_EQ(n.TargetStatuses()[0].pings_failed, 1u);
  EXPECT_EQ(n.TargetStatuses()[0].pings_sent, 1u);
  EXPECT_THAT(logs_.WithMsg("monitor ping failed"), Not(IsEmpty()));
  ExpectNoTokenInLogs();
}

TEST_F(MonitorNotifierTest, ATargetWithoutStatusOrFailUrlStaysSilentWhenDown) {
  MonitorTarget t;
  t.url = Secret(server_.Url("/hc/" + std::string(kToken)));
  t.timeout = absl::Seconds(5);
  MonitorNotifier n({t}, pinger_.get());
  std::vector<ReplicaHealth> h = {Bad("app")};
  n.Update(h, kT0, stop_);
  EXPECT_EQ(server_.RequestCount(), 0u);  // its monitor's own timeout is the alarm
  EXPECT_TRUE(n.TargetStatuses()[0].down);
}

}  // namespace
}  // namespace litesync
