#include "base/secret.h"

#include <memory>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/crypto/age_keys.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/replica_client.h"

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
  EXPECT_EQ(RedactUrl("s3://bucket"), "s3://bucket");
  EXPECT_EQ(RedactUrl("file:///backups/app"), "file:///backups/app");
  EXPECT_EQ(RedactUrl("file://server/share"), "file://server/share");
  EXPECT_EQ(RedactUrl("/backups/app"), "/backups/app");  // a path, not a URL
}

TEST(RedactUrlTest, MasksAHealthchecksSlugAndAFailUrlWhoseTokenIsAWord) {
  EXPECT_EQ(RedactUrl("https://hc-ping.com/pK3yq9Zr/litesync", true), "https://hc-ping.com/****");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8080/fail/fail", true), "http://127.0.0.1:8080/****");
  EXPECT_EQ(RedactUrl("http://[::1]:8080/ping/x?id=Tok3n&status=up#frag", true),
            "http://[::1]:8080/ping/****?id=****&status=up#****");
  EXPECT_EQ(RedactUrl("https://h.example/p?Tok3n&state=run", true),
            "https://h.example/****?****&state=run");
}

TEST(RedactUrlTest, AHeartbeatUrlWithoutItsSchemeStillHasItsTokenMasked) {
  EXPECT_EQ(RedactUrl("hc-ping.com/abc-123", true), "hc-ping.com/****");
  EXPECT_EQ(RedactUrl("hc-ping.com/abc-123"), "hc-ping.com/abc-123");  // a path, not a URL
  EXPECT_EQ(RedactUrl("mailto:x", true), "mailto:x");
  EXPECT_EQ(RedactUrl("host:bad port/Tok3n", true), "host:bad port/****");
}

TEST(RedactUrlTest, TextThatIsNotAParseableUrlIsMaskedWhole) {
  EXPECT_EQ(RedactUrl("https://host/a b/Tok3n", true), "https://****");
}

TEST(UrlTest, ParseRejectsTextThatIsNotAUrlWithoutQuotingIt) {
  absl::StatusOr<Url> u = Url::Parse("https://host/a b/Tok3n", Url::Kind::kHeartbeat);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(u.status().message()), ::testing::Not(::testing::HasSubstr("Tok3n")));
}

// age identities are Secrets in the options; a malformed one is reported by its
// position, never by its text.
TEST(SecretTest, AgeIdentitiesFormatAsStarsAndABadOneIsNeverQuoted) {
  AgeIdentity id = AgeIdentity::Generate();
  ReplicaOptions o;
  o.type = "file";
  o.settings<FileSettings>().path = "/nonexistent/replica";
  o.age.identities.emplace_back(id.Reveal());
  EXPECT_EQ(fmt::format("{}", o.age.identities[0]), "****");
  std::string broken = id.Reveal();
  broken[40] = broken[40] == 'Q' ? 'P' : 'Q';
  o.age.identities.emplace_back(broken);
  absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewReplicaClient(o);
  ASSERT_FALSE(c.ok());
  std::string msg(c.status().message());
  EXPECT_NE(msg.find("identity 2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(broken.substr(16, 24)), std::string::npos) << msg;
  EXPECT_EQ(msg.find(id.Reveal().substr(16, 24)), std::string::npos) << msg;
}

}  // namespace
}  // namespace litesync
