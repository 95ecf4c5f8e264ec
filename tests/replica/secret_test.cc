#include "replica/secret.h"

#include "fmt/format.h"
#include <gtest/gtest.h>

namespace litesync {
namespace {

TEST(SecretTest, FormatsAsStars) {
  Secret s("AKIAEXAMPLE");
  EXPECT_EQ(fmt::format("{}", s), "****");
  EXPECT_EQ(s.reveal(), "AKIAEXAMPLE");
}

TEST(RedactUrlTest, MasksHeartbeatTokenInPath) {
  EXPECT_EQ(RedactUrl("https://hc-ping.com/1f2e3d4c-aaaa-bbbb", true), "https://hc-ping.com/****");
  EXPECT_EQ(RedactUrl("https://kuma.example.com/api/push/abcd1234?status=up&msg=OK", true),
            "https://kuma.example.com/api/push/****?status=up&msg=OK");
  EXPECT_EQ(RedactUrl("https://betteruptime.com/api/v1/heartbeat/XXXXTOKEN", true),
            "https://betteruptime.com/api/v1/heartbeat/****");
}

TEST(RedactUrlTest, MasksUserinfoAndSignatureParameters) {
  EXPECT_EQ(RedactUrl("https://user:pw@host:9000/b/k?X-Amz-Signature=abc&partNumber=1"),
            "https://****@host:9000/b/k?X-Amz-Signature=****&partNumber=1");
}

TEST(RedactUrlTest, LeavesPlainUrlsAlone) {
  EXPECT_EQ(RedactUrl("s3://bucket/prefix/app"), "s3://bucket/prefix/app");
}

}  // namespace
}  // namespace litesync
