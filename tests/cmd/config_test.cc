#include "cmd/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/config_internal.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string>* g_log_lines = nullptr;
void CaptureLine(std::string_view line) { g_log_lines->emplace_back(line); }

// Every test starts without AWS_*/LITESYNC_* variables and puts them back after.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3",
                             "AWS_ENDPOINT_URL", "LITESYNC_TEST_VAR", "LITESYNC_UNSET_VAR"}) {
      Unset(name);
    }
    g_log_lines = &log_lines_;
    SetLogSink(&CaptureLine);
  }
  void TearDown() override {
    SetLogSink(nullptr);
    g_log_lines = nullptr;
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  void Set(const std::string& name, const std::string& value) {
    Save(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void Unset(const std::string& name) {
    Save(name);
    unsetenv(name.c_str());
  }

  static absl::StatusOr<Config> Parse(const std::string& text) {
    return ParseConfigText(text, "litesync.yml");
  }
  // The error message of a config that must not parse.
  static std::string Error(const std::string& text) {
    absl::StatusOr<Config> c = Parse(text);
    EXPECT_FALSE(c.ok()) << "parsed, but should not have:\n" << text;
    if (c.ok()) return "";
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
    return std::string(c.status().message());
  }

  std::vector<std::string> log_lines_;

 private:
  void Save(const std::string& name) {
    if (saved_.count(name)) return;
    const char* v = getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

std::string Cwd() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? buf : "";
}

// --- valid configs -------------------------------------------------------------------

TEST_F(ConfigTest, ParsesAFileReplicaWithDefaults) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /data/app.db
    replica:
      path: /backups/app
)"));
  EXPECT_EQ(c.path, "litesync.yml");
  ASSERT_EQ(c.dbs.size(), 1u);
  const DbOptions& db = c.dbs[0];
  EXPECT_EQ(db.path, "/data/app.db");
  EXPECT_EQ(db.min_checkpoint_pages, 1000);
  EXPECT_EQ(db.checkpoint_interval, absl::Minutes(1));
  ASSERT_EQ(db.replicas.size(), 1u);
  const ReplicaOptions& r = db.replicas[0];
  EXPECT_EQ(r.type, "file");
  EXPECT_EQ(r.settings<FileSettings>().path, "/backups/app");
  EXPECT_EQ(r.sync_interval, absl::Seconds(1));
  EXPECT_EQ(r.retention, absl::Hours(24));
  EXPECT_EQ(r.snapshot_interval, absl::ZeroDuration());
  EXPECT_TRUE(c.heartbeat.targets.empty());
  EXPECT_TRUE(c.addr.empty());
  EXPECT_FALSE(c.log_level.has_value());
  ASSERT_EQ(c.db_sources.size(), 1u);
  EXPECT_EQ(c.db_sources[0], "litesync.yml:3: dbs[0].path");
}

TEST_F(ConfigTest, ParsesEveryDatabaseAndReplicaKey) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
log-level: debug
addr: 127.0.0.1:9090
dbs:
  - path: /data/app.db
    min-checkpoint-page-count: 500
    truncate-page-n: 20000
    checkpoint-interval: 30s
    busy-timeout: 250ms
    replicas:
      - name: local
        type: file
        url: file:///backups/app/
        sync-interval: 500ms
        retention: 72h
        snapshot-interval: 1h30m
        validation-interval: 12h
        compaction-intervals: [10s, 2m]
      - name: offsite
        url: s3://my-bucket/prod/app/
        endpoint: http://127.0.0.1:9000/
        region: eu-west-1
        force-path-style: false
        skip-verify: yes
        access-key-id: AKIDEXAMPLE
        secret-access-key: wJalrXUtnFEMI
)"));
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.addr, "127.0.0.1:9090");
  const DbOptions& db = c.dbs.at(0);
  EXPECT_EQ(db.min_checkpoint_pages, 500);
  EXPECT_EQ(db.truncate_pages, 20000);
  EXPECT_EQ(db.checkpoint_interval, absl::Seconds(30));
  EXPECT_EQ(db.busy_timeout, absl::Milliseconds(250));
  ASSERT_EQ(db.replicas.size(), 2u);
  const ReplicaOptions& f = db.replicas[0];
  EXPECT_EQ(f.name, "local");
  EXPECT_EQ(f.type, "file");
  EXPECT_EQ(f.settings<FileSettings>().path, "/backups/app");
  EXPECT_EQ(f.sync_interval, absl::Milliseconds(500));
  EXPECT_EQ(f.retention, absl::Hours(72));
  EXPECT_EQ(f.snapshot_interval, absl::Minutes(90));
  EXPECT_EQ(f.validation_interval, absl::Hours(12));
  EXPECT_THAT(f.compaction_intervals,
              ElementsAre(absl::Seconds(10), absl::Minutes(2), absl::ZeroDuration()));
  const ReplicaOptions& s = db.replicas[1];
  EXPECT_THAT(s.compaction_intervals,
              ElementsAre(absl::Seconds(30), absl::Minutes(5), absl::Hours(1)));  // defaults
  EXPECT_EQ(s.type, "s3");
  EXPECT_EQ(s.settings<S3Settings>().bucket, "my-bucket");
  EXPECT_EQ(s.settings<S3Settings>().prefix, "prod/app");
  EXPECT_EQ(s.settings<S3Settings>().endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(s.settings<S3Settings>().region, "eu-west-1");
  EXPECT_EQ(s.settings<S3Settings>().force_path_style, false);
  EXPECT_TRUE(s.settings<S3Settings>().skip_verify);
  EXPECT_EQ(s.settings<S3Settings>().access_key_id.reveal(), "AKIDEXAMPLE");
  EXPECT_EQ(s.settings<S3Settings>().secret_access_key.reveal(), "wJalrXUtnFEMI");
  EXPECT_EQ(fmt::format("{}", s.settings<S3Settings>().secret_access_key), "****");
}

TEST_F(ConfigTest, ResolvesRelativePathsAgainstTheWorkingDirectory) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: data/../data/app.db
    replica:
      path: ./backups/app/
)"));
  EXPECT_EQ(c.dbs[0].path, Cwd() + "/data/app.db");
  EXPECT_EQ(c.dbs[0].replicas[0].settings<FileSettings>().path, Cwd() + "/backups/app");
}

TEST_F(ConfigTest, ExpandsTildeFromHome) {
  Set("HOME", "/home/someone");
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse("dbs:\n  - path: ~/app.db\n    replica: {path: ~/b}\n"));
  EXPECT_EQ(c.dbs[0].path, "/home/someone/app.db");
  EXPECT_EQ(c.dbs[0].replicas[0].settings<FileSettings>().path, "/home/someone/b");
}

TEST_F(ConfigTest, InfersTheReplicaTypeFromUrlPathOrBucket) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /a.db
    replica: {url: "file:///b/a"}
  - path: /b.db
    replica: {url: "S3://bkt"}
  - path: /c.db
    replica: {path: /b/c}
  - path: /d.db
    replica: {bucket: bkt, path: /prefix/d/}
)"));
  EXPECT_EQ(c.dbs[0].replicas[0].type, "file");
  EXPECT_EQ(c.dbs[1].replicas[0].type, "s3");
  EXPECT_EQ(c.dbs[1].replicas[0].settings<S3Settings>().bucket, "bkt");
  EXPECT_EQ(c.dbs[1].replicas[0].settings<S3Settings>().prefix, "");
  EXPECT_EQ(c.dbs[2].replicas[0].type, "file");
  EXPECT_EQ(c.dbs[3].replicas[0].type, "s3");
  EXPECT_EQ(c.dbs[3].replicas[0].settings<S3Settings>().bucket, "bkt");
  EXPECT_EQ(c.dbs[3].replicas[0].settings<S3Settings>().prefix, "prefix/d");
}

TEST_F(ConfigTest, AcceptsFileUrlsWithLocalhost) {
  LS_ASSERT_OK_AND_ASSIGN(
      Config c, Parse("dbs:\n  - path: /a.db\n    replica: {url: 'file://localhost/b'}\n"));
  EXPECT_EQ(c.dbs[0].replicas[0].settings<FileSettings>().path, "/b");
}

TEST_F(ConfigTest, ParsesGoStyleDurations) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /a.db
    replica: {path: /b, sync-interval: 10ms, retention: 1h30m, snapshot-interval: 0}
)"));
  EXPECT_EQ(c.dbs[0].replicas[0].sync_interval, absl::Milliseconds(10));
  EXPECT_EQ(c.dbs[0].replicas[0].retention, absl::Minutes(90));
  EXPECT_EQ(c.dbs[0].replicas[0].snapshot_interval, absl::ZeroDuration());
}

TEST_F(ConfigTest, ParsesDirs) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dirs:
  - dir: /data/tenants/
    pattern: "*.sqlite"
    recursive: true
    replica:
      url: s3://bkt/tenants
)"));
  EXPECT_TRUE(c.dbs.empty());
  ASSERT_EQ(c.dirs.size(), 1u);
  EXPECT_EQ(c.dirs[0].dir, "/data/tenants");
  EXPECT_EQ(c.dirs[0].pattern, "*.sqlite");
  EXPECT_TRUE(c.dirs[0].recursive);
  EXPECT_EQ(c.dirs[0].replicas.at(0).settings<S3Settings>().prefix, "tenants");
  EXPECT_EQ(c.dirs[0].source, "litesync.yml:3: dirs[0]");
}

// --- environment ---------------------------------------------------------------------

TEST_F(ConfigTest, ExpandsEnvironmentVariables) {
  Set("LITESYNC_TEST_VAR", "backups");
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /data/$LITESYNC_TEST_VAR.db
    replica:
      path: /${LITESYNC_TEST_VAR}/app$$x
)"));
  EXPECT_EQ(c.dbs[0].path, "/data/backups.db");
  EXPECT_EQ(c.dbs[0].replicas[0].settings<FileSettings>().path, "/backups/app$x");
}

TEST_F(ConfigTest, UnsetVariableIsAnErrorNamingItAndTheLine) {
  std::string msg = Error(R"(
dbs:
  - path: /data/app.db
    replica:
      path: /backups/${LITESYNC_UNSET_VAR}
)");
  EXPECT_THAT(msg, StartsWith("litesync.yml:5: "));
  EXPECT_THAT(msg, HasSubstr("environment variable LITESYNC_UNSET_VAR is not set"));
}

// A config error quotes the value as the file has it, never what a
// variable expanded to (the variable may hold a secret).
TEST_F(ConfigTest, ErrorsQuoteTheValueAsWrittenNotItsExpansion) {
  Set("LITESYNC_TEST_VAR", "Sup3rS3cretT0ken");
  std::string msg = Error(R"(
dbs:
  - path: /data/app.db
    replica:
      url: s3://bkt/app
      endpoint: notaurl${LITESYNC_TEST_VAR}
)");
  EXPECT_EQ(msg,
            "litesync.yml:6: dbs[0].replica.endpoint: must start with http:// or https:// (got "
            "\"notaurl${LITESYNC_TEST_VAR}\")");
  EXPECT_THAT(msg, Not(HasSubstr("Sup3rS3cret")));

  // $VAR as written, and a short value on the line the error cites.
  Set("LITESYNC_TEST_VAR", "ftp");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica:\n      type: $LITESYNC_TEST_VAR\n"),
            "litesync.yml:4: dbs[0].replica.type: must be \"file\" or \"s3\" (got "
            "\"$LITESYNC_TEST_VAR\")");
}

TEST_F(ConfigTest, ErrorsKeepTheirOwnWordsWhenAShortValueOfAnotherLineMatchesThem) {
  Set("LITESYNC_TEST_VAR", "s3");
  // `s3` from line 4 is not the value line 5's error quotes.
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica:\n      type: ${LITESYNC_TEST_VAR}\n"
                  "      url: ftp://x/y\n"),
            "litesync.yml:5: dbs[0].replica.url: scheme must be \"file\" or \"s3\" (got "
            "\"ftp\")");
}

TEST_F(ConfigTest, VariablesInCommentsAreIgnored) {
  LS_ASSERT_OK(Parse(R"(
# secret-access-key: ${LITESYNC_UNSET_VAR}
dbs:
  - path: /data/app.db   # or $LITESYNC_UNSET_VAR
    replica: {path: "/b#$$"}
)"));
}

TEST_F(ConfigTest, UnterminatedBraceIsAnError) {
  EXPECT_THAT(Error("dbs:\n  - path: /a.db\n    replica: {path: /b/$$X}\n  # ${Y\nx: ${Y\n"),
              StartsWith("litesync.yml:5: unterminated ${"));
}

// --- YAML shape errors -------------------------------------------------------------------

TEST_F(ConfigTest, EmptyConfigIsAnError) {
  EXPECT_THAT(Error(""), StartsWith("litesync.yml:1: the config is empty"));
  EXPECT_THAT(Error("# only a comment\n"), StartsWith("litesync.yml:1: the config is empty"));
}

TEST_F(ConfigTest, MalformedYamlNamesTheLine) {
  std::string msg = Error("dbs:\n  - path: /a.db\n    replica: {path: /b\n  - path: [\n");
  EXPECT_THAT(msg, StartsWith("litesync.yml:"));
  EXPECT_THAT(msg, HasSubstr("invalid YAML"));
}

TEST_F(ConfigTest, TopLevelMustBeAMap) {
  EXPECT_THAT(Error("- path: /a.db\n"), StartsWith("litesync.yml:1: must be a map of keys"));
}

TEST_F(ConfigTest, UnknownKeySuggestsTheClosestKnownKey) {
  EXPECT_EQ(Error(R"(
dbs:
  - path: /data/app.db
    replica:
      path: /backups/app
      sync-intervl: 1s
)"),
            "litesync.yml:6: dbs[0].replica: unknown key \"sync-intervl\" (did you mean "
            "\"sync-interval\"?)");
}

TEST_F(ConfigTest, UnknownKeyWithoutACloseMatchListsTheKnownKeys) {
  std::string msg = Error("dbs:\n  - path: /a.db\n    replica: {path: /b}\nfrobnicate: 1\n");
  EXPECT_THAT(msg, StartsWith("litesync.yml:4: unknown key \"frobnicate\"; known keys here: "));
  EXPECT_THAT(msg, HasSubstr("heartbeat-url"));
}

TEST_F(ConfigTest, LogLevelIsGivenOnceEvenInLitestreamsForm) {
  EXPECT_EQ(Error("log-level: info\nlogging:\n  level: debug\ndbs: []\n"),
            "litesync.yml:3: logging.level: give log-level or logging.level, not both");
}

TEST_F(ConfigTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    path: /b.db\n    replica: {path: /b}\n"),
            "litesync.yml:3: dbs[0].path: duplicate key (first given at line 2)");
}

TEST_F(ConfigTest, WrongTypesAreErrors) {
  EXPECT_EQ(Error("dbs:\n  path: /a.db\n"),
            "litesync.yml:2: dbs: must be a list: start each database with `- path:`");
  EXPECT_EQ(Error("dbs:\n  - path: [/a.db]\n    replica: {path: /b}\n"),
            "litesync.yml:2: dbs[0].path: must be a single value (got a list)");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: s3://b, skip-verify: maybe}\n"),
            "litesync.yml:3: dbs[0].replica.skip-verify: must be true or false (got \"maybe\")");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: lots\n"
                  "    replica: {path: /b}\n"),
            "litesync.yml:3: dbs[0].min-checkpoint-page-count: must be a whole number (got "
            "\"lots\")");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: [/b]\n"),
            "litesync.yml:3: dbs[0].replica: must be a map of keys (got a list)");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replicas: []\n"),
            "litesync.yml:3: dbs[0].replicas: must be a non-empty list of replicas");
  EXPECT_EQ(Error("dbs:\n  - path:\n    replica: {path: /b}\n"),
            "litesync.yml:2: dbs[0].path: needs a value");
}

// --- databases -------------------------------------------------------------------------

TEST_F(ConfigTest, NoDatabasesIsAnError) {
  EXPECT_THAT(Error("log-level: info\n"), StartsWith("litesync.yml:1: no databases"));
  EXPECT_THAT(Error("dbs: []\n"), StartsWith("litesync.yml:1: dbs: no databases"));
}

TEST_F(ConfigTest, DatabaseWithoutPathIsAnError) {
  EXPECT_EQ(Error("dbs:\n  - replica: {path: /b}\n"),
            "litesync.yml:2: dbs[0]: needs a path: (the database file)");
  EXPECT_EQ(Error("dbs:\n  -\n"),
            "litesync.yml:2: dbs[0]: is empty: each database needs a path and a replica");
}

TEST_F(ConfigTest, DatabaseWithoutReplicaIsAnError) {
  EXPECT_THAT(Error("dbs:\n  - path: /a.db\n"),
              StartsWith("litesync.yml:2: dbs[0]: has no replica: add `replica:`"));
}

TEST_F(ConfigTest, ReplicaAndReplicasTogetherAreAnError) {
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {path: /b}\n    replicas:\n"
                  "      - path: /c\n"),
            "litesync.yml:5: dbs[0].replicas: give either replica: or replicas:, not both");
}

TEST_F(ConfigTest, DuplicateDatabasePathsAreComparedNormalized) {
  std::string text = fmt::format(
      "dbs:\n  - path: {}/x/../app.db\n    replica: {{path: /b1}}\n  - path: ./app.db\n"
      "    replica: {{path: /b2}}\n",
      Cwd());
  EXPECT_EQ(
      Error(text),
      fmt::format("litesync.yml:4: dbs[1].path: {}/app.db is already listed at line 2", Cwd()));
}

TEST_F(ConfigTest, TwoDatabasesCannotShareAReplicaLocation) {
  EXPECT_EQ(Error(R"(dbs:
  - path: /a.db
    replica: {path: /backups/x}
  - path: /b.db
    replica: {url: "file:///backups/x/"}
)"),
            "litesync.yml:5: dbs[1].replica: file:///backups/x is already the replica of /a.db "
            "(line 3); each database needs its own replica location");
}

TEST_F(ConfigTest, ReplicaNamesMustBeDistinct) {
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b1\n      - path: /b2\n"),
            "litesync.yml:5: dbs[0].replicas[1]: two replicas are named \"file\" (the other at "
            "line 4); give each a distinct name:");
}

TEST_F(ConfigTest, TruncateBoundMustExceedTheCheckpointBound) {
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 100\n"
                  "    truncate-page-n: 100\n    replica: {path: /b}\n"),
            "litesync.yml:4: dbs[0].truncate-page-n: truncate-page-n (100) must be greater than "
            "min-checkpoint-page-count (100)");
  EXPECT_EQ(
      Error("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 0\n    replica: {path: /b}\n"),
      "litesync.yml:3: dbs[0].min-checkpoint-page-count: must be at least 1 (got 0)");
}

// --- replicas --------------------------------------------------------------------------

TEST_F(ConfigTest, UrlSchemeMustBeFileOrS3) {
  EXPECT_EQ(Error(R"(dbs:
  - path: /a.db
    replica: {path: /b}
  - path: /data/app.db
    replica:
      url: ftp://host/backups
)"),
            "litesync.yml:6: dbs[1].replica.url: scheme must be \"file\" or \"s3\" (got \"ftp\")");
}

TEST_F(ConfigTest, UrlWithoutSchemeSaysWhatAUrlLooksLike) {
  EXPECT_THAT(Error("dbs:\n  - path: /a.db\n    replica: {url: /backups/a}\n"),
              StartsWith("litesync.yml:3: dbs[0].replica.url: must look like file:///backups/app "
                         "or s3://bucket/prefix"));
}

TEST_F(ConfigTest, BadUrlsAreErrors) {
  EXPECT_THAT(Error("dbs:\n  - path: /a.db\n    replica: {url: 'file://backups/a'}\n"),
              StartsWith("litesync.yml:3: dbs[0].replica.url: a file URL needs an absolute path: "
                         "file:///backups/a"));
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3:///prefix'}\n"),
            "litesync.yml:3: dbs[0].replica.url: names no bucket: write s3://bucket/prefix");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b/p?region=x', region: y}\n"),
            "litesync.yml:3: dbs[0].replica.region: is also given in the url's query (?region=); "
            "keep one");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 'file:///b?x=1'}\n"),
            "litesync.yml:3: dbs[0].replica.url: a file URL takes no ?query or #fragment");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b/p', path: /x}\n"),
            "litesync.yml:3: dbs[0].replica.path: the key prefix goes in the url "
            "(s3://bucket/prefix)");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {type: file, url: 's3://b/p'}\n"),
            "litesync.yml:3: dbs[0].replica.type: is \"file\" but url is an s3:// URL");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {type: gcs, path: /b}\n"),
            "litesync.yml:3: dbs[0].replica.type: must be \"file\" or \"s3\" (got \"gcs\")");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {name: x}\n"),
            "litesync.yml:3: dbs[0].replica: needs a url (file:///backups/app or "
            "s3://bucket/prefix) or a path");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {type: s3, path: /p}\n"),
            "litesync.yml:3: dbs[0].replica: an s3 replica needs a bucket: write url: "
            "s3://bucket/prefix");
}

TEST_F(ConfigTest, UrlErrorsNeverShowCredentials) {
  std::string msg = Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://AKID:s3cr3tkey@b/p'}\n");
  EXPECT_THAT(msg, StartsWith("litesync.yml:3: dbs[0].replica.url: must not carry credentials"));
  EXPECT_THAT(msg, Not(HasSubstr("s3cr3tkey")));
  msg = Error("dbs:\n  - path: /a.db\n    replica: {url: 'ftp://AKID:s3cr3tkey@b/p'}\n");
  EXPECT_THAT(msg, Not(HasSubstr("s3cr3tkey")));
  msg = Error(
      "dbs:\n  - path: /a.db\n    replica: {url: 's3://b', secret-access-key: [s3cr3tkey]}\n");
  EXPECT_EQ(
      msg, "litesync.yml:3: dbs[0].replica.secret-access-key: must be a single value (got a list)");
}

TEST_F(ConfigTest, S3OnlyKeysOnAFileReplicaAreErrors) {
  EXPECT_EQ(
      Error("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      endpoint: http://x\n"),
      "litesync.yml:5: dbs[0].replica.endpoint: applies only to s3 replicas");
}

TEST_F(ConfigTest, BadDurationsAreErrors) {
  auto with = [](const std::string& kv) {
    return fmt::format("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      {}\n", kv);
  };
  EXPECT_EQ(
      Error(with("sync-interval: 5 minutes")),
      "litesync.yml:5: dbs[0].replica.sync-interval: must be a duration like 1s, 500ms, 5m or "
      "1h30m (got \"5 minutes\")");
  EXPECT_EQ(
      Error(with("sync-interval: 1")),
      "litesync.yml:5: dbs[0].replica.sync-interval: must be a duration like 1s, 500ms, 5m or "
      "1h30m (got \"1\")");
  EXPECT_EQ(Error(with("retention: -1h")),
            "litesync.yml:5: dbs[0].replica.retention: must not be negative (got -1h)");
  EXPECT_EQ(Error(with("retention: 0s")),
            "litesync.yml:5: dbs[0].replica.retention: must be greater than 0 (got 0s)");
  EXPECT_EQ(Error(with("sync-interval: 5ms")),
            "litesync.yml:5: dbs[0].replica.sync-interval: must be at least 10ms (got 5ms)");
  EXPECT_EQ(Error(with("snapshot-interval: -1s")),
            "litesync.yml:5: dbs[0].replica.snapshot-interval: must not be negative (got -1s)");
  EXPECT_EQ(Error(with("compaction-intervals: [30s, 5m, 1h, 1d]")),
            "litesync.yml:5: dbs[0].replica.compaction-intervals: must list 1 to 3 durations, "
            "for levels 1, 2 and 3 (got 4)");
  EXPECT_EQ(Error(with("compaction-intervals: [30s, soon]")),
            "litesync.yml:5: dbs[0].replica.compaction-intervals: level 2: must be a duration "
            "like 30s, 5m or 1h, or 0 to disable the level (got \"soon\")");
  EXPECT_EQ(Error(with("retention: inf")),
            "litesync.yml:5: dbs[0].replica.retention: must be a duration like 1s, 500ms, 5m or "
            "1h30m (got \"inf\")");
}

TEST_F(ConfigTest, S3CredentialsFallBackToTheEnvironment) {
  Set("AWS_ACCESS_KEY_ID", "envid");
  Set("AWS_SECRET_ACCESS_KEY", "envsecret");
  Set("AWS_SESSION_TOKEN", "envtoken");
  Set("AWS_REGION", "ap-south-1");
  Set("AWS_ENDPOINT_URL", "http://generic:9000");
  Set("AWS_ENDPOINT_URL_S3", "http://s3specific:9000/");
  LS_ASSERT_OK_AND_ASSIGN(Config c,
                          Parse("dbs:\n  - path: /a.db\n    replica: {url: 's3://b/p'}\n"));
  const ReplicaOptions& r = c.dbs[0].replicas[0];
  EXPECT_EQ(r.settings<S3Settings>().access_key_id.reveal(), "envid");
  EXPECT_EQ(r.settings<S3Settings>().secret_access_key.reveal(), "envsecret");
  EXPECT_EQ(r.settings<S3Settings>().session_token.reveal(), "envtoken");
  EXPECT_EQ(r.settings<S3Settings>().region, "ap-south-1");
  EXPECT_EQ(r.settings<S3Settings>().endpoint, "http://s3specific:9000");
  EXPECT_EQ(r.settings<S3Settings>().force_path_style, std::nullopt)
      << "unset: the S3 client uses path style with an endpoint (S3TargetTest)";
}

TEST_F(ConfigTest, ConfigCredentialsWinOverTheEnvironmentAndDropItsSessionToken) {
  Set("AWS_ACCESS_KEY_ID", "envid");
  Set("AWS_SECRET_ACCESS_KEY", "envsecret");
  Set("AWS_SESSION_TOKEN", "envtoken");
  Set("AWS_ENDPOINT_URL", "http://generic:9000");
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /a.db
    replica: {url: 's3://b/p', access-key-id: cfgid, secret-access-key: cfgsecret}
  - path: /b.db
    replica: {url: 's3://b/q'}
access-key-id: globalid
secret-access-key: globalsecret
)"));
  const ReplicaOptions& r = c.dbs[0].replicas[0];
  EXPECT_EQ(r.settings<S3Settings>().access_key_id.reveal(), "cfgid");
  EXPECT_EQ(r.settings<S3Settings>().secret_access_key.reveal(), "cfgsecret");
  EXPECT_TRUE(r.settings<S3Settings>().session_token.empty());
  EXPECT_EQ(r.settings<S3Settings>().endpoint, "http://generic:9000");
  EXPECT_EQ(c.dbs[1].replicas[0].settings<S3Settings>().access_key_id.reveal(), "globalid");
  EXPECT_EQ(c.dbs[1].replicas[0].settings<S3Settings>().secret_access_key.reveal(), "globalsecret");
}

TEST_F(ConfigTest, HalfACredentialIsAnError) {
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b', access-key-id: x}\n"),
            "litesync.yml:3: dbs[0].replica.access-key-id: access-key-id is set but "
            "secret-access-key is not");
  Set("AWS_SECRET_ACCESS_KEY", "only-the-secret");
  std::string msg = Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b'}\n");
  EXPECT_EQ(msg,
            "litesync.yml:3: dbs[0].replica: AWS_SECRET_ACCESS_KEY is set but "
            "AWS_ACCESS_KEY_ID is not");
  EXPECT_THAT(msg, Not(HasSubstr("only-the-secret")));
}

TEST_F(ConfigTest, EndpointMustBeHttp) {
  // A host name without a scheme gets Litestream's (config_litestream_test.cc); anything
  // else must name http:// or https://.
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b', endpoint: 'minio:9000'}\n"),
            "litesync.yml:3: dbs[0].replica.endpoint: must start with http:// or https:// (got "
            "\"minio:9000\")");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b', endpoint: 'ftp://h.io'}\n"),
            "litesync.yml:3: dbs[0].replica.endpoint: must start with http:// or https:// (got "
            "\"ftp://h.io\")");
  Set("AWS_ENDPOINT_URL_S3", "minio:9000");
  EXPECT_EQ(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b'}\n"),
            "litesync.yml:3: dbs[0].replica: AWS_ENDPOINT_URL_S3 must start with http:// or "
            "https:// (got \"minio:9000\")");
}

TEST_F(ConfigTest, ForcePathStyleCanBeTurnedOffWithAnEndpoint) {
  LS_ASSERT_OK_AND_ASSIGN(Config c,
                          Parse("dbs:\n  - path: /a.db\n    replica: {url: 's3://b', endpoint: "
                                "'https://s3.example.com', force-path-style: false}\n"));
  EXPECT_EQ(c.dbs[0].replicas[0].settings<S3Settings>().force_path_style, false);
  LS_ASSERT_OK_AND_ASSIGN(c, Parse("dbs:\n  - path: /a.db\n    replica: {url: 's3://b'}\n"));
  EXPECT_EQ(c.dbs[0].replicas[0].settings<S3Settings>().force_path_style, std::nullopt);
  EXPECT_THAT(
      Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b', force-path-style: maybe}\n"),
      HasSubstr("force-path-style: must be true or false"));
}

// --- heartbeats, log level, addr -------------------------------------------------------

constexpr char kDbs[] =
    "dbs:\n  - path: /data/a.db\n    replica: {path: /b/a}\n"
    "  - path: /data/b.db\n    replica: {path: /b/b}\n";

TEST_F(ConfigTest, HeartbeatUrlBecomesOneTargetOverAllDatabases) {
  LS_ASSERT_OK_AND_ASSIGN(Config c,
                          Parse(std::string(kDbs) + "heartbeat-url: https://hc-ping.com/abc-123\n"
                                                    "heartbeat-interval: 10m\n"));
  ASSERT_EQ(c.heartbeat.targets.size(), 1u);
  const HeartbeatTarget& t = c.heartbeat.targets[0];
  EXPECT_EQ(t.url.reveal(), "https://hc-ping.com/abc-123");
  EXPECT_EQ(t.interval, absl::Minutes(10));
  EXPECT_EQ(t.method, "GET");
  EXPECT_TRUE(t.databases.empty());
}

TEST_F(ConfigTest, HeartbeatIntervalUnderAMinuteIsClampedWithAWarning) {
  LS_ASSERT_OK_AND_ASSIGN(Config c,
                          Parse(std::string(kDbs) + "heartbeat-url: https://hc-ping.com/abc-123\n"
                                                    "heartbeat-interval: 30s\n"));
  EXPECT_EQ(c.heartbeat.targets.at(0).interval, absl::Minutes(1));
  ASSERT_EQ(log_lines_.size(), 1u);
  EXPECT_THAT(log_lines_[0], HasSubstr("level=WARN"));
  EXPECT_THAT(log_lines_[0], HasSubstr("msg=\"heartbeat interval raised to the minimum\""));
  EXPECT_THAT(log_lines_[0], HasSubstr("litesync.yml:7: heartbeat-interval"));
  EXPECT_THAT(log_lines_[0], Not(HasSubstr("abc-123")));
}

TEST_F(ConfigTest, HeartbeatsListParsesEveryKey) {
  LS_ASSERT_OK_AND_ASSIGN(Config c,
                          Parse(std::string(kDbs) + R"(heartbeat-url: https://hc-ping.com/one
heartbeats:
  - url: https://kuma.example.com/api/push/tok?status={status}
    interval: 2m
    method: post
    timeout: 10s
    fail-url: https://hc-ping.com/one/fail
    databases: [/data/a.db]
  - url: http://127.0.0.1:8080/ping
    interval: 10s
)"));
  ASSERT_EQ(c.heartbeat.targets.size(), 3u);
  const HeartbeatTarget& t = c.heartbeat.targets[1];
  EXPECT_EQ(t.method, "POST");
  EXPECT_EQ(t.interval, absl::Minutes(2));
  EXPECT_EQ(t.timeout, absl::Seconds(10));
  EXPECT_EQ(t.fail_url.reveal(), "https://hc-ping.com/one/fail");
  EXPECT_EQ(t.databases, std::vector<std::string>{"/data/a.db"});
  EXPECT_EQ(c.heartbeat.targets[2].interval, absl::Minutes(1));
}

TEST_F(ConfigTest, HeartbeatErrors) {
  const std::string dbs = kDbs;
  EXPECT_EQ(Error(dbs + "heartbeat-url: hc-ping.com/abc-123\n"),
            "litesync.yml:6: heartbeat-url: must be an http:// or https:// URL (got "
            "\"hc-ping.com/****\")");
  EXPECT_EQ(Error(dbs + "heartbeat-url: ftp://hc-ping.com/abc-123\n"),
            "litesync.yml:6: heartbeat-url: must be an http:// or https:// URL (got "
            "\"ftp://hc-ping.com/****\")");
  EXPECT_EQ(Error(dbs + "heartbeat-url: https://h/x?status={stauts}\n"),
            "litesync.yml:6: heartbeat-url: unknown placeholder \"{stauts}\" (known: {status}, "
            "{msg}, {ping})");
  EXPECT_EQ(Error(dbs + "heartbeat-url: https:///abc-123\n"),
            "litesync.yml:6: heartbeat-url: has no host: write scheme://host/path");
  EXPECT_EQ(Error(dbs + "heartbeat-interval: 5m\n"),
            "litesync.yml:6: heartbeat-interval: is set but heartbeat-url is not");
  EXPECT_EQ(Error(dbs + "heartbeat-url: https://h/x\nheartbeat-interval: 0s\n"),
            "litesync.yml:7: heartbeat-interval: must be greater than 0 (got 0s)");
  EXPECT_EQ(Error(dbs + "heartbeats:\n  - url: https://h/x\n    method: HEAD\n"),
            "litesync.yml:8: heartbeats[0].method: must be GET or POST (got \"HEAD\")");
  EXPECT_EQ(Error(dbs + "heartbeats:\n  - interval: 5m\n"),
            "litesync.yml:7: heartbeats[0]: needs a url:");
  EXPECT_EQ(Error(dbs + "heartbeats:\n  - url: https://h/x\n    databases:\n      - /data/a.db\n"
                        "      - /data/c.db\n"),
            "litesync.yml:10: heartbeats[0].databases[1]: /data/c.db is not one of the databases "
            "in dbs: or dirs:");
  EXPECT_EQ(Error(dbs + "heartbeats:\n  - url: https://h/x\n    timeout: -1s\n"),
            "litesync.yml:8: heartbeats[0].timeout: must not be negative (got -1s)");
  EXPECT_EQ(Error(dbs + "heartbeats:\n  - url: https://h/x\n    fail-url: mailto:x\n"),
            "litesync.yml:8: heartbeats[0].fail-url: must be an http:// or https:// URL (got "
            "\"mailto:x\")");
}

TEST_F(ConfigTest, EmptyHeartbeatUrlTurnsTheHeartbeatOff) {
  Set("LITESYNC_TEST_VAR", "");
  LS_ASSERT_OK_AND_ASSIGN(Config c,
                          Parse(std::string(kDbs) + "heartbeat-url: ${LITESYNC_TEST_VAR}\n"));
  EXPECT_TRUE(c.heartbeat.targets.empty());
}

TEST_F(ConfigTest, ShutdownSyncTimeoutDefaultsTo30sAndTakesADuration) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(kDbs));
  EXPECT_EQ(c.shutdown_sync_timeout, absl::Seconds(30));
  LS_ASSERT_OK_AND_ASSIGN(c, Parse("shutdown-sync-timeout: 5s\n" + std::string(kDbs)));
  EXPECT_EQ(c.shutdown_sync_timeout, absl::Seconds(5));
  LS_ASSERT_OK_AND_ASSIGN(c, Parse("shutdown-sync-timeout: 0s\n" + std::string(kDbs)));
  EXPECT_EQ(c.shutdown_sync_timeout, absl::ZeroDuration());
  EXPECT_THAT(Error("shutdown-sync-timeout: soon\n" + std::string(kDbs)),
              StartsWith("litesync.yml:1: shutdown-sync-timeout: must be a duration"));
  EXPECT_THAT(Error("shutdown-sync-timeout: -1s\n" + std::string(kDbs)),
              StartsWith("litesync.yml:1: shutdown-sync-timeout: must not be negative"));
}

TEST_F(ConfigTest, LogLevelAndAddrAreValidated) {
  const std::string dbs = kDbs;
  EXPECT_EQ(Error(dbs + "log-level: verbose\n"),
            "litesync.yml:6: log-level: must be debug, info, warn or error (got \"verbose\")");
  EXPECT_EQ(Error(dbs + "addr: 9090\n"),
            "litesync.yml:6: addr: must be HOST:PORT like 127.0.0.1:9090 or :9090 (got \"9090\")");
  EXPECT_FALSE(Parse(dbs + "addr: 'localhost:99999'\n").ok());
  EXPECT_FALSE(Parse(dbs + "addr: '::1:9090'\n").ok());
  LS_EXPECT_OK(Parse(dbs + "addr: ':9090'\n"));
  LS_EXPECT_OK(Parse(dbs + "addr: '[::1]:9090'\n"));
  LS_EXPECT_OK(Parse(dbs + "log-level: WARN\n"));
}

// --- dirs --------------------------------------------------------------------------------

TEST_F(ConfigTest, DirErrors) {
  EXPECT_EQ(Error("dirs:\n  - pattern: '*.db'\n    replica: {path: /b}\n"),
            "litesync.yml:2: dirs[0]: needs a dir: (the folder to watch)");
  EXPECT_EQ(Error("dirs:\n  - dir: /data\n    pattern: 'a/*.db'\n    replica: {path: /b}\n"),
            "litesync.yml:3: dirs[0].pattern: must match file names, like \"*.db\" (no slashes)");
  EXPECT_THAT(Error("dirs:\n  - dir: /data\n"),
              StartsWith("litesync.yml:2: dirs[0]: has no replica"));
  EXPECT_EQ(Error("dirs:\n  - dir: /data\n    replica: {path: /b}\n  - dir: /data/\n"
                  "    replica: {path: /c}\n"),
            "litesync.yml:4: dirs[1].dir: /data is already listed (litesync.yml:2: dirs[0])");
}

// --- LoadConfig ----------------------------------------------------------------------------

TEST_F(ConfigTest, LoadConfigReadsTheFile) {
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.Join("litesync.yml"), kDbs);
  LS_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(dir.Join("litesync.yml")));
  EXPECT_EQ(c.path, dir.Join("litesync.yml"));
  EXPECT_EQ(c.dbs.size(), 2u);
}

TEST_F(ConfigTest, LoadConfigOfAMissingFileNamesIt) {
  testing::TempDir dir;
  absl::StatusOr<Config> c = LoadConfig(dir.Join("nope.yml"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            dir.Join("nope.yml") + ": cannot read the config file: No such file or directory");
}

TEST_F(ConfigTest, LoadConfigOfADirectoryIsAnError) {
  testing::TempDir dir;
  absl::StatusOr<Config> c = LoadConfig(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              StartsWith(dir.path() + ": cannot read the config file: Is a directory"));
}

// --- etc/litesync.yml ------------------------------------------------------------------------

std::string ExampleConfigPath() {
  return (std::filesystem::path(__FILE__).parent_path() / "../../etc/litesync.yml")
      .lexically_normal()
      .string();
}

TEST_F(ConfigTest, TheExampleConfigParses) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(ExampleConfigPath()));
  ASSERT_EQ(c.dbs.size(), 1u);
  EXPECT_EQ(c.dbs[0].path, "/var/lib/app/app.db");
  EXPECT_EQ(c.dbs[0].replicas.at(0).settings<FileSettings>().path, "/var/backups/litesync/app");
}

TEST_F(ConfigTest, TheExampleConfigDescribesEveryKey) {
  std::string text = testing::ReadFileOrDie(ExampleConfigPath());
  for (const char* key : {"log-level",
                          "shutdown-sync-timeout",
                          "addr",
                          "heartbeat-url",
                          "heartbeat-interval",
                          "heartbeats",
                          "url",
                          "interval",
                          "method",
                          "timeout",
                          "fail-url",
                          "databases",
                          "access-key-id",
                          "secret-access-key",
                          "dbs",
                          "path",
                          "min-checkpoint-page-count",
                          "truncate-page-n",
                          "checkpoint-interval",
                          "busy-timeout",
                          "replica",
                          "replicas",
                          "type",
                          "name",
                          "bucket",
                          "endpoint",
                          "region",
                          "force-path-style",
                          "skip-verify",
                          "sync-interval",
                          "retention",
                          "snapshot-interval",
                          "validation-interval",
                          "liveness-interval",
                          "compaction-intervals",
                          "dirs",
                          "dir",
                          "pattern",
                          "recursive"}) {
    EXPECT_THAT(text, HasSubstr(std::string(key) + ":")) << key;
  }
}

// --- helpers ---------------------------------------------------------------------------------

TEST(ConfigInternalTest, EditDistance) {
  EXPECT_EQ(config_internal::EditDistance("sync-intervl", "sync-interval"), 1u);
  EXPECT_EQ(config_internal::EditDistance("", "abc"), 3u);
  EXPECT_EQ(config_internal::EditDistance("kitten", "sitting"), 3u);
}

TEST(ConfigInternalTest, AbsolutePathNormalizes) {
  EXPECT_EQ(config_internal::AbsolutePath("/a/./b/../c/"), "/a/c");
  EXPECT_EQ(config_internal::AbsolutePath("/"), "/");
  EXPECT_EQ(config_internal::AbsolutePath(""), "");
  EXPECT_EQ(config_internal::AbsolutePath("x.db"), Cwd() + "/x.db");
}

}  // namespace
}  // namespace litesync
