#include "heartbeat/heartbeat_url.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace litesync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKuma[] =
    "https://kuma.example.com/api/push/Tok3n?status={status}&msg={msg}&ping={ping}";

TEST(HeartbeatUrlTest, FillsKumaPlaceholders) {
  EXPECT_EQ(ExpandHeartbeatUrl(kKuma, /*up=*/true, "OK", absl::Milliseconds(1234)),
            "https://kuma.example.com/api/push/Tok3n?status=up&msg=OK&ping=1234");
  EXPECT_EQ(ExpandHeartbeatUrl(kKuma, /*up=*/false, "/data/a.db: never synced", absl::Seconds(2)),
            "https://kuma.example.com/api/push/Tok3n?status=down"
            "&msg=%2Fdata%2Fa.db%3A%20never%20synced&ping=2000");
}

TEST(HeartbeatUrlTest, EncodesEverythingButUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("a-b_c.d~e f&g=h?i#j%k+l/m"), "a-b_c.d~e%20f%26g%3Dh%3Fi%23j%25k%2Bl%2Fm");
  EXPECT_EQ(UrlEncode("\xc3\xa9"), "%C3%A9");
}

TEST(HeartbeatUrlTest, TruncatesMsgAt500Characters) {
  std::string long_msg(600, 'x');
  std::string url =
      ExpandHeartbeatUrl("http://h/p?msg={msg}", false, long_msg, absl::ZeroDuration());
  EXPECT_EQ(url, "http://h/p?msg=" + std::string(500, 'x'));
  // Characters, not bytes: a two-byte character is never split.
  std::string accents;
  for (int i = 0; i < 250; ++i) accents += "\xc3\xa9";
  EXPECT_EQ(TruncateUtf8(accents, 200).size(), 400u);
  EXPECT_EQ(TruncateUtf8("short", 200), "short");
  EXPECT_EQ(TruncateUtf8(std::string(200, 'y'), 200), std::string(200, 'y'));
}

TEST(HeartbeatUrlTest, ClampsPingToKumaRange) {
  EXPECT_EQ(PingMillis(absl::Milliseconds(-5)), 0);
  EXPECT_EQ(PingMillis(absl::Milliseconds(1500)), 1500);
  EXPECT_EQ(PingMillis(absl::Hours(48)), 86'400'000);
  EXPECT_EQ(PingMillis(absl::InfiniteDuration()), 86'400'000);
}

TEST(HeartbeatUrlTest, LeavesUrlsWithoutPlaceholdersAlone) {
  EXPECT_EQ(ExpandHeartbeatUrl("https://hc-ping.com/uuid", false, "bad", absl::Hours(1)),
            "https://hc-ping.com/uuid");
  EXPECT_FALSE(HasStatusPlaceholder("https://hc-ping.com/uuid"));
  EXPECT_TRUE(HasStatusPlaceholder(kKuma));
}

TEST(HeartbeatUrlTest, RedactsTokenInPathAndUnknownQueryValues) {
  EXPECT_EQ(RedactHeartbeatUrl("https://hc-ping.com/1f2e-Tok3n"), "https://hc-ping.com/****");
  EXPECT_EQ(RedactHeartbeatUrl(kKuma),
            "https://kuma.example.com/api/push/****?status={status}&msg={msg}&ping={ping}");
  EXPECT_EQ(RedactHeartbeatUrl("https://cronitor.link/p/KEY/job?state=run&id=Tok3n"),
            "https://cronitor.link/p/****?state=run&id=****");
  EXPECT_THAT(RedactHeartbeatUrl("https://user:Tok3n@h.example/x"), Not(HasSubstr("Tok3n")));
}

TEST(HeartbeatUrlTest, ValidatesWithoutQuotingTheUrl) {
  EXPECT_TRUE(ValidateHeartbeatUrl("https://hc-ping.com/uuid").ok());
  EXPECT_TRUE(ValidateHeartbeatUrl(kKuma).ok());
  EXPECT_TRUE(ValidateHeartbeatUrl("HTTP://127.0.0.1:8080/x").ok());
  absl::Status s = ValidateHeartbeatUrl("ftp://files.example/Tok3n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "must be an http:// or https:// URL (got \"ftp://files.example/****\")");
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("Tok3n")));
  EXPECT_FALSE(ValidateHeartbeatUrl("hc-ping.com/Tok3n").ok());
  EXPECT_EQ(ValidateHeartbeatUrl("https:///Tok3n").message(),
            "has no host: write scheme://host/path");
  EXPECT_FALSE(ValidateHeartbeatUrl("https://h/Tok3n x").ok());
  s = ValidateHeartbeatUrl("https://h/Tok3n?status={stauts}");
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown placeholder \"{stauts}\""));
}

}  // namespace
}  // namespace litesync
