// monitor.yml: templates, overrides, targets, and errors that name file, line and key.
#include "cmd/monitor_config.h"

#include <stdlib.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/storage/file/file_settings.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFile[] = "monitor.yml";

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<MonitorConfig> c = ParseMonitorConfigText(text, kFile);
  if (c.ok()) return "(parsed)";
  EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
  return std::string(c.status().message());
}

TEST(MonitorConfigTest, EntriesInheritTheDefaultsAndOverrideThem) {
  setenv("LS_TEST_KUMA", "https://kuma.example.com", 1);
  const std::string text = R"(addr: 127.0.0.1:0
defaults:
  url: s3://backups/{name}
  endpoint: http://127.0.0.1:9000
  access-key-id: ro-key
  secret-access-key: ro-secret
  max-age: 10m
  push-url: ${LS_TEST_KUMA}/api/push/{token}?status={status}&msg={msg}&ping={ping}
  push-interval: 20s
replicas:
  - name: app
    push-token: tokA
  - name: billing
    url: s3://other/billing-db
    max-age: 1h
    verify-interval: 24h
    check-interval: 30s
  - name: files
    path: /srv/replicas/files
    push-url: https://hc-ping.com/uuid-files
    fail-url: https://hc-ping.com/uuid-files/fail
    push-interval: 5m
heartbeats:
  - url: https://hc-ping.com/uuid-all
    replicas: [app, billing]
)";
  absl::StatusOr<MonitorConfig> c = ParseMonitorConfigText(text, kFile);
  LS_ASSERT_OK(c.status());
  ASSERT_EQ(c->replicas.size(), 3u);
  const MonitoredReplica& app = c->replicas[0];
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.replica.type, "s3");
  EXPECT_EQ(app.replica.settings<S3Settings>().bucket, "backups");
  EXPECT_EQ(app.replica.settings<S3Settings>().prefix, "app");
  EXPECT_EQ(app.replica.settings<S3Settings>().endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(app.replica.settings<S3Settings>().access_key_id.reveal(), "ro-key");
  EXPECT_EQ(app.max_age, absl::Minutes(10));
  EXPECT_EQ(app.check_interval, absl::Minutes(2));  // max-age / 5
  EXPECT_EQ(app.verify_interval, absl::ZeroDuration());
  const MonitoredReplica& billing = c->replicas[1];
  EXPECT_EQ(billing.replica.settings<S3Settings>().bucket, "other");
  EXPECT_EQ(billing.replica.settings<S3Settings>().prefix, "billing-db");
  EXPECT_EQ(billing.replica.settings<S3Settings>().secret_access_key.reveal(),
            "ro-secret");  // inherited
  EXPECT_EQ(billing.max_age, absl::Hours(1));
  EXPECT_EQ(billing.check_interval, absl::Seconds(30));
  EXPECT_EQ(billing.verify_interval, absl::Hours(24));
  EXPECT_EQ(c->replicas[2].replica.type, "file");
  EXPECT_EQ(c->replicas[2].replica.settings<FileSettings>().path, "/srv/replicas/files");

  // app's own target from the template, files' own target, and the aggregate one;
  // billing has no token, so the defaults' {token} template does not apply to it.
  ASSERT_EQ(c->targets.size(), 3u);
  EXPECT_EQ(c->targets[0].url.reveal(),
            "https://kuma.example.com/api/push/tokA?status={status}&msg={msg}&ping={ping}");
  EXPECT_THAT(c->targets[0].replicas, ElementsAre("app"));
  EXPECT_EQ(c->targets[1].url.reveal(), "https://hc-ping.com/uuid-files");
  EXPECT_EQ(c->targets[1].fail_url.reveal(), "https://hc-ping.com/uuid-files/fail");
  EXPECT_THAT(c->targets[1].replicas, ElementsAre("files"));
  EXPECT_EQ(c->targets[2].url.reveal(), "https://hc-ping.com/uuid-all");
  EXPECT_THAT(c->targets[2].replicas, ElementsAre("app", "billing"));
  // Up pings: the defaults' push-interval, an entry's own, the aggregate's default.
  EXPECT_EQ(c->targets[0].interval, absl::Seconds(20));
  EXPECT_EQ(c->targets[1].interval, absl::Minutes(5));
  EXPECT_EQ(c->targets[2].interval, absl::Minutes(1));
  unsetenv("LS_TEST_KUMA");
}

TEST(MonitorConfigTest, DefaultCheckIntervalIsAFifthOfMaxAgeWithinBounds) {
  EXPECT_EQ(DefaultCheckInterval(absl::Minutes(10)), absl::Minutes(2));
  EXPECT_EQ(DefaultCheckInterval(absl::Seconds(2)), absl::Seconds(1));
  EXPECT_EQ(DefaultCheckInterval(absl::Hours(24)), absl::Minutes(5));
}

struct BadCase {
  const char* name;
  const char* text;
  const char* expected;  // a substring of the error, which starts with file:line: key
};

class MonitorConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(MonitorConfigErrorTest, NamesFileLineAndKey) {
  EXPECT_THAT(ErrorOf(GetParam().text), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MonitorConfigErrorTest,
    ::testing::Values(
        BadCase{"UnknownTopKey", "replicas:\n  - name: a\n    path: /r/a\nmax_age: 5m\n",
                "monitor.yml:4: unknown key \"max_age\""},
        BadCase{"UnknownEntryKey",
                "replicas:\n  - name: a\n    path: /r/a\n    sync-interval: 1s\n",
                "monitor.yml:4: replicas[0].sync-interval: is a setting of the replicating side"},
        BadCase{"UnknownDefaultsKey",
                "defaults:\n  url: s3://b/{name}\n  retention: 1h\nreplicas:\n  - name: a\n",
                "monitor.yml:3: defaults.retention: is a setting of the replicating side"},
        BadCase{"BadMaxAge", "replicas:\n  - name: a\n    path: /r/a\n    max-age: soon\n",
                "monitor.yml:4: replicas[0].max-age: must be a duration"},
        BadCase{"BadDefaultMaxAgeCitesTheDefaults",
                "defaults:\n  max-age: -5m\nreplicas:\n  - name: a\n    path: /r/a\n",
                "monitor.yml:2: defaults.max-age: must not be negative"},
        BadCase{"CheckSlowerThanMaxAge",
                "replicas:\n  - name: a\n    path: /r/a\n    max-age: 1m\n    check-interval: 2m\n",
                "monitor.yml:5: replicas[0].check-interval: must not exceed max-age"},
        BadCase{"PushIntervalTooShort",
                "replicas:\n  - name: a\n    path: /r/a\n    push-url: https://k.example/p\n"
                "    push-interval: 100ms\n",
                "monitor.yml:5: replicas[0].push-interval: must be at least 1s"},
        BadCase{"NoName", "replicas:\n  - path: /r/a\n",
                "monitor.yml:2: replicas[0]: needs a name"},
        BadCase{"DuplicateName",
                "replicas:\n  - name: a\n    path: /r/a\n  - name: a\n    path: /r/b\n",
                "monitor.yml:4: replicas[1].name: \"a\" is already used (monitor.yml:2: "},
        BadCase{"TemplateWithoutName",
                "defaults:\n  url: s3://b/all\nreplicas:\n  - name: a\n  - name: b\n",
                "monitor.yml:2: defaults.url: replica \"b\" is s3://b/all, like \"a\""},
        BadCase{"BadTemplateSchemeCitesTheDefaults",
                "defaults:\n  url: ftp://b/{name}\nreplicas:\n  - name: a\n",
                "monitor.yml:2: defaults.url: scheme must be \"file\" or \"s3\" (got \"ftp\")"},
        BadCase{"NoLocation", "replicas:\n  - name: a\n",
                "monitor.yml:2: replicas[0]: needs a url"},
        BadCase{"TokenWithoutTemplate",
                "replicas:\n  - name: a\n    path: /r/a\n    push-token: t\n",
                "monitor.yml:4: replicas[0].push-token: is set but there is no push-url"},
        BadCase{"TemplateTokenMissing",
                "defaults:\n  fail-url: https://k.example/{token}/fail\nreplicas:\n"
                "  - name: a\n    path: /r/a\n    push-url: https://k.example/{token}\n",
                "monitor.yml:6: replicas[0].push-url: has {token} but replica \"a\" has no "
                "push-token"},
        BadCase{"FailUrlWithoutPushUrl",
                "replicas:\n  - name: a\n    path: /r/a\n    fail-url: https://hc.example/x/fail\n",
                "monitor.yml:4: replicas[0].fail-url: is set but push-url: is not"},
        BadCase{"BadPushUrl",
                "replicas:\n  - name: a\n    path: /r/a\n    push-url: ftp://x.example/p\n",
                "monitor.yml:4: replicas[0].push-url: must be an http:// or https:// URL (got "
                "\"ftp://x.example/****\")"},
        BadCase{"UnknownReplicaInTarget",
                "replicas:\n  - name: a\n    path: /r/a\nheartbeats:\n"
                "  - url: https://hc.example/x\n    replicas: [a, b]\n",
                "monitor.yml:6: heartbeats[0].replicas[1]: \"b\" is not the name of an entry"},
        BadCase{"UnknownTargetKey",
                "replicas:\n  - name: a\n    path: /r/a\nheartbeats:\n"
                "  - url: https://hc.example/x\n    databases: [a]\n",
                "monitor.yml:6: heartbeats[0]: unknown key \"databases\""},
        BadCase{"NoReplicas", "addr: 127.0.0.1:9099\n", "monitor.yml:1: no replicas"},
        BadCase{"BadAddr", "addr: localhost\nreplicas:\n  - name: a\n    path: /r/a\n",
                "monitor.yml:1: addr: must be HOST:PORT"},
        BadCase{"UnsetVariable", "replicas:\n  - name: a\n    path: ${LS_TEST_UNSET_VAR}\n",
                "monitor.yml:3"},
        BadCase{"BadYaml", "replicas:\n  - name: [a\n", "monitor.yml:"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return p.param.name; });

TEST(MonitorConfigTest, AnErrorQuotesTheValueAsWrittenNotTheSecretItExpandedTo) {
  setenv("LS_TEST_SECRET_TOKEN", "s3cr3t-t0ken-value", 1);
  std::string err = ErrorOf(
      "replicas:\n  - name: a\n    path: /r/a\n"
      "    push-url: ftp://kuma.example/api/push/${LS_TEST_SECRET_TOKEN}\n");
  EXPECT_THAT(err, HasSubstr("monitor.yml:4: replicas[0].push-url"));
  EXPECT_THAT(err, Not(HasSubstr("s3cr3t-t0ken-value")));
  unsetenv("LS_TEST_SECRET_TOKEN");
}

TEST(MonitorConfigTest, LoadNamesAnUnreadableFile) {
  testing::TempDir dir;
  absl::StatusOr<MonitorConfig> c = LoadMonitorConfig(dir.Join("missing.yml"));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("missing.yml: cannot read the config file"));
}

}  // namespace
}  // namespace litesync
