// Path-style and virtual-hosted-style requests to a custom endpoint, against a real
// s3rver on loopback. s3rver takes the bucket from the path, or from a Host of the
// form BUCKET.s3.localhost (S3Server starts it with --service-endpoint localhost),
// so an object lands in the bucket only when the addressing is right. A FaultProxy
// in front records what was sent.
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/storage/s3/s3_api.h"
#include "replica/storage/s3/s3_replica_client.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FaultProxy;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::S3Server;

TxFileInfo Info(Lineage lineage, int level, uint64_t min, uint64_t max) {
  TxFileInfo i;
  i.lineage = lineage;
  i.level = level;
  i.min_txid = min;
  i.max_txid = max;
  i.timestamp = absl::FromUnixMillis(1'700'000'000'000);
  return i;
}

std::unique_ptr<ReplicaClient> Client(const ReplicaOptions& o, const S3Tuning& t = {}) {
  absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewS3ReplicaClient(o, t);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

// True when s3rver stored `key` in `bucket` (its files are <key>._S3rver_object).
bool StoredInBucket(const S3Server& server, const std::string& key) {
  struct stat st;
  std::string path =
      fmt::format("{}/{}/{}._S3rver_object", server.data_dir(), server.bucket(), key);
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadBack(ReplicaClient& c, const TxFileInfo& info) {
  absl::StatusOr<std::unique_ptr<ByteReader>> r = c.Open(info);
  if (!r.ok()) return "open: " + r.status().ToString();
  absl::StatusOr<std::string> got = ReadAll(**r);
  return got.ok() ? *got : "read: " + got.status().ToString();
}

TEST(S3AddressingTest, ForcePathStyleFalseWithAnEndpointPutsTheBucketInTheHost) {
  S3Server server;
  FaultProxy proxy(server.port());
  ReplicaOptions o = server.Options("app", fmt::format("http://s3.localhost:{}", proxy.port()));
  o.settings<S3Settings>().force_path_style = false;
  std::unique_ptr<ReplicaClient> c = Client(o);
  ASSERT_NE(c, nullptr);
  TxFileInfo info = Info(3, 0, 1, 1);
  std::unique_ptr<ByteSource> src = MemorySource("virtual-hosted");
  LS_ASSERT_OK(c->Write(info, *src));

  std::vector<std::string> heads = proxy.request_heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_THAT(heads[0],
              AllOf(HasSubstr("PUT /app/" + info.RelativePath() + " HTTP/1.1\r\n"),
                    HasSubstr(fmt::format("Host: litesync-test.s3.localhost:{}\r\n", proxy.port())),
                    Not(HasSubstr("/litesync-test/"))));
  EXPECT_TRUE(StoredInBucket(server, "app/" + info.RelativePath()));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<Lineage> lineages, c->ListLineages());
  EXPECT_THAT(lineages, ElementsAre(3));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, c->List(3, 0));
  EXPECT_THAT(files, ElementsAre(info));
  EXPECT_EQ(ReadBack(*c, info), "virtual-hosted");
  std::vector<TxFileInfo> gone = {info};
  LS_ASSERT_OK(c->Delete(gone));
  EXPECT_FALSE(StoredInBucket(server, "app/" + info.RelativePath()));
}

TEST(S3AddressingTest, VirtualHostedMultipartUploadLandsInTheBucket) {
  S3Server server;
  testing::TempDir dir;
  FaultProxy proxy(server.port());
  ReplicaOptions o = server.Options("app", fmt::format("http://s3.localhost:{}", proxy.port()));
  o.settings<S3Settings>().force_path_style = false;
  S3Tuning tuning;
  tuning.part_size = 5 << 20;
  tuning.temp_dir = dir.path();
  std::unique_ptr<ReplicaClient> c = Client(o, tuning);
  ASSERT_NE(c, nullptr);
  const std::string bytes(6 << 20, 'v');  // two parts
  TxFileInfo info = Info(3, kSnapshotLevel, 1, 1);
  std::unique_ptr<ByteSource> src = MemorySource(bytes);
  LS_ASSERT_OK(c->Write(info, *src));

  std::vector<std::string> lines = proxy.request_lines();
  std::string key = "/app/" + info.RelativePath();
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "POST " + key + "?uploads");
  EXPECT_THAT(lines[3], HasSubstr("POST " + key + "?uploadId="));
  EXPECT_TRUE(StoredInBucket(server, "app/" + info.RelativePath()));
  EXPECT_TRUE(ReadBack(*c, info) == bytes);
}

TEST(S3AddressingTest, PathStyleStaysTheDefaultWithAnEndpoint) {
  S3Server server;
  FaultProxy proxy(server.port());
  for (std::optional<bool> force : {std::optional<bool>(), std::optional<bool>(true)}) {
    SCOPED_TRACE(force.has_value() ? "force-path-style: true" : "force-path-style unset");
    ReplicaOptions o = server.Options("app", fmt::format("http://s3.localhost:{}", proxy.port()));
    o.settings<S3Settings>().force_path_style = force;
    std::unique_ptr<ReplicaClient> c = Client(o);
    ASSERT_NE(c, nullptr);
    TxFileInfo info = Info(4, 0, 1, 1);
    std::unique_ptr<ByteSource> src = MemorySource("path-style");
    LS_ASSERT_OK(c->Write(info, *src));
    std::vector<std::string> heads = proxy.request_heads();
    ASSERT_FALSE(heads.empty());
    EXPECT_THAT(heads.back(),
                AllOf(HasSubstr("PUT /litesync-test/app/" + info.RelativePath() + " HTTP/1.1"),
                      HasSubstr(fmt::format("Host: s3.localhost:{}\r\n", proxy.port()))));
    EXPECT_TRUE(StoredInBucket(server, "app/" + info.RelativePath()));
    EXPECT_EQ(ReadBack(*c, info), "path-style");
  }
}

}  // namespace
}  // namespace litesync
