#include "cmd/heartbeat_command.h"

#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/heartbeat/fixture.h"

namespace litesync {
namespace {

using ::litesync::testing::HeartbeatFixture;
using ::litesync::testing::HttpResponse;
using ::litesync::testing::kToken;
using ::testing::HasSubstr;
using ::testing::Not;

class HeartbeatCommandTest : public HeartbeatFixture {
 protected:
  int Run(const HeartbeatOptions& options, bool send) {
    out_.clear();
    int rc = RunHeartbeatCommand(options, registry_, send, At(1), *pinger_, &out_);
    EXPECT_THAT(out_, Not(HasSubstr(std::string(kToken))));
    return rc;
  }
  std::unique_ptr<Pinger> pinger_ = NewCurlPinger();
  std::string out_;
};

TEST_F(HeartbeatCommandTest, SaysItWouldPingWhenHealthy) {
  Synced("/data/a.db", At(1) - absl::Seconds(3));
  Synced("/data/b.db", At(1));
  EXPECT_EQ(Run(Options({Target()}), /*send=*/false), 0);
  EXPECT_EQ(out_, fmt::format("heartbeat http://127.0.0.1:{}/ping/**** (GET, interval 1m, all "
                              "databases)\n  would ping: 2 databases healthy, worst lag 3s\n",
                              server_.port()));
  EXPECT_EQ(server_.RequestCount(), 0u);
}

TEST_F(HeartbeatCommandTest, NamesEveryUnhealthyDatabaseAndSendsNothing) {
  Synced("/data/a.db", At(1) - absl::Minutes(6));
  registry_.Register("/data/b.db", "file:///r");
  Synced("/data/c.db", At(1));
  EXPECT_EQ(Run(Options({Target()}), /*send=*/true), 1);
  EXPECT_THAT(out_,
              HasSubstr("would not ping: 2 problems\n"
                        "    /data/a.db (file:///r): last sync too old (6m ago, interval 1m)\n"
                        "    /data/b.db (file:///r): never synced\n"
                        "  not sent\n"));
  EXPECT_EQ(server_.RequestCount(), 0u);
}

TEST_F(HeartbeatCommandTest, SendPingsOnceIgnoringTheInterval) {
  Synced("/data/a.db", At(1));
  EXPECT_EQ(Run(Options({Target()}), /*send=*/true), 0);
  EXPECT_THAT(out_, HasSubstr("  sent: HTTP 200 in "));
  EXPECT_EQ(Run(Options({Target()}), /*send=*/true), 0);
  EXPECT_EQ(server_.RequestCount(), 2u);
}

TEST_F(HeartbeatCommandTest, FailedSendReturnsOne) {
  server_.SetDefault(HttpResponse::Status(500));
  Synced("/data/a.db", At(1));
  EXPECT_EQ(Run(Options({Target()}), /*send=*/true), 1);
  EXPECT_THAT(out_, HasSubstr("  send failed: HTTP 500\n"));
}

TEST_F(HeartbeatCommandTest, ReportsEveryTargetWithItsDatabases) {
  Synced("/data/a.db", At(1));
  Synced("/data/b.db", At(1) - absl::Hours(1));
  HeartbeatTarget a = Target("/a/"), b = Target("/api/push/", absl::Minutes(5), "?status={status}");
  a.databases = {"/data/a.db"};
  b.databases = {"/data/b.db", "/data/x.db"};
  b.method = "POST";
  EXPECT_EQ(Run(Options({a, b}), /*send=*/false), 1);
  EXPECT_THAT(out_, HasSubstr("(GET, interval 1m, databases: /data/a.db)\n  would ping: 1 database "
                              "healthy"));
  EXPECT_THAT(out_, HasSubstr("/api/push/****?status={status} (POST, interval 5m, databases: "
                              "/data/b.db, /data/x.db)\n  would not ping: 2 problems\n"));
  EXPECT_THAT(out_, HasSubstr("    /data/x.db: database not configured\n"));
}

TEST_F(HeartbeatCommandTest, WithoutTargetsReturnsOne) {
  EXPECT_EQ(Run(Options({}), /*send=*/false), 1);
  EXPECT_EQ(out_, "no heartbeat configured (set heartbeat-url)\n");
}

TEST_F(HeartbeatCommandTest, ConfigEntryPointPrintsToStdout) {
  Config config;
  config.heartbeat = Options({Target()});
  Synced("/data/a.db", absl::Now());  // this entry point reads the real clock
  ::testing::internal::CaptureStdout();
  int rc = RunHeartbeatCommand(config, registry_, /*send=*/true);
  std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(printed, HasSubstr("would ping: 1 database healthy"));
  EXPECT_THAT(printed, HasSubstr("sent: HTTP 200"));
  EXPECT_THAT(printed, Not(HasSubstr(std::string(kToken))));
  EXPECT_EQ(server_.RequestCount(), 1u);
}

}  // namespace
}  // namespace litesync
