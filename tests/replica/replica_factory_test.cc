// ReplicaOptionsFromUrl (restore without a config), NewReplicaClient and the
// backend registry.
#include <stdlib.h>

#include <algorithm>
#include <utility>

#include "base/status.h"
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/storage/backend.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Sets (or unsets, with nullptr) an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Clears every variable the parser reads, so the machine's own do not leak in.
struct CleanAwsEnv {
  ScopedEnv a{"AWS_ACCESS_KEY_ID", nullptr};
  ScopedEnv b{"AWS_SECRET_ACCESS_KEY", nullptr};
  ScopedEnv c{"AWS_SESSION_TOKEN", nullptr};
  ScopedEnv d{"AWS_REGION", nullptr};
  ScopedEnv e{"AWS_DEFAULT_REGION", nullptr};
  ScopedEnv f{"AWS_ENDPOINT_URL_S3", nullptr};
  ScopedEnv g{"AWS_ENDPOINT_URL", nullptr};
};

std::string ErrorOf(std::string_view url) {
  absl::StatusOr<ReplicaOptions> o = ReplicaOptionsFromUrl(url);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << url;
  return std::string(o.status().message());
}

TEST(ReplicaOptionsFromUrlTest, PathsAndFileUrlsAreFileReplicas) {
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions plain, ReplicaOptionsFromUrl("/backups/app"));
  EXPECT_EQ(plain.type, "file");
  EXPECT_EQ(plain.settings<FileSettings>().path, "/backups/app");
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions relative, ReplicaOptionsFromUrl("backups/app"));
  EXPECT_EQ(relative.settings<FileSettings>().path, "backups/app");
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions url, ReplicaOptionsFromUrl("file:///backups/my%20app"));
  EXPECT_EQ(url.type, "file");
  EXPECT_EQ(url.settings<FileSettings>().path, "/backups/my app");
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions local, ReplicaOptionsFromUrl("file://localhost/b"));
  EXPECT_EQ(local.settings<FileSettings>().path, "/b");
  EXPECT_THAT(ErrorOf("file://server/share"),
              AllOf(HasSubstr("\"file://server/share\""), HasSubstr("file:///absolute/path")));
}

TEST(ReplicaOptionsFromUrlTest, S3UrlCarriesBucketPrefixAndServerSettings) {
  CleanAwsEnv env;
  LS_ASSERT_OK_AND_ASSIGN(
      ReplicaOptions o,
      ReplicaOptionsFromUrl("s3://bkt/app/db/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-"
                            "west-1&force-path-style=true&skip-verify=true"));
  EXPECT_EQ(o.type, "s3");
  EXPECT_EQ(o.settings<S3Settings>().bucket, "bkt");
  EXPECT_EQ(o.settings<S3Settings>().prefix, "app/db");
  EXPECT_EQ(o.settings<S3Settings>().endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(o.settings<S3Settings>().region, "eu-west-1");
  EXPECT_EQ(o.settings<S3Settings>().force_path_style, true);
  EXPECT_TRUE(o.settings<S3Settings>().skip_verify);
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions bare, ReplicaOptionsFromUrl("s3://bkt"));
  EXPECT_EQ(bare.settings<S3Settings>().bucket, "bkt");
  EXPECT_EQ(bare.settings<S3Settings>().prefix, "");
  EXPECT_EQ(bare.settings<S3Settings>().force_path_style, std::nullopt);
  EXPECT_EQ(bare.settings<S3Settings>().endpoint, "");
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions unencoded,
                          ReplicaOptionsFromUrl("s3://bkt/p?endpoint=http://minio:9000"));
  EXPECT_EQ(unencoded.settings<S3Settings>().endpoint, "http://minio:9000");
}

TEST(ReplicaOptionsFromUrlTest, S3SettingsFallBackToTheEnvironment) {
  CleanAwsEnv env;
  ScopedEnv key("AWS_ACCESS_KEY_ID", "AKIAENV");
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "env-secret");
  ScopedEnv token("AWS_SESSION_TOKEN", "env-token");
  ScopedEnv region("AWS_REGION", "ap-south-1");
  ScopedEnv generic("AWS_ENDPOINT_URL", "http://generic:1");
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions o, ReplicaOptionsFromUrl("s3://bkt/app"));
  EXPECT_EQ(o.settings<S3Settings>().access_key_id.reveal(), "AKIAENV");
  EXPECT_EQ(o.settings<S3Settings>().secret_access_key.reveal(), "env-secret");
  EXPECT_EQ(o.settings<S3Settings>().session_token.reveal(), "env-token");
  EXPECT_EQ(o.settings<S3Settings>().region, "ap-south-1");
  EXPECT_EQ(o.settings<S3Settings>().endpoint, "http://generic:1");
  {
    ScopedEnv s3("AWS_ENDPOINT_URL_S3", "http://s3-specific:2");
    LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions s3o, ReplicaOptionsFromUrl("s3://bkt/app"));
    EXPECT_EQ(s3o.settings<S3Settings>().endpoint, "http://s3-specific:2");
  }
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions given,
                          ReplicaOptionsFromUrl("s3://bkt/app?endpoint=http://given:3&region=r"));
  EXPECT_EQ(given.settings<S3Settings>().endpoint, "http://given:3");  // the URL wins
  EXPECT_EQ(given.settings<S3Settings>().region, "r");
}

TEST(ReplicaOptionsFromUrlTest, ErrorsNameTheUrlAndTheBadPart) {
  CleanAwsEnv env;
  EXPECT_THAT(ErrorOf("ftp://host/x"), AllOf(HasSubstr("\"ftp://host/x\""), HasSubstr("\"ftp\"")));
  EXPECT_THAT(ErrorOf("s3:///app"), HasSubstr("bucket is missing"));
  EXPECT_THAT(ErrorOf("s3://bkt/app?regoin=x"),
              AllOf(HasSubstr("s3://bkt/app?regoin=x"), HasSubstr("unknown parameter \"regoin\"")));
  EXPECT_THAT(ErrorOf("s3://bkt/app?force-path-style=maybe"),
              AllOf(HasSubstr("force-path-style"), HasSubstr("\"maybe\"")));
  EXPECT_THAT(ErrorOf("s3://bkt/app?endpoint=minio:9000"),
              AllOf(HasSubstr("endpoint \"minio:9000\""), HasSubstr("http://")));
  EXPECT_THAT(ErrorOf("s3://bkt/app?endpoint=http%3"), HasSubstr("endpoint"));
  EXPECT_EQ(ReplicaOptionsFromUrl("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReplicaOptionsFromUrlTest, CredentialsInTheUrlAreRefusedWithoutEchoingThem) {
  std::string err = ErrorOf("s3://AKIAXXXX:hunter2secret@bkt/app");
  EXPECT_THAT(err, AllOf(HasSubstr("AWS_ACCESS_KEY_ID"), Not(HasSubstr("hunter2secret"))));
}

TEST(NewReplicaClientTest, BuildsEachBackendAndRefusesUnknownTypes) {
  CleanAwsEnv env;
  ReplicaOptions file;
  file.type = "file";
  file.settings<FileSettings>().path = "/tmp/litesync-factory-test-never-created";
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ReplicaClient> f, NewReplicaClient(file));
  EXPECT_EQ(f->Type(), "file");

  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions s3,
                          ReplicaOptionsFromUrl("s3://bkt/app?endpoint=http://127.0.0.1:1"));
  absl::StatusOr<std::unique_ptr<ReplicaClient>> no_creds = NewReplicaClient(s3);
  EXPECT_EQ(no_creds.status().code(), absl::StatusCode::kInvalidArgument);
  s3.settings<S3Settings>().access_key_id = Secret("AKIA");
  s3.settings<S3Settings>().secret_access_key = Secret("secret");
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ReplicaClient> c, NewReplicaClient(s3));
  EXPECT_EQ(c->Type(), "s3");
  EXPECT_EQ(c->Describe(), "s3://bkt/app");

  ReplicaOptions ftp;
  ftp.type = "ftp";
  ftp.name = "offsite";
  absl::StatusOr<std::unique_ptr<ReplicaClient>> bad = NewReplicaClient(ftp);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              AllOf(HasSubstr("\"offsite\""), HasSubstr("\"ftp\"")));
}

// The registry (replica/storage/backend.h): every backend's registration is
// complete, its URL round-trips through describe, and each backend-only config
// key names exactly one backend.
TEST(BackendRegistryTest, EveryRegistrationIsCompleteAndRoundTripsItsUrl) {
  ScopedEnv endpoint("AWS_ENDPOINT_URL_S3", nullptr);
  ScopedEnv endpoint2("AWS_ENDPOINT_URL", nullptr);
  ASSERT_GE(Backends().size(), 2u);
  for (const Backend* b : Backends()) {
    SCOPED_TRACE(b->scheme);
    ASSERT_TRUE(b->from_url && b->describe && b->location && b->open && b->derive && b->transient &&
                b->location_from_config);
    EXPECT_EQ(FindBackend(b->scheme), b);
    EXPECT_THAT(KnownBackends(), HasSubstr(fmt::format("\"{}\"", b->scheme)));
    std::string url = b == &kFileBackend ? "file:///backups/app" : "s3://bucket/some/prefix";
    absl::StatusOr<ReplicaOptions> o = ReplicaOptionsFromUrl(url);
    LS_ASSERT_OK(o.status());
    EXPECT_EQ(o->type, b->scheme);
    EXPECT_EQ(o->Describe(), url);
    ReplicaOptions derived = b->derive(*o, "sub/app.db");
    EXPECT_EQ(derived.Describe(), url + "/sub/app.db");
    EXPECT_NE(b->location(*o), b->location(derived));
    for (std::string_view key : b->settings_keys) EXPECT_EQ(BackendOfKey(key), b) << key;
    if (!b->naming_key.empty()) {
      EXPECT_EQ(BackendOfKey(b->naming_key), b);
    }
  }
  EXPECT_EQ(std::count_if(Backends().begin(), Backends().end(),
                          [](const Backend* b) { return b->from_path != nullptr; }),
            1);  // plain paths name one backend's replicas
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions plain, ReplicaOptionsFromUrl("/backups/app"));
  EXPECT_EQ(plain.type, PlainPathBackend().scheme);
  EXPECT_EQ(plain.Describe(), "file:///backups/app");
  EXPECT_EQ(FindBackend("gs"), nullptr);
  EXPECT_EQ(BackendOfKey("sync-interval"), nullptr);  // every backend takes it
  EXPECT_TRUE(kS3Backend.transient(absl::UnavailableError("connection refused")));
  EXPECT_FALSE(kFileBackend.transient(absl::UnavailableError("connection refused")));
}

TEST(BackendSettingsTest, CopiesAreDeepAndCompareByValue) {
  ReplicaOptions a;
  a.type = "s3";
  a.settings<S3Settings>().bucket = "bkt";
  a.settings<S3Settings>().secret_access_key = Secret("one");
  ReplicaOptions b = a;
  EXPECT_TRUE(a.backend_settings == b.backend_settings);
  b.settings<S3Settings>().secret_access_key = Secret("two");
  EXPECT_EQ(a.settings<S3Settings>().secret_access_key.reveal(), "one");
  EXPECT_FALSE(a.backend_settings == b.backend_settings);
  b = a;
  EXPECT_TRUE(a.backend_settings == b.backend_settings);
  ReplicaOptions file;
  file.settings<FileSettings>().path = "bkt";
  EXPECT_FALSE(file.backend_settings == a.backend_settings);  // another backend's
  EXPECT_FALSE(ReplicaOptions().backend_settings == a.backend_settings);
  EXPECT_TRUE(ReplicaOptions().backend_settings == ReplicaOptions().backend_settings);
  // Const options without a backend's settings read that backend's defaults.
  const ReplicaOptions& cfile = file;
  EXPECT_EQ(cfile.settings<S3Settings>().bucket, "");
  EXPECT_EQ(cfile.settings<FileSettings>().path, "bkt");
  // Asking mutable options for another backend's settings replaces them.
  file.settings<S3Settings>().bucket = "x";
  EXPECT_EQ(std::as_const(file).settings<FileSettings>().path, "");
}

}  // namespace
}  // namespace litesync
