// The check loop with a scripted judge and a fake clock (so rounds are exact), its
// notifications going to a real HTTP receiver on loopback: down once per incident
// and up on recovery, one verification at a time without holding up the checks, a
// failed verification as down naming the file, and what /metrics and /healthz show.
#include "cmd/monitor_daemon.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/monitor_metrics.h"
#include "heartbeat/pinger.h"
#include "replica/storage/file/file_settings.h"
#include "tests/cmd/cli_util.h"
#include "tests/heartbeat/log_capture.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/http_server.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::FakeClock;
using ::testing::HasSubstr;
using testing::HttpServer;
using ::testing::Not;

constexpr absl::Duration kCheck = absl::Seconds(10);

// Bounded real-time poll of `done`.
template <typename Pred>
bool Eventually(Pred done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time end = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A judge whose answers the test sets: per replica fresh or stale, and whether a
// verification passes; it counts calls and the most verifications at once.
class ScriptedJudge {
 public:
  explicit ScriptedJudge(Clock* clock) : clock_(clock) {}

  void SetFresh(const std::string& name, bool fresh) {
    std::lock_guard<std::mutex> lock(mu_);
    fresh_[name] = fresh;
  }
  void SetVerifyError(const std::string& name, std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    verify_error_[name] = std::move(error);
  }
  void SetVerifyTime(absl::Duration d) { verify_time_ = d; }
  int max_concurrent_verifications() const { return max_verifying_.load(); }

  MonitorDaemon::JudgeFn Fn() {
    return [this](const MonitoredReplica& r, bool verify) { return Judge(r, verify); };
  }

 private:
  ReplicaVerdict Judge(const MonitoredReplica& r, bool verify) {
    ReplicaVerdict v;
    v.replica = "file:///replicas/" + r.name;
    v.checked = clock_->Now();
    bool fresh;
    std::string verify_error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fresh = fresh_.count(r.name) == 0 || fresh_[r.name];
      verify_error = verify_error_[r.name];
    }
    v.fresh = fresh;
    v.state = fresh ? VerdictState::kFresh : VerdictState::kStale;
    v.current_at = v.checked - (fresh ? absl::Seconds(2) : absl::Minutes(20));
    if (!fresh) v.reason = "newest tx file captured 20m ago, max-age 10m";
    v.requests.Count(RequestOp::kList, true);
    v.requests.Count(RequestOp::kGet, true);
    if (verify) {
      int now_verifying = ++verifying_;
      int seen = max_verifying_.load();
      while (now_verifying > seen && !max_verifying_.compare_exchange_weak(seen, now_verifying)) {
      }
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(verify_time_));
      --verifying_;
      v.verification.ran = true;
      v.verification.ok = verify_error.empty();
      v.verification.error = verify_error;
      if (fresh && !verify_error.empty()) {
        v.fresh = false;
        v.state = VerdictState::kVerifyFailed;
        v.reason = verify_error;
      }
    }
    return v;
  }

  Clock* const clock_;
  std::mutex mu_;
  std::map<std::string, bool> fresh_;
  std::map<std::string, std::string> verify_error_;
  absl::Duration verify_time_ = absl::ZeroDuration();
  std::atomic<int> verifying_{0};
  std::atomic<int> max_verifying_{0};
};

class MonitorDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::InitCurlOnce(); }

  MonitoredReplica Replica(const std::string& name, absl::Duration verify = absl::ZeroDuration()) {
    MonitoredReplica r;
    r.name = name;
    r.replica.type = "file";
    r.replica.settings<FileSettings>().path = "/replicas/" + name;
    r.max_age = absl::Minutes(10);
    r.check_interval = kCheck;
    r.verify_interval = verify;
    return r;
  }
  MonitorTarget Kuma(const std::string& token, std::vector<std::string> replicas) {
    MonitorTarget t;
    t.url = Secret(server_.Url("/api/push/" + token + "?status={status}&msg={msg}"));
    t.replicas = std::move(replicas);
    t.interval = absl::Hours(1);
    t.timeout = absl::Seconds(5);
    return t;
  }
  // The checker's next round: the clock moves one check interval, the round's
  // checks complete, and the checker sleeps again (its notifications sent).
  void Round(MonitorDaemon& d, uint64_t checks_of_first) {
    clock_.Advance(kCheck);
    ASSERT_TRUE(Eventually([&] { return d.Snapshot()[0].checks >= checks_of_first; }));
    ASSERT_TRUE(clock_.WaitForSleepers(1));
  }
  std::vector<std::string> Queries() const {
    std::vector<std::string> out;
    for (const testing::HttpRequest& r : server_.Requests()) out.push_back(r.target);
    return out;
  }

  FakeClock clock_;
  ScriptedJudge judge_{&clock_};
  HttpServer server_;
  std::unique_ptr<Pinger> pinger_ = NewCurlPinger();
  testing::LogCapture logs_;
};

TEST_F(MonitorDaemonTest, AStaleReplicaIsDownOnceAndUpAgainAfterRecovery) {
  MonitorConfig c;
  c.replicas = {Replica("app")};
  c.targets = {Kuma("tok-app", {"app"})};
  MonitorDaemon d(c, judge_.Fn(), pinger_.get(), &clock_);
  d.Start();
  ASSERT_TRUE(Eventually([&] { return d.Snapshot()[0].checks >= 1; }));
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  ASSERT_EQ(server_.RequestCount(), 1u);
  EXPECT_THAT(Queries()[0], HasSubstr("status=up"));

  judge_.SetFresh("app", false);
  Round(d, 2);
  ASSERT_EQ(server_.RequestCount(), 2u);
  EXPECT_THAT(Queries()[1], HasSubstr("status=down"));
  EXPECT_THAT(Queries()[1], HasSubstr("captured%2020m%20ago"));
  Round(d, 3);
  Round(d, 4);
  EXPECT_EQ(server_.RequestCount(), 2u);  // once per incident

  judge_.SetFresh("app", true);
  Round(d, 5);
  ASSERT_EQ(server_.RequestCount(), 3u);
  EXPECT_THAT(Queries()[2], HasSubstr("status=up"));

  std::vector<MonitoredState> s = d.Snapshot();
  EXPECT_EQ(s[0].checks, 5u);
  EXPECT_EQ(s[0].check_failures, 3u);
  EXPECT_TRUE(s[0].good());
  EXPECT_EQ(s[0].requests.sent[static_cast<size_t>(RequestOp::kList)], 5u);
  EXPECT_EQ(MonitorHealthz(s).code, 200);
  d.Stop();
}

TEST_F(MonitorDaemonTest, VerificationsRunOneAtATimeAndDoNotHoldUpTheChecks) {
  judge_.SetVerifyTime(absl::Seconds(1));
  MonitorConfig c;
  c.replicas = {Replica("a", absl::Hours(1)), Replica("b", absl::Hours(1)),
                Replica("c", absl::Hours(1))};
  MonitorDaemon d(c, judge_.Fn(), pinger_.get(), &clock_);
  d.Start();
  ASSERT_TRUE(Eventually([&] { return d.Snapshot()[0].checks >= 1; }));
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  // While the verifier works through its queue, the checker keeps its rounds.
  Round(d, 2);
  Round(d, 3);
  EXPECT_EQ(d.Snapshot()[2].verifications, 0u);  // c waits its turn (a second each)
  ASSERT_TRUE(Eventually([&] {
    std::vector<MonitoredState> s = d.Snapshot();
    return s[0].verifications == 1 && s[1].verifications == 1 && s[2].verifications == 1;
  }));
  EXPECT_EQ(judge_.max_concurrent_verifications(), 1);
  for (const MonitoredState& s : d.Snapshot()) {
    EXPECT_EQ(s.last_good_verification != absl::InfinitePast(), true) << s.name;
  }
  d.Stop();
}

TEST_F(MonitorDaemonTest, AFailedVerificationIsDownWithTheFileNamed) {
  const std::string error =
      "restore: tx file 0000000000000001/0/0000000000000007-0000000000000007.ltx: checksum "
      "mismatch";
  judge_.SetVerifyError("app", error);
  MonitorConfig c;
  c.replicas = {Replica("app", absl::Hours(1))};
  c.targets = {Kuma("tok-app", {"app"})};
  MonitorDaemon d(c, judge_.Fn(), pinger_.get(), &clock_);
  d.Start();
  // The first check (fresh) and the verification (failed) race; either way one down.
  auto downs = [&] {
    std::vector<std::string> out;
    for (const std::string& q : Queries()) {
      if (q.find("status=down") != std::string::npos) out.push_back(q);
    }
    return out;
  };
  ASSERT_TRUE(Eventually([&] { return d.Snapshot()[0].verifications == 1; }));
  ASSERT_TRUE(Eventually([&] { return !downs().empty(); }));
  Round(d, 2);
  ASSERT_EQ(downs().size(), 1u);
  EXPECT_THAT(downs()[0], HasSubstr("0000000000000007-0000000000000007.ltx"));
  std::vector<MonitoredState> s = d.Snapshot();
  EXPECT_FALSE(s[0].good());
  EXPECT_EQ(s[0].verification_failures, 1u);
  HealthzAnswer h = MonitorHealthz(s);
  EXPECT_EQ(h.code, 503);
  EXPECT_THAT(h.body, HasSubstr("app: verification failed: " + error));
  std::string metrics =
      RenderMonitorMetrics(s, d.notifier().TargetStatuses(), clock_.Now(), clock_.Now());
  EXPECT_THAT(metrics, HasSubstr("litesync_monitor_verification_failures_total{replica=\"app\""));
  EXPECT_THAT(metrics, HasSubstr("litesync_monitor_replica_healthy{replica=\"app\","));
  EXPECT_THAT(metrics,
              HasSubstr("litesync_monitor_last_good_verification_timestamp_seconds{replica="
                        "\"app\",location=\"file:///replicas/app\"} 0\n"));
  for (const std::string& line : logs_.Lines()) EXPECT_THAT(line, Not(HasSubstr("tok-app")));
  d.Stop();
}

// A reload (SIGHUP) builds a new daemon: replicas that keep name and location
// keep their verdict and counters, under the new max-age; a replica moved
// elsewhere or added starts unjudged.
TEST_F(MonitorDaemonTest, ACarriedOverReplicaKeepsItsVerdictOnlyAtTheSameLocation) {
  MonitorConfig before;
  before.replicas = {Replica("app"), Replica("moved")};
  MonitorDaemon old(before, judge_.Fn(), pinger_.get(), &clock_);
  std::vector<MonitoredState> known = old.Snapshot();
  for (MonitoredState& s : known) {
    s.judged = s.fresh = true;
    s.checks = 7;
  }
  MonitorConfig after;
  after.replicas = {Replica("app"), Replica("moved"), Replica("new")};
  after.replicas[0].max_age = absl::Minutes(30);
  after.replicas[1].replica.settings<FileSettings>().path = "/elsewhere/moved";
  MonitorDaemon next(after, judge_.Fn(), pinger_.get(), &clock_);
  next.CarryOver(known);
  std::vector<MonitoredState> s = next.Snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(s[0].good());
  EXPECT_EQ(s[0].checks, 7u);
  EXPECT_EQ(s[0].max_age, absl::Minutes(30));
  EXPECT_FALSE(s[1].judged) << "another location is another replica";
  EXPECT_EQ(s[1].checks, 0u);
  EXPECT_FALSE(s[2].judged);
  EXPECT_EQ(MonitorHealthz(s).code, 503);
}

// After a reload, a replica whose last verification passed ten minutes ago is
// verified again when its hour is up, not at once; one whose verification failed
// (its identities fixed by the reload, say) and an added one are verified at once.
TEST_F(MonitorDaemonTest, AReloadKeepsTheScheduleOfAVerificationThatPassed) {
  MonitorConfig before;
  before.replicas = {Replica("kept", absl::Hours(1)), Replica("failed", absl::Hours(1))};
  MonitorDaemon old(before, judge_.Fn(), pinger_.get(), &clock_);
  std::vector<MonitoredState> known = old.Snapshot();
  for (MonitoredState& s : known) {
    s.judged = s.fresh = true;
    s.verifications = 1;
  }
  known[0].last_good_verification = clock_.Now() - absl::Minutes(10);
  known[1].verify_failed = true;
  known[1].verify_error = "no identity decrypts the replica";
  MonitorConfig after;
  after.replicas = {Replica("kept", absl::Hours(1)), Replica("failed", absl::Hours(1)),
                    Replica("new", absl::Hours(1))};
  MonitorDaemon next(after, judge_.Fn(), pinger_.get(), &clock_);
  next.CarryOver(known);
  next.Start();
  // Verifications run in the order they were queued: "kept" would have been first.
  ASSERT_TRUE(Eventually([&] {
    std::vector<MonitoredState> s = next.Snapshot();
    return s[1].verifications == 2 && s[2].verifications == 1;
  }));
  std::vector<MonitoredState> s = next.Snapshot();
  EXPECT_EQ(s[0].verifications, 1u) << "verified again at the reload";
  EXPECT_TRUE(s[1].good()) << s[1].Problem();
  ASSERT_TRUE(clock_.WaitForSleepers(1));
  clock_.Advance(absl::Minutes(50));
  ASSERT_TRUE(Eventually([&] { return next.Snapshot()[0].verifications == 2; }))
      << "not verified when its hour was up";
  next.Stop();
}

TEST_F(MonitorDaemonTest, HealthzIsUnhealthyUntilEveryReplicaWasJudged) {
  MonitoredState judged;
  judged.name = "a";
  judged.judged = judged.fresh = true;
  MonitoredState waiting;
  waiting.name = "b";
  waiting.location = "s3://bkt/b";
  std::vector<MonitoredState> s = {judged, waiting};
  HealthzAnswer h = MonitorHealthz(s);
  EXPECT_EQ(h.code, 503);
  EXPECT_EQ(h.body, "unhealthy\nb (s3://bkt/b): not judged yet\n");
  EXPECT_EQ(MonitorHealthz({}).code, 503);
}

// Every family, with every optional sample present, passes `promtool check metrics`.
TEST(MonitorMetricsTest, EveryFamilyPassesPromtool) {
  constexpr char kPromtool[] = "/usr/bin/promtool";
  if (!testing::FileExists(kPromtool)) GTEST_SKIP() << kPromtool << " missing (bash .ci/deps)";
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  MonitoredState a;
  a.name = "app \"quoted\"";
  a.location = "s3://bkt/app";
  a.max_age = absl::Minutes(10);
  a.judged = a.fresh = true;
  a.current_at = now - absl::Seconds(4);
  a.last_check = now;
  a.checks = 7;
  a.last_good_verification = now - absl::Hours(1);
  a.verifications = 1;
  a.requests.Count(RequestOp::kList, true);
  a.requests.Count(RequestOp::kGet, false);
  MonitoredState b;
  b.name = "ghost";
  b.location = "file:///replicas/ghost";
  HeartbeatTargetStatus t;
  t.url = "https://kuma.example.com/api/push/****?status=up";
  t.pings_sent = 3;
  t.down = true;
  std::vector<MonitoredState> states = {a, b};
  std::vector<HeartbeatTargetStatus> targets = {t};
  std::string text = RenderMonitorMetrics(states, targets, now, now - absl::Hours(2));
  EXPECT_THAT(text, HasSubstr("litesync_monitor_data_age_seconds{replica=\"app \\\"quoted\\\"\","
                              "location=\"s3://bkt/app\"} 4\n"));
  EXPECT_THAT(text, Not(HasSubstr("litesync_monitor_data_age_seconds{replica=\"ghost\"")));
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.Join("metrics.txt"), text);
  std::string log = dir.Join("promtool.log");
  int code = testing::RunProcess({"/bin/sh", "-c", "exec \"$1\" check metrics < \"$2\"", "sh",
                                  kPromtool, dir.Join("metrics.txt")},
                                 absl::Seconds(60), log);
  EXPECT_EQ(code, 0) << testing::ReadFileOrEmpty(log) << text;
}

}  // namespace
}  // namespace litesync
