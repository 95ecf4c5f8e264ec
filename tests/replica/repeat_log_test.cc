#include "base/repeat_log.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace litesync {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::vector<std::string>* g_lines = nullptr;
void Capture(std::string_view line) { g_lines->emplace_back(line); }

class RepeatedErrorLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_lines = &lines_;
    SetLogSink(&Capture);
  }
  void TearDown() override {
    SetLogSink(nullptr);
    g_lines = nullptr;
  }
  // One failed attempt `at` seconds after t0.
  void Fail(const absl::Status& s, double at) {
    log_.Failed(s, t0_ + absl::Seconds(at), {{"db", "/data/app.db"}, {"replica", "s3://b/app"}});
  }
  void Succeed(double at) {
    log_.Succeeded(t0_ + absl::Seconds(at), {{"db", "/data/app.db"}, {"replica", "s3://b/app"}});
  }
  std::vector<std::string> Take() { return std::exchange(lines_, {}); }

  std::vector<std::string> lines_;
  absl::Time t0_ = absl::FromUnixSeconds(1'700'000'000);
  RepeatedErrorLog log_{LogLevel::kError, "sync failed", "sync recovered"};
};

const absl::Status kDenied = absl::PermissionDeniedError("PUT s3://b/app/x: HTTP 403 AccessDenied");

TEST_F(RepeatedErrorLogTest, TheSameFailureIsLoggedOncePerDoublingStepWithItsCount) {
  // An attempt every half second for 80 s: 161 attempts.
  for (int i = 0; i <= 160; ++i) Fail(kDenied, i * 0.5);
  std::vector<std::string> lines = Take();
  // At 0, then 5, 15, 35 and 75 s (steps of 5, 10, 20, 40 s).
  ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  EXPECT_THAT(lines[0], AllOf(HasSubstr("level=ERROR msg=\"sync failed\" db=/data/app.db "
                                        "replica=s3://b/app err=\"PUT s3://b/app/x: HTTP 403"),
                              Not(HasSubstr("repeated="))));
  EXPECT_THAT(lines[1], HasSubstr("repeated=10 in_last=5s"));
  EXPECT_THAT(lines[2], HasSubstr("repeated=20 in_last=10s"));
  EXPECT_THAT(lines[3], HasSubstr("repeated=40 in_last=20s"));
  EXPECT_THAT(lines[4], HasSubstr("repeated=80 in_last=40s"));
  EXPECT_EQ(log_.attempts(), 161u);
}

TEST_F(RepeatedErrorLogTest, StepsStopGrowingAtFiveMinutes) {
  for (int i = 0; i <= 3600; ++i) Fail(kDenied, i);  // an hour, one attempt a second
  std::vector<std::string> lines = Take();
  // 0, 5, 15, 35, 75, 155, 315 (steps up to 160 s), then every 300 s up to 3600.
  EXPECT_EQ(lines.size(), 7u + (3600 - 315) / 300);
  EXPECT_THAT(lines.back(), HasSubstr("in_last=5m"));
}

TEST_F(RepeatedErrorLogTest, NumbersInTheMessageDoNotMakeANewFailure) {
  Fail(absl::UnavailableError("connect to 127.0.0.1 port 9000 failed after 3 ms"), 0);
  Fail(absl::UnavailableError("connect to 127.0.0.1 port 9000 failed after 17 ms"), 1);
  Fail(absl::UnavailableError("connect to 127.0.0.1 port 9000 failed after 1004 ms"), 2);
  EXPECT_EQ(Take().size(), 1u);
}

TEST_F(RepeatedErrorLogTest, ADifferentFailureIsLoggedAtOnceAfterTheCountOfTheOneBefore) {
  Fail(kDenied, 0);
  Fail(kDenied, 1);
  Fail(kDenied, 2);
  Fail(absl::UnavailableError("PUT s3://b/app/x: HTTP 503 SlowDown"), 3);
  Fail(absl::UnavailableError("PUT s3://b/app/x: HTTP 503 SlowDown"), 4);
  EXPECT_THAT(Take(), ElementsAre(HasSubstr("HTTP 403"),
                                  AllOf(HasSubstr("HTTP 403"), HasSubstr("repeated=2 in_last=3s")),
                                  AllOf(HasSubstr("HTTP 503"), Not(HasSubstr("repeated=")))));
}

TEST_F(RepeatedErrorLogTest, RecoveryIsLoggedAtOnceAndTheStepsStartOver) {
  Succeed(0);
  EXPECT_THAT(Take(), IsEmpty());  // nothing failed: nothing to say
  for (int i = 1; i <= 30; ++i) Fail(kDenied, i);
  Take();
  Succeed(31);
  EXPECT_THAT(Take(), ElementsAre(AllOf(HasSubstr("level=INFO msg=\"sync recovered\" "
                                                  "db=/data/app.db replica=s3://b/app"),
                                        HasSubstr("failed_attempts=30 failed_for=30s"))));
  EXPECT_EQ(log_.attempts(), 0u);
  Fail(kDenied, 40);
  Fail(kDenied, 45);
  EXPECT_THAT(Take(), ElementsAre(Not(HasSubstr("repeated=")), HasSubstr("repeated=1 in_last=5s")));
}

}  // namespace
}  // namespace litesync
