// The heartbeat's decisions, driven one check at a time (Heartbeat::Check) against a
// real receiver on loopback: each check returns only after its pings completed, so
// "no request" after a check is a fact, not a timing guess.
#include "heartbeat/heartbeat.h"

#include <string>
#include <vector>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/heartbeat/fixture.h"

namespace litesync {
namespace {

using ::litesync::testing::HeartbeatFixture;
using ::litesync::testing::HttpResponse;
using ::litesync::testing::kToken;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The value of `key` in a query string, percent-decoded.
std::string QueryValue(const std::string& query, const std::string& key) {
  for (size_t pos = 0; pos <= query.size();) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (kv.rfind(key + "=", 0) == 0) return PercentDecode(kv.substr(key.size() + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "<absent>";
}

class HeartbeatTest : public HeartbeatFixture {
 protected:
  // Runs checks first..last, calling `before(n)` ahead of each; returns the checks
  // after which the receiver had seen a new request.
  template <typename Fn>
  std::vector<int> RunChecks(Heartbeat& hb, int first, int last, Fn before) {
    std::vector<int> pinged;
    for (int n = first; n <= last; ++n) {
      before(n);
      size_t count = server_.RequestCount();
      hb.Check(At(n));
      if (server_.RequestCount() > count) pinged.push_back(n);
    }
    return pinged;
  }
  std::vector<std::string> Paths() {
    std::vector<std::string> out;
    for (const auto& r : server_.Requests()) out.push_back(r.path);
    return out;
  }
  const std::string token_ = std::string(kToken);
};

TEST_F(HeartbeatTest, AllHealthyPingsExactlyOncePerInterval) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  std::vector<int> pinged = RunChecks(hb, 1, 20, [&](int n) {
    Synced("/data/a.db", At(n));
    Synced("/data/b.db", At(n) - absl::Seconds(2));
  });
  // Every 15 s a check, every 60 s a ping: 15 s, 75 s, 135 s, 195 s, 255 s.
  EXPECT_THAT(pinged, ElementsAre(1, 5, 9, 13, 17));
  for (const auto& req : server_.Requests()) {
    EXPECT_EQ(req.method, "GET");
    EXPECT_EQ(req.path, "/ping/" + token_);
  }
  std::vector<std::string> sent = logs_.WithMsg("heartbeat sent");
  ASSERT_THAT(sent, SizeIs(5));
  EXPECT_THAT(sent[0], HasSubstr(fmt::format("url=http://127.0.0.1:{}/ping/**** status=200 "
                                             "elapsed_ms=",
                                             server_.port())));
  EXPECT_THAT(logs_.WithMsg("heartbeat skipped"), IsEmpty());
  HeartbeatTargetStatus st = hb.TargetStatuses().at(0);
  EXPECT_EQ(st.pings_sent, 5u);
  EXPECT_TRUE(st.last_ok);
  EXPECT_EQ(st.last_result, "HTTP 200");
  EXPECT_EQ(st.last_success, At(17));
  EXPECT_EQ(st.next_due, At(21));
  EXPECT_FALSE(st.withholding);
}

TEST_F(HeartbeatTest, FiveMinuteIntervalPingsEveryFiveMinutes) {
  Heartbeat hb(Options({Target("/ping/", absl::Minutes(5))}), &registry_, &clock_);
  std::vector<int> pinged = RunChecks(hb, 1, 41, [&](int n) { Synced("/data/a.db", At(n)); });
  EXPECT_THAT(pinged, ElementsAre(1, 21, 41));
}

TEST_F(HeartbeatTest, IntervalBelowOneMinuteStillPingsAtMostOncePerMinute) {
  // The parser clamps 30 s to 1 m; the heartbeat does not rely on it.
  Heartbeat hb(Options({Target("/ping/", absl::Seconds(30))}), &registry_, &clock_);
  std::vector<int> pinged = RunChecks(hb, 1, 12, [&](int n) { Synced("/data/a.db", At(n)); });
  EXPECT_THAT(pinged, ElementsAre(1, 5, 9));
}

TEST_F(HeartbeatTest, WithholdsAndNamesEveryUnhealthyDatabase) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  Synced("/data/ok.db", At(1));
  Synced("/data/stale.db", At(1) - absl::Minutes(10));
  registry_.Register("/data/never.db", "file:///r");
  // The replica is unreachable and nothing was written: last_success stopped moving.
  Synced("/data/unreachable.db", At(1) - absl::Minutes(3), "s3://bkt/u");
  Failing("/data/unreachable.db", absl::UnavailableError("list s3://bkt/u: connection refused"),
          "s3://bkt/u");
  hb.Check(At(1));

  EXPECT_EQ(server_.RequestCount(), 0u);
  std::vector<std::string> skipped = logs_.WithMsg("heartbeat skipped");
  EXPECT_THAT(skipped, SizeIs(3));
  EXPECT_THAT(skipped, Each(HasSubstr("level=WARN msg=\"heartbeat skipped\" "
                                      "reason=\"database not synced\" db=/data/")));
  EXPECT_THAT(skipped, Contains(AllOf(HasSubstr("db=/data/stale.db"),
                                      HasSubstr("detail=\"last sync too old\""),
                                      HasSubstr("last_sync_age=10m"), HasSubstr("interval=1m"))));
  EXPECT_THAT(skipped,
              Contains(AllOf(HasSubstr("db=/data/never.db"), HasSubstr("detail=\"never synced\""),
                             HasSubstr("last_sync_age=never"))));
  EXPECT_THAT(skipped,
              Contains(AllOf(HasSubstr("db=/data/unreachable.db"), HasSubstr("replica=s3://bkt/u"),
                             HasSubstr("detail=\"sync error\""), HasSubstr("last_sync_age=3m"),
                             HasSubstr("err=\"list s3://bkt/u: connection refused\""))));
  EXPECT_THAT(skipped, Each(Not(HasSubstr("ok.db"))));
  HeartbeatTargetStatus st = hb.TargetStatuses().at(0);
  EXPECT_TRUE(st.withholding);
  EXPECT_THAT(st.reasons, SizeIs(3));

  // Once they all sync, the next check pings: the silence above was the rule's.
  for (const char* db : {"/data/ok.db", "/data/stale.db", "/data/never.db"}) Synced(db, At(2));
  Synced("/data/unreachable.db", At(2), "s3://bkt/u");
  hb.Check(At(2));
  EXPECT_EQ(server_.RequestCount(), 1u);
  EXPECT_FALSE(hb.TargetStatuses().at(0).withholding);
}

TEST_F(HeartbeatTest, SkippedLinesRepeatOncePerIntervalWhileUnhealthy) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  Synced("/data/stale.db", At(0) - absl::Minutes(10));
  std::vector<size_t> lines;
  for (int n = 1; n <= 9; ++n) {
    hb.Check(At(n));
    lines.push_back(logs_.WithMsg("heartbeat skipped").size());
  }
  EXPECT_THAT(lines, ElementsAre(1, 1, 1, 1, 2, 2, 2, 2, 3));
  EXPECT_EQ(server_.RequestCount(), 0u);
}

TEST_F(HeartbeatTest, RetriesAFailedPingWithBackoffThenAgainNextInterval) {
  for (int i = 0; i < 4; ++i) server_.Enqueue(HttpResponse::Status(500));
  Heartbeat hb(Options({Target("/ping/", absl::Minutes(5))}), &registry_, &clock_);
  std::vector<int> pinged = RunChecks(hb, 1, 25, [&](int n) { Synced("/data/a.db", At(n)); });
  // Fails at 15 s, retried 15 s, 30 s and 60 s later; the next interval (315 s) succeeds.
  EXPECT_THAT(pinged, ElementsAre(1, 2, 4, 8, 21));
  std::vector<std::string> failed = logs_.WithMsg("heartbeat failed");
  ASSERT_THAT(failed, SizeIs(4));
  EXPECT_THAT(failed, Each(AllOf(HasSubstr("level=ERROR"), HasSubstr("error=\"HTTP 500\""))));
  EXPECT_THAT(failed[0], HasSubstr("retry_in=15s"));
  EXPECT_THAT(failed[1], HasSubstr("retry_in=30s"));
  EXPECT_THAT(failed[2], HasSubstr("retry_in=1m"));
  EXPECT_THAT(failed[3], HasSubstr("retry_in=\"next interval\""));
  EXPECT_THAT(logs_.WithMsg("heartbeat sent"), SizeIs(1));
  HeartbeatTargetStatus st = hb.TargetStatuses().at(0);
  EXPECT_EQ(st.pings_failed, 4u);
  EXPECT_EQ(st.pings_sent, 1u);
  EXPECT_TRUE(st.last_ok);
}

TEST_F(HeartbeatTest, RefusedReceiverIsLoggedRetriedAndLeavesRecordsAlone) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  const std::vector<SyncRecord> before = registry_.Snapshot();
  server_.StopListening();
  hb.Check(At(1));
  std::vector<std::string> failed = logs_.WithMsg("heartbeat failed");
  ASSERT_THAT(failed, SizeIs(1));
  EXPECT_THAT(failed[0], HasSubstr("onnect"));
  EXPECT_THAT(failed[0],
              HasSubstr(fmt::format("url=http://127.0.0.1:{}/ping/****", server_.port())));
  HeartbeatTargetStatus st = hb.TargetStatuses().at(0);
  EXPECT_FALSE(st.last_ok);
  EXPECT_THAT(st.last_result, Not(HasSubstr(token_)));

  // The failure touched nothing the replication engine owns.
  const std::vector<SyncRecord> after = registry_.Snapshot();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after[0].last_success, before[0].last_success);
  EXPECT_TRUE(after[0].last_error.ok());
  EXPECT_TRUE(Evaluate(after, At(1), absl::Minutes(1)).healthy);

  ASSERT_TRUE(server_.Listen());
  hb.Check(At(2));  // the retry
  EXPECT_EQ(server_.RequestCount(), 1u);
  EXPECT_THAT(logs_.WithMsg("heartbeat sent"), SizeIs(1));
}

TEST_F(HeartbeatTest, HangingReceiverTimesOutAndIsRetried) {
  server_.Enqueue(HttpResponse::Hang());
  HeartbeatTarget t = Target();
  t.timeout = absl::Milliseconds(300);
  Heartbeat hb(Options({t}), &registry_, &clock_);
  Synced("/data/a.db", At(2));
  hb.Check(At(1));
  std::vector<std::string> failed = logs_.WithMsg("heartbeat failed");
  ASSERT_THAT(failed, SizeIs(1));
  EXPECT_THAT(failed[0], HasSubstr("timed out"));
  hb.Check(At(2));
  EXPECT_EQ(server_.RequestCount(), 2u);
  EXPECT_THAT(logs_.WithMsg("heartbeat sent"), SizeIs(1));
}

TEST_F(HeartbeatTest, FailUrlIsCalledOnceOnTransitionAndReArmedAfterRecovery) {
  HeartbeatTarget t = Target();
  t.fail_url = Secret(server_.Url("/fail/" + token_));
  Heartbeat hb(Options({t}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  std::vector<int> pinged = RunChecks(hb, 1, 24, [&](int n) {
    if (n == 13) Synced("/data/a.db", At(13));  // recovers once, then stalls again
  });
  // 15 s up, 75 s up (last sync exactly one interval old), 90 s bad: fail once;
  // 195 s recovered: up at once; 255 s up; 270 s bad again: fail again.
  EXPECT_THAT(pinged, ElementsAre(1, 5, 6, 13, 17, 18));
  const std::string up = "/ping/" + token_, fail = "/fail/" + token_;
  EXPECT_THAT(Paths(), ElementsAre(up, up, fail, up, up, fail));
  EXPECT_THAT(logs_.WithMsg("heartbeat down sent"), SizeIs(2));
  EXPECT_THAT(logs_.WithMsg("heartbeat recovered"), SizeIs(1));
  EXPECT_TRUE(hb.TargetStatuses().at(0).down);
}

TEST_F(HeartbeatTest, NoDownNotificationDuringTheFirstInterval) {
  // A first sync may take a while (a large snapshot): no alarm before one interval.
  HeartbeatTarget t = Target();
  t.fail_url = Secret(server_.Url("/fail/" + token_));
  Heartbeat hb(Options({t}), &registry_, &clock_);
  registry_.Register("/data/a.db", "file:///r");
  std::vector<int> pinged = RunChecks(hb, 1, 8, [](int) {});
  EXPECT_THAT(pinged, ElementsAre(4));
  EXPECT_THAT(Paths(), ElementsAre("/fail/" + token_));
}

TEST_F(HeartbeatTest, KumaUrlGetsStatusDownOnceWithoutFailUrl) {
  Heartbeat hb(
      Options({Target("/api/push/", absl::Minutes(1), "?status={status}&msg={msg}&ping={ping}")}),
      &registry_, &clock_);
  Synced("/data/a.db", At(1) - absl::Seconds(2));
  std::vector<int> pinged = RunChecks(hb, 1, 12, [&](int n) {
    if (n == 10) Synced("/data/a.db", At(10));
  });
  EXPECT_THAT(pinged, ElementsAre(1, 5, 10));
  auto reqs = server_.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].path, "/api/push/" + token_);
  EXPECT_EQ(reqs[0].query, "status=up&msg=OK&ping=2000");
  EXPECT_EQ(QueryValue(reqs[1].query, "status"), "down");
  EXPECT_EQ(QueryValue(reqs[1].query, "msg"),
            "/data/a.db (file:///r): last sync too old (1m2s ago, interval 1m)");
  EXPECT_EQ(QueryValue(reqs[1].query, "ping"), "62000");
  EXPECT_EQ(reqs[2].query, "status=up&msg=OK&ping=0");
  EXPECT_THAT(logs_.WithMsg("heartbeat down sent"),
              ElementsAre(HasSubstr("/api/push/****?status={status}&msg={msg}&ping={ping}")));
}

TEST_F(HeartbeatTest, PlainUrlStaysSilentWhileUnhealthy) {
  Heartbeat hb(Options({Target()}), &registry_, &clock_);
  registry_.Register("/data/a.db", "file:///r");
  std::vector<int> pinged = RunChecks(hb, 1, 12, [](int) {});
  EXPECT_THAT(pinged, IsEmpty());
  EXPECT_TRUE(hb.TargetStatuses().at(0).down);
  EXPECT_THAT(logs_.WithMsg("heartbeat skipped"), SizeIs(3));
  Synced("/data/a.db", At(13));
  hb.Check(At(13));
  EXPECT_EQ(server_.RequestCount(), 1u);
}

TEST_F(HeartbeatTest, KumaMsgIsTruncatedAt500Characters) {
  HeartbeatTarget t = Target("/api/push/", absl::Minutes(1), "?status={status}&msg={msg}");
  Heartbeat hb(Options({t}), &registry_, &clock_);
  const std::string db = "/data/" + std::string(600, 'd') + ".db";
  registry_.Register(db, "file:///r");
  RunChecks(hb, 1, 4, [](int) {});
  ASSERT_EQ(server_.RequestCount(), 1u);
  std::string msg = QueryValue(server_.Requests()[0].query, "msg");
  EXPECT_EQ(msg, db.substr(0, 500));
}

TEST_F(HeartbeatTest, SeveralTargetsWithDatabaseSubsets) {
  HeartbeatTarget a = Target("/a/"), b = Target("/b/"), all = Target("/all/"),
                  typo = Target("/typo/");
  a.databases = {"/data/a.db"};
  b.databases = {"/data/b.db"};
  typo.databases = {"/data/a.db", "/data/typo.db"};
  Heartbeat hb(Options({a, b, all, typo}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  Synced("/data/b.db", At(1) - absl::Minutes(5));
  hb.Check(At(1));
  EXPECT_THAT(Paths(), ElementsAre("/a/" + token_));
  std::vector<std::string> skipped = logs_.WithMsg("heartbeat skipped");
  EXPECT_THAT(skipped, ElementsAre(AllOf(HasSubstr("db=/data/b.db"), HasSubstr("target=2")),
                                   AllOf(HasSubstr("db=/data/b.db"), HasSubstr("target=3")),
                                   AllOf(HasSubstr("reason=\"database not configured\""),
                                         HasSubstr("db=/data/typo.db"), HasSubstr("target=4"))));
  std::vector<HeartbeatTargetStatus> st = hb.TargetStatuses();
  ASSERT_EQ(st.size(), 4u);
  EXPECT_FALSE(st[0].withholding);
  EXPECT_TRUE(st[1].withholding);
  EXPECT_TRUE(st[2].withholding);
  EXPECT_THAT(st[3].reasons, ElementsAre("/data/typo.db: database not configured"));

  Synced("/data/b.db", At(2));
  hb.Check(At(2));
  std::vector<std::string> paths = Paths();
  EXPECT_EQ(paths.at(0), "/a/" + token_);
  // One check's pings go out together, so they may arrive in any order.
  EXPECT_THAT(std::vector<std::string>(paths.begin() + 1, paths.end()),
              UnorderedElementsAre("/b/" + token_, "/all/" + token_));
}

TEST_F(HeartbeatTest, PostMethodIsUsedWhenConfigured) {
  HeartbeatTarget t = Target();
  t.method = "POST";
  Heartbeat hb(Options({t}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  hb.Check(At(1));
  ASSERT_EQ(server_.RequestCount(), 1u);
  EXPECT_EQ(server_.Requests()[0].method, "POST");
}

TEST_F(HeartbeatTest, StatusesNeverShowTheToken) {
  HeartbeatTarget t = Target("/api/push/", absl::Minutes(1), "?status={status}");
  t.fail_url = Secret(server_.Url("/fail/" + token_ + "?id=" + token_));
  server_.SetDefault(HttpResponse::Status(503));
  Heartbeat hb(Options({t}), &registry_, &clock_);
  Synced("/data/a.db", At(1));
  hb.Check(At(1));
  Synced("/data/a.db", At(0) - absl::Minutes(5));
  hb.Check(At(5));
  std::vector<HeartbeatTargetStatus> st = hb.TargetStatuses();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].url,
            fmt::format("http://127.0.0.1:{}/api/push/****?status={{status}}", server_.port()));
  EXPECT_EQ(st[0].last_result, "HTTP 503");
  EXPECT_EQ(st[0].pings_failed, 2u);
  EXPECT_TRUE(st[0].down);
  for (const std::string& r : st[0].reasons) EXPECT_THAT(r, Not(HasSubstr(token_)));
  EXPECT_THAT(
      logs_.WithMsg("heartbeat failed"),
      Contains(HasSubstr(fmt::format("url=\"http://127.0.0.1:{}/****?id=****\" error=\"HTTP 503\" "
                                     "kind=down attempt=1 retry_in=\"not retried\"",
                                     server_.port()))));
}

}  // namespace
}  // namespace litesync
