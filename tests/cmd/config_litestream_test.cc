// Litestream's config keys: each read with Litestream's meaning, read
// differently with a note, or refused naming the key and what litesync does instead.
// The last tests load every configuration example of Litestream's reference
// (tests/cmd/litestream_configs/, each file names its source).
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cmd/config.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr const char* kEnv[] = {"AWS_ACCESS_KEY_ID",
                                "AWS_SECRET_ACCESS_KEY",
                                "AWS_SESSION_TOKEN",
                                "AWS_REGION",
                                "AWS_DEFAULT_REGION",
                                "AWS_ENDPOINT_URL_S3",
                                "AWS_ENDPOINT_URL",
                                "LITESTREAM_ACCESS_KEY_ID",
                                "LITESTREAM_SECRET_ACCESS_KEY",
                                "NATS_PASSWORD",
                                "SFTP_PASSWORD",
                                "AZURE_ACCOUNT_KEY",
                                "WEBDAV_USERNAME",
                                "WEBDAV_PASSWORD",
                                "PID"};

// Every test starts without the variables above and puts them back after.
class LitestreamConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnv) {
      const char* v = std::getenv(name);
      saved_[name] = v == nullptr ? std::nullopt : std::optional<std::string>(v);
      unsetenv(name);
    }
  }
  void TearDown() override {
    SetConfigExpandEnv(true);
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  static absl::StatusOr<Config> Parse(const std::string& text) {
    return ParseConfigText(text, "litestream.yml");
  }
  static std::string Error(const std::string& text) {
    absl::StatusOr<Config> c = Parse(text);
    EXPECT_FALSE(c.ok()) << "parsed, but should not have:\n" << text;
    return c.ok() ? "" : std::string(c.status().message());
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_F(LitestreamConfigTest, TopLevelReplicaSettingsAreInheritedByEveryReplica) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
sync-interval: 5s
region: eu-west-1
endpoint: http://127.0.0.1:9000
bucket: shared
access-key-id: topid
secret-access-key: topsecret
force-path-style: false
skip-verify: true
validation-interval: 1h
dbs:
  - path: /a.db
    replica:
      type: s3
      path: a
  - path: /b.db
    replica:
      url: s3://own/b
      region: us-east-2
      sync-interval: 2s
  - path: /c.db
    replica:
      path: /backups/c
)"));
  const ReplicaOptions& a = c.dbs[0].replicas[0];
  EXPECT_EQ(a.settings<S3Settings>().bucket, "shared");
  EXPECT_EQ(a.settings<S3Settings>().prefix, "a");
  EXPECT_EQ(a.settings<S3Settings>().region, "eu-west-1");
  EXPECT_EQ(a.settings<S3Settings>().endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(a.sync_interval, absl::Seconds(5));
  EXPECT_EQ(a.settings<S3Settings>().access_key_id.reveal(), "topid");
  EXPECT_EQ(a.settings<S3Settings>().secret_access_key.reveal(), "topsecret");
  EXPECT_EQ(a.settings<S3Settings>().force_path_style, std::optional<bool>(false));
  EXPECT_TRUE(a.settings<S3Settings>().skip_verify);
  EXPECT_EQ(a.validation_interval, absl::Hours(1));
  const ReplicaOptions& b = c.dbs[1].replicas[0];  // its own keys win
  EXPECT_EQ(b.settings<S3Settings>().bucket, "own");
  EXPECT_EQ(b.settings<S3Settings>().region, "us-east-2");
  EXPECT_EQ(b.sync_interval, absl::Seconds(2));
  const ReplicaOptions& f = c.dbs[2].replicas[0];  // a file replica takes only what applies
  EXPECT_EQ(f.type, "file");
  EXPECT_EQ(f.sync_interval, absl::Seconds(5));
}

TEST_F(LitestreamConfigTest, AnInheritedSettingThatIsWrongIsReportedWhereItIsWritten) {
  EXPECT_EQ(Error("sync-interval: 0s\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n"),
            "litestream.yml:1: sync-interval: must be greater than 0 (got 0s)");
}

TEST_F(LitestreamConfigTest, V03ReplicaFieldsInsteadOfAUrl) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /a.db
    replicas:
      - type: s3
        bucket: mybkt.litestream.io
        path: db
        region: us-west-1
        retention: 72h
        retention-check-interval: 1h
)"));
  const ReplicaOptions& r = c.dbs[0].replicas[0];
  EXPECT_EQ(r.type, "s3");
  EXPECT_EQ(r.settings<S3Settings>().bucket, "mybkt.litestream.io");
  EXPECT_EQ(r.settings<S3Settings>().prefix, "db");
  EXPECT_EQ(r.settings<S3Settings>().region, "us-west-1");
  EXPECT_EQ(r.retention, absl::Hours(72));
  EXPECT_THAT(c.notes, Contains(HasSubstr("retention-check-interval: ignored")));
}

TEST_F(LitestreamConfigTest, AUrlMayCarryEndpointRegionAndPathStyle) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /a.db
    replica:
      url: s3://bkt/app?endpoint=http://127.0.0.1:9000&region=auto&forcePathStyle=false&skipVerify=true
)"));
  const ReplicaOptions& r = c.dbs[0].replicas[0];
  EXPECT_EQ(r.settings<S3Settings>().bucket, "bkt");
  EXPECT_EQ(r.settings<S3Settings>().prefix, "app");
  EXPECT_EQ(r.settings<S3Settings>().endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(r.settings<S3Settings>().region, "auto");
  EXPECT_EQ(r.settings<S3Settings>().force_path_style, std::optional<bool>(false));
  EXPECT_TRUE(r.settings<S3Settings>().skip_verify);
  EXPECT_THAT(Error("dbs:\n  - path: /a.db\n    replica: {url: 's3://b/p?endpoint=minio:9000'}\n"),
              AllOf(StartsWith("litestream.yml:3: dbs[0].replica.url: "),
                    HasSubstr("must start with http:// or https://"),
                    HasSubstr("litesync needs the scheme written")));
}

TEST_F(LitestreamConfigTest, AnEndpointWithoutASchemeFollowsLitestreamsRuleWithANote) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - path: /a.db
    replica: {type: s3, bucket: b, endpoint: fly.storage.tigris.dev}
  - path: /b.db
    replica: {type: s3, bucket: c, endpoint: "localhost:9000"}
)"));
  EXPECT_EQ(c.dbs[0].replicas[0].settings<S3Settings>().endpoint, "https://fly.storage.tigris.dev");
  EXPECT_EQ(c.dbs[1].replicas[0].settings<S3Settings>().endpoint, "http://localhost:9000");
  EXPECT_THAT(c.notes, Contains(StartsWith("litestream.yml:4: dbs[0].replica.endpoint: has no "
                                           "scheme: read as https://fly.storage.tigris.dev")));
}

TEST_F(LitestreamConfigTest, TheDirectoryFormInsideDbs) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
dbs:
  - dir: /var/lib/tenants
    pattern: "*.sqlite"
    recursive: true
    watch: true
    replica:
      url: s3://bkt/tenants
  - path: /a.db
    replica: {path: /backups/a}
dirs:
  - dir: /srv/other
    replica: {path: /backups/other}
)"));
  ASSERT_EQ(c.dirs.size(), 2u);
  EXPECT_EQ(c.dirs[0].dir, "/var/lib/tenants");
  EXPECT_EQ(c.dirs[0].pattern, "*.sqlite");
  EXPECT_TRUE(c.dirs[0].recursive);
  EXPECT_EQ(c.dirs[0].replicas[0].settings<S3Settings>().prefix, "tenants");
  EXPECT_EQ(c.dirs[1].dir, "/srv/other");  // litesync's own dirs: stays an alias
  EXPECT_THAT(c.notes, IsEmpty());
  ASSERT_EQ(c.dbs.size(), 1u);
  LS_ASSERT_OK_AND_ASSIGN(Config w, Parse("dbs:\n  - dir: /d\n    watch: false\n"
                                          "    replica: {path: /b}\n"));
  EXPECT_THAT(w.notes, Contains(HasSubstr("dbs[0].watch: litesync rescans the folder")));
  EXPECT_EQ(Error("dbs:\n  - dir: /d\n    path: /d/a.db\n    replica: {path: /b}\n"),
            "litestream.yml:2: dbs[0].dir: give either path: (one database) or dir: (a folder), "
            "not both");
}

TEST_F(LitestreamConfigTest, TheLoggingBlock) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
logging:
  level: WARN
  type: json
  stderr: false
dbs:
  - path: /a.db
    replica: {path: /b}
)"));
  EXPECT_EQ(c.log_level, std::optional<LogLevel>(LogLevel::kWarn));
  EXPECT_EQ(c.log_format, std::optional<LogFormat>(LogFormat::kJson));
  EXPECT_EQ(c.log_stderr, std::optional<bool>(false));
  EXPECT_EQ(Error("logging: {type: xml}\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n"),
            "litestream.yml:1: logging.type: must be text or json (got \"xml\")");
}

TEST_F(LitestreamConfigTest, JsonLogLinesAreOneObjectPerLine) {
  std::string line = FormatLogLine(LogFormat::kJson, absl::FromUnixSeconds(1'700'000'000),
                                   LogLevel::kWarn, "replica unreachable",
                                   {{"db", "/data/a \"b\".db"},
                                    {"attempt", 3},
                                    {"ok", false},
                                    {"ratio", 0.5},
                                    {"txid", "0000000000000003"}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(j["level"], "WARN");
  EXPECT_EQ(j["msg"], "replica unreachable");
  EXPECT_EQ(j["db"], "/data/a \"b\".db");
  EXPECT_EQ(j["attempt"], 3) << "numbers are JSON numbers, as in Litestream's JSON logs";
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["ratio"], 0.5);
  EXPECT_EQ(j["txid"], "0000000000000003") << "a hex TXID stays a string";
}

TEST_F(LitestreamConfigTest, SnapshotLevelsValidationAndRetentionBlocks) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
snapshot:
  interval: 1h
  retention: 72h
levels:
  - interval: 5m
  - interval: 1h
validation:
  interval: 6h
dbs:
  - path: /a.db
    replica: {path: /b}
  - path: /c.db
    snapshot:
      interval: 30m
      retention: 24h
    replica: {path: /d}
)"));
  const ReplicaOptions& a = c.dbs[0].replicas[0];
  EXPECT_EQ(a.snapshot_interval, absl::Hours(1));
  EXPECT_EQ(a.retention, absl::Hours(72));
  EXPECT_EQ(a.validation_interval, absl::Hours(6));
  EXPECT_EQ(a.compaction_intervals[0], absl::Minutes(5));
  EXPECT_EQ(a.compaction_intervals[1], absl::Hours(1));
  EXPECT_EQ(a.compaction_intervals[2], absl::ZeroDuration());
  const ReplicaOptions& b = c.dbs[1].replicas[0];  // the database's own snapshot: wins
  EXPECT_EQ(b.snapshot_interval, absl::Minutes(30));
  EXPECT_EQ(b.retention, absl::Hours(24));

  LS_ASSERT_OK_AND_ASSIGN(Config off, Parse("retention:\n  enabled: false\ndbs:\n  - path: /a.db\n"
                                            "    replica: {path: /b}\n"));
  EXPECT_EQ(off.dbs[0].replicas[0].retention, absl::InfiniteDuration());
  EXPECT_THAT(Error("levels:\n  - interval: 1m\n  - interval: 2m\n  - interval: 3m\n"
                    "  - interval: 4m\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n"),
              StartsWith("litestream.yml:2: levels: litesync builds at most 3 compaction levels"));
}

TEST_F(LitestreamConfigTest, KeysReadDifferentlyBecomeNotesNamingFileLineAndKey) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(addr: ":9090"
l0-retention: 5m
l0-retention-check-interval: 15s
shutdown-sync-timeout: 10s
shutdown-sync-interval: 500ms
verify-compaction: true
exec: myapp -serve
dbs:
  - path: /a.db
    restore-if-db-not-exists: true
    meta-path: /var/lib/meta
    monitor-interval: 1s
    max-checkpoint-page-count: 20000
    replica:
      url: s3://b/a
      part-size: 5MB
      auto-recover: true
)"));
  EXPECT_EQ(c.exec, "myapp -serve");
  EXPECT_EQ(c.shutdown_sync_timeout, absl::Seconds(10));
  EXPECT_EQ(c.restore_if_missing, std::vector<std::string>{"/a.db"});
  EXPECT_EQ(c.dbs[0].truncate_pages, 20000);
  for (const char* want :
       {"litestream.yml:1: addr: without a host litesync listens on 127.0.0.1:9090 only",
        "litestream.yml:2: l0-retention: ignored", "litestream.yml:3: l0-retention-check-interval",
        "litestream.yml:5: shutdown-sync-interval: ignored",
        "litestream.yml:6: verify-compaction: ignored", "litestream.yml:11: dbs[0].meta-path",
        "litestream.yml:12: dbs[0].monitor-interval",
        "litestream.yml:13: dbs[0].max-checkpoint-page-count: read as truncate-page-n",
        "litestream.yml:16: dbs[0].replica.part-size: ignored",
        "litestream.yml:17: dbs[0].replica.auto-recover: ignored"}) {
    EXPECT_THAT(c.notes, Contains(StartsWith(want))) << want;
  }
}

TEST_F(LitestreamConfigTest, BackendsLitesyncLacksAreRefusedNamingTheAlternative) {
  auto db = [](const std::string& replica) {
    return "dbs:\n  - path: /a.db\n    replica: " + replica + "\n";
  };
  EXPECT_THAT(Error(db("{type: gs, bucket: b}")),
              AllOf(StartsWith("litestream.yml:3: dbs[0].replica.type: \"gs\" replicas are not "
                               "supported"),
                    HasSubstr("endpoint: https://storage.googleapis.com")));
  EXPECT_THAT(Error(db("{url: 'sftp://h/backup'}")),
              AllOf(StartsWith("litestream.yml:3: dbs[0].replica.url: sftp:// replicas are not "
                               "supported"),
                    HasSubstr("sshfs")));
  for (const char* url : {"abs://a@x/c/db", "webdav://h/p", "nats://h:4222/b", "oss://b/db"}) {
    EXPECT_THAT(Error(db(fmt::format("{{url: '{}'}}", url))), HasSubstr("replicas are not "
                                                                        "supported"))
        << url;
  }
  EXPECT_THAT(Error("account-name: x\n" + db("{path: /b}")),
              StartsWith("litestream.yml:1: account-name: is a setting of Litestream's abs "
                         "replicas"));
  EXPECT_THAT(Error(db("{url: 's3://b/a', storage-class: GLACIER}")),
              StartsWith("litestream.yml:3: dbs[0].replica.storage-class: litesync writes "
                         "objects in the bucket's default storage class"));
  EXPECT_THAT(Error(db("{url: 's3://b/a', sse-kms-key-id: k}")),
              HasSubstr("sse-kms-key-id: litesync sends no server-side-encryption headers"));
  EXPECT_THAT(Error("mcp-addr: ':3001'\n" + db("{path: /b}")),
              StartsWith("litestream.yml:1: mcp-addr: litesync has no MCP server"));
  EXPECT_THAT(Error(db("{url: 's3://arn:aws:s3:us-east-2:1:accesspoint/ap/db'}")),
              HasSubstr("S3 access point ARNs are not supported"));
}

TEST_F(LitestreamConfigTest, LitestreamCredentialVariablesAreReadWhereAwsOnesAreNot) {
  setenv("LITESTREAM_ACCESS_KEY_ID", "lsid", 1);
  setenv("LITESTREAM_SECRET_ACCESS_KEY", "lssecret", 1);
  const std::string text = "dbs:\n  - path: /a.db\n    replica: {url: 's3://b/a'}\n";
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(text));
  EXPECT_EQ(c.dbs[0].replicas[0].settings<S3Settings>().access_key_id.reveal(), "lsid");
  EXPECT_EQ(c.dbs[0].replicas[0].settings<S3Settings>().secret_access_key.reveal(), "lssecret");
  setenv("AWS_ACCESS_KEY_ID", "awsid", 1);  // Litestream: AWS_* wins when both are set
  setenv("AWS_SECRET_ACCESS_KEY", "awssecret", 1);
  LS_ASSERT_OK_AND_ASSIGN(Config d, Parse(text));
  EXPECT_EQ(d.dbs[0].replicas[0].settings<S3Settings>().access_key_id.reveal(), "awsid");
  unsetenv("AWS_SECRET_ACCESS_KEY");  // the secret then comes from LITESTREAM_*, as there
  LS_ASSERT_OK_AND_ASSIGN(Config e, Parse(text));
  EXPECT_EQ(e.dbs[0].replicas[0].settings<S3Settings>().secret_access_key.reveal(), "lssecret");
  unsetenv("LITESTREAM_SECRET_ACCESS_KEY");
  EXPECT_EQ(Error(text),
            "litestream.yml:3: dbs[0].replica: AWS_ACCESS_KEY_ID is set but "
            "AWS_SECRET_ACCESS_KEY is not");
}

TEST_F(LitestreamConfigTest, VariablesExpandAsInLitestreamUnlessNoExpandEnv) {
  setenv("NATS_PASSWORD", "from-the-environment", 1);
  const std::string text =
      "dbs:\n  - path: /data/${NATS_PASSWORD}/$PID.db\n    replica: {path: /b}\n";
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(text));
  EXPECT_EQ(c.dbs[0].path, fmt::format("/data/from-the-environment/{}.db", ::getpid()));
  SetConfigExpandEnv(false);
  LS_ASSERT_OK_AND_ASSIGN(Config raw, Parse(text));
  EXPECT_EQ(raw.dbs[0].path, "/data/${NATS_PASSWORD}/$PID.db");
}

TEST_F(LitestreamConfigTest, SqliteUrlPathsAndTheControlSocketPath) {
  LS_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"(
socket:
  path: /run/litesync/ctl.sock
dbs:
  - path: sqlite3:///data/app.db
    replica: {path: /b}
)"));
  EXPECT_EQ(c.dbs[0].path, "/data/app.db");
  EXPECT_EQ(c.socket_path, "/run/litesync/ctl.sock");
}

// --- Litestream's documentation examples ---------------------------------------------------

struct DocExample {
  const char* file;
  const char* error;  // nullptr: loads; else a substring of the refusal
};

// Every example of Litestream's configuration reference. The refusals name the
// key and what to do instead; a fragment without dbs: gets one file replica.
constexpr DocExample kDocExamples[] = {
    {"config-00-variable-expansion.yml", nullptr},
    {"config-01-expansion-only-variables-must-use-var-sy.yml", "replica.type: \"nats\" replicas"},
    {"config-02-retention.yml", nullptr},
    {"config-03-global-replica-defaults.yml", nullptr},
    {"config-04-global-replica-defaults.yml", nullptr},
    {"config-05-global-replica-defaults.yml", "is a setting of Litestream's abs"},
    {"config-06-global-replica-defaults.yml", "is a setting of Litestream's sftp"},
    {"config-07-global-replica-defaults.yml", "is a setting of Litestream's nats"},
    {"config-08-global-replica-defaults.yml", nullptr},
    {"config-09-aws-credentials.yml", nullptr},
    {"config-10-metrics.yml", nullptr},
    {"config-11-mcp-model-context-protocol.yml", "mcp-addr: litesync has no MCP server"},
    {"config-12-logging.yml", nullptr},
    {"config-13-l0-retention.yml", nullptr},
    {"config-14-l0-retention.yml", nullptr},
    {"config-15-extended-retention-for-high-latency-vfs-.yml", nullptr},
    {"config-16-compaction-verification.yml", nullptr},
    {"config-17-heartbeat-monitoring.yml", nullptr},
    {"config-18-shutdown-sync.yml", nullptr},
    {"config-19-control-socket.yml", nullptr},
    {"config-20-database-settings.yml", "nats:// replicas are not supported"},
    {"config-21-per-database-snapshot-settings.yml", nullptr},
    {"config-22-directory-replication.yml", nullptr},
    {"config-23-directory-replication.yml", nullptr},
    {"config-24-metadata-directory.yml", nullptr},
    {"config-25-metadata-directory.yml", nullptr},
    {"config-26-sqlite-connection-string-prefixes.yml", "dbs[0]: has no replica"},
    {"config-27-directory-configuration.yml", nullptr},
    {"config-28-auto-recover.yml", nullptr},
    {"config-29-s3-replica.yml", nullptr},
    {"config-30-s3-replica.yml", "S3 access point ARNs are not supported"},
    {"config-31-s3-replica.yml", nullptr},
    {"config-32-s3-replica.yml", nullptr},
    {"config-33-tigris-fly-io-configuration.yml", nullptr},
    {"config-34-local-minio-docker.yml", nullptr},
    {"config-35-remote-minio-server.yml", nullptr},
    {"config-36-remote-minio-server.yml", nullptr},
    {"config-37-file-replica.yml", nullptr},
    {"config-38-google-cloud-storage-gcs-replica.yml", "gs:// replicas are not supported"},
    {"config-39-google-cloud-storage-gcs-replica.yml", "\"gs\" replicas are not supported"},
    {"config-40-azure-blob-storage-abs-replica.yml", "abs:// replicas are not supported"},
    {"config-41-azure-blob-storage-abs-replica.yml", "\"abs\" replicas are not supported"},
    {"config-42-sftp-replica.yml", "sftp:// replicas are not supported"},
    {"config-43-sftp-replica.yml", "\"sftp\" replicas are not supported"},
    {"config-44-nats-jetstream-object-store-replica.yml", "nats:// replicas are not supported"},
    {"config-45-nats-jetstream-object-store-replica.yml", "\"nats\" replicas are not supported"},
    {"config-46-alibaba-cloud-oss-replica.yml", "oss:// replicas are not supported"},
    {"config-47-alibaba-cloud-oss-replica.yml", "\"oss\" replicas are not supported"},
    {"config-48-webdav-replica.yml", "webdavs:// replicas are not supported"},
    {"config-49-webdav-replica.yml", "\"webdav\" replicas are not supported"},
    {"config-50-legacy-multiple-replicas.yml", nullptr},
    {"config-51-legacy-multiple-replicas.yml", nullptr},
    {"config-52-validation.yml", nullptr},
    // litesync reads v0.3's age: keys; the reference's placeholder keys are not keys
    // (CliAgeTest loads the same block with real ones).
    {"config-53-age-encryption-v0-3-x-only.yml",
     "replica.age.recipients: [0]: not an age recipient"},
    {"config-54-age-encryption-v0-3-x-only.yml",
     "replica.age.recipients: [0]: not an age recipient"},
    {"config-55-complete-configuration-example.yml", "mcp-addr: litesync has no MCP server"},
};

std::string ExamplesDir() {
  return (std::filesystem::path(LITESYNC_SOURCE_DIR) / "tests/cmd/litestream_configs").string();
}

TEST_F(LitestreamConfigTest, EveryDocumentationExampleLoadsOrIsRefusedWithAReason) {
  for (const char* name : {"NATS_PASSWORD", "SFTP_PASSWORD", "AZURE_ACCOUNT_KEY", "WEBDAV_USERNAME",
                           "WEBDAV_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
    setenv(name, fmt::format("value-of-{}", name).c_str(), 1);
  }
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ExamplesDir())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, std::size(kDocExamples)) << "every file in " << ExamplesDir() << " is listed";
  for (const DocExample& ex : kDocExamples) {
    std::string text = testing::ReadFileOrDie(ExamplesDir() + "/" + ex.file);
    EXPECT_THAT(text, HasSubstr("From Litestream's configuration reference")) << ex.file;
    if (text.find("\ndbs:") == std::string::npos) {
      text += "\ndbs:\n  - path: /var/lib/fragment.db\n    replica:\n      path: /backup/f\n";
    }
    absl::StatusOr<Config> c = ParseConfigText(text, ex.file);
    if (ex.error == nullptr) {
      EXPECT_TRUE(c.ok()) << ex.file << ": " << c.status();
    } else {
      ASSERT_FALSE(c.ok()) << ex.file << " loaded but should be refused";
      EXPECT_THAT(std::string(c.status().message()),
                  AllOf(StartsWith(std::string(ex.file) + ":"), HasSubstr(ex.error)))
          << ex.file;
    }
  }
}

}  // namespace
}  // namespace litesync
