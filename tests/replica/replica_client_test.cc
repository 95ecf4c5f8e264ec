// The ReplicaClient conformance suite: every backend (a directory, S3 on a real
// s3rver) runs the same tests, so file and S3 cannot drift apart.
#include "replica/storage/replica_client.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/storage/file/file_settings.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Owns whatever a backend needs (directory, server) and the client over it.
class TestReplica {
 public:
  virtual ~TestReplica() = default;
  ReplicaClient* client() { return client_.get(); }

 protected:
  std::unique_ptr<ReplicaClient> client_;
};

class FileReplica : public TestReplica {
 public:
  FileReplica() {
    ReplicaOptions o;
    o.type = "file";
    o.settings<FileSettings>().path = dir_.Join("replica");
    absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewReplicaClient(o);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) client_ = std::move(*c);
  }

 private:
  testing::TempDir dir_;
};

class S3Replica : public TestReplica {
 public:
  S3Replica() {
    absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewReplicaClient(server_.Options("app"));
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) client_ = std::move(*c);
  }

 private:
  testing::S3Server server_;
};

struct Backend {
  const char* name;
  std::function<std::unique_ptr<TestReplica>()> make;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

TxFileInfo Info(Lineage lineage, int level, uint64_t min, uint64_t max) {
  TxFileInfo i;
  i.lineage = lineage;
  i.level = level;
  i.min_txid = min;
  i.max_txid = max;
  i.timestamp = absl::FromUnixMillis(1'700'000'000'123 + static_cast<int64_t>(max));
  return i;
}

// Bytes with every value, NULs included, so no backend gets away with text.
std::string Bytes(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed)) % 256);
  return s;
}

// A source whose reader fails after `fail_after` bytes: a disk error mid-upload.
class FailingSource : public ByteSource {
 public:
  FailingSource(uint64_t size, uint64_t fail_after) : size_(size), fail_after_(fail_after) {}
  uint64_t Size() const override { return size_; }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    class Reader : public ByteReader {
     public:
      explicit Reader(uint64_t left) : left_(left) {}
      absl::StatusOr<size_t> Read(char* buf, size_t n) override {
        if (left_ == 0) return absl::DataLossError("read source: injected I/O error");
        size_t k = static_cast<size_t>(std::min<uint64_t>(n, left_));
        std::memset(buf, 'x', k);
        left_ -= k;
        return k;
      }

     private:
      uint64_t left_;
    };
    return std::unique_ptr<ByteReader>(new Reader(fail_after_));
  }

 private:
  uint64_t size_;
  uint64_t fail_after_;
};

class ReplicaClientTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    replica_ = GetParam().make();
    client_ = replica_->client();
    ASSERT_NE(client_, nullptr);
  }

  void Write(const TxFileInfo& info, const std::string& bytes) {
    std::unique_ptr<ByteSource> src = MemorySource(bytes);
    LS_ASSERT_OK(client_->Write(info, *src));
  }

  absl::StatusOr<std::string> Read(const TxFileInfo& info) {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r, client_->Open(info));
    return ReadAll(*r);
  }

  std::unique_ptr<TestReplica> replica_;
  ReplicaClient* client_ = nullptr;
};

TEST_P(ReplicaClientTest, EmptyReplicaListsNothing) {
  LS_ASSERT_OK_AND_ASSIGN(std::vector<Lineage> lineages, client_->ListLineages());
  EXPECT_THAT(lineages, IsEmpty());
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, client_->List(1, 0));
  EXPECT_THAT(files, IsEmpty());
}

TEST_P(ReplicaClientTest, WriteThenOpenRoundTripsEveryByte) {
  std::vector<std::pair<TxFileInfo, std::string>> files = {
      {Info(1, 0, 1, 1), Bytes(1000, 1)},
      {Info(1, 0, 2, 2), ""},
      {Info(1, 0, 3, 9), Bytes(1 << 20, 7)},
  };
  for (const auto& [info, bytes] : files) Write(info, bytes);
  for (const auto& [info, bytes] : files) {
    absl::StatusOr<std::string> got = Read(info);
    LS_ASSERT_OK(got);
    EXPECT_EQ(got->size(), bytes.size());
    EXPECT_TRUE(*got == bytes) << info.Name();
  }
}

TEST_P(ReplicaClientTest, WritesFromAFileSource) {
  testing::TempDir dir;
  std::string path = dir.Join("tx");
  testing::WriteFileOrDie(path, Bytes(300'000, 3));
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteSource> src, FileSource(path));
  LS_ASSERT_OK(client_->Write(Info(1, 0, 1, 5), *src));
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(Info(1, 0, 1, 5)));
  EXPECT_TRUE(got == Bytes(300'000, 3));
}

TEST_P(ReplicaClientTest, ListIsSortedByTxidAndCarriesSizeAndTimestamp) {
  Write(Info(1, 0, 7, 9), Bytes(30, 1));
  Write(Info(1, 0, 1, 1), Bytes(10, 2));
  Write(Info(1, 0, 2, 6), Bytes(20, 3));
  Write(Info(1, 0, 2, 3), Bytes(5, 4));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, client_->List(1, 0));
  EXPECT_THAT(files,
              ElementsAre(Info(1, 0, 1, 1), Info(1, 0, 2, 3), Info(1, 0, 2, 6), Info(1, 0, 7, 9)));
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].size, 10u);
  EXPECT_EQ(files[1].size, 5u);
  EXPECT_EQ(files[3].size, 30u);
  EXPECT_EQ(files[3].timestamp, Info(1, 0, 7, 9).timestamp);
}

TEST_P(ReplicaClientTest, ListKeepsLineagesAndLevelsApart) {
  const Lineage a = 1, b = 0x1000;
  Write(Info(a, 0, 1, 1), "a0");
  Write(Info(a, 1, 1, 4), "a1");
  Write(Info(a, kSnapshotLevel, 1, 1), "as");
  Write(Info(b, 0, 0x1000, 0x1000), "b0");
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> a0, client_->List(a, 0));
  EXPECT_THAT(a0, ElementsAre(Info(a, 0, 1, 1)));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> a1, client_->List(a, 1));
  EXPECT_THAT(a1, ElementsAre(Info(a, 1, 1, 4)));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> as, client_->List(a, kSnapshotLevel));
  EXPECT_THAT(as, ElementsAre(Info(a, kSnapshotLevel, 1, 1)));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> b0, client_->List(b, 0));
  EXPECT_THAT(b0, ElementsAre(Info(b, 0, 0x1000, 0x1000)));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> absent, client_->List(0x42, 0));
  EXPECT_THAT(absent, IsEmpty());
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> absent_level, client_->List(b, 2));
  EXPECT_THAT(absent_level, IsEmpty());
}

TEST_P(ReplicaClientTest, ListFromCutsTheLevelFromBelow) {
  // Spans hex digits (0xf -> 0x10, 0xff -> 0x100) so a bound compared as text
  // rather than as a number would cut in the wrong place.
  for (uint64_t t : {uint64_t{1}, uint64_t{0xf}, uint64_t{0x10}, uint64_t{0xff}, uint64_t{0x100}}) {
    Write(Info(1, 0, t, t), "x");
  }
  Write(Info(1, 1, 1, 0xff), "compacted");
  Write(Info(2, 0, 0x200, 0x200), "other lineage");
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> from_10, client_->ListFrom(1, 0, 0x10));
  EXPECT_THAT(from_10, ElementsAre(Info(1, 0, 0x10, 0x10), Info(1, 0, 0xff, 0xff),
                                   Info(1, 0, 0x100, 0x100)));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> from_f0, client_->ListFrom(1, 0, 0xf0));
  EXPECT_THAT(from_f0, ElementsAre(Info(1, 0, 0xff, 0xff), Info(1, 0, 0x100, 0x100)));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> all, client_->ListFrom(1, 0, 0));
  EXPECT_EQ(all.size(), 5u);
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> none, client_->ListFrom(1, 0, 0x101));
  EXPECT_THAT(none, IsEmpty());
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> level1, client_->ListFrom(1, 1, 1));
  EXPECT_THAT(level1, ElementsAre(Info(1, 1, 1, 0xff)));
}

TEST_P(ReplicaClientTest, ListLineagesIsAscending) {
  for (Lineage l : {Lineage{0x30}, Lineage{0x5}, Lineage{0xffff000000000001}, Lineage{0x31}}) {
    Write(Info(l, 0, l, l), "x");
    Write(Info(l, 0, l + 1, l + 1), "y");
  }
  LS_ASSERT_OK_AND_ASSIGN(std::vector<Lineage> lineages, client_->ListLineages());
  EXPECT_THAT(lineages, ElementsAre(0x5, 0x30, 0x31, 0xffff000000000001));
}

TEST_P(ReplicaClientTest, OpenOfAnAbsentFileIsNotFound) {
  Write(Info(1, 0, 1, 1), "x");
  for (const TxFileInfo& absent : {Info(1, 0, 2, 2), Info(1, 1, 1, 1), Info(9, 0, 1, 1)}) {
    absl::StatusOr<std::unique_ptr<ByteReader>> r = client_->Open(absent);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  }
}

TEST_P(ReplicaClientTest, DeleteRemovesFilesAndIgnoresAbsentOnes) {
  Write(Info(1, 0, 1, 1), "1");
  Write(Info(1, 0, 2, 2), "2");
  Write(Info(1, 0, 3, 3), "3");
  std::vector<TxFileInfo> doomed = {Info(1, 0, 1, 1), Info(1, 0, 3, 3), Info(1, 0, 77, 77),
                                    Info(5, 1, 1, 1)};
  LS_ASSERT_OK(client_->Delete(doomed));
  LS_ASSERT_OK(client_->Delete(doomed));  // again: all absent now
  LS_ASSERT_OK(client_->Delete({}));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, client_->List(1, 0));
  EXPECT_THAT(files, ElementsAre(Info(1, 0, 2, 2)));
  EXPECT_EQ(Read(Info(1, 0, 1, 1)).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ReplicaClientTest, FailedWriteLeavesNothingUnderTheFinalName) {
  FailingSource source(/*size=*/1 << 20, /*fail_after=*/512 << 10);
  absl::Status s = client_->Write(Info(1, 0, 1, 1), source);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("injected I/O error"));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, client_->List(1, 0));
  EXPECT_THAT(files, IsEmpty());
  EXPECT_EQ(Read(Info(1, 0, 1, 1)).status().code(), absl::StatusCode::kNotFound);
  Write(Info(1, 0, 1, 1), "whole");  // and the name is still usable
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(Info(1, 0, 1, 1)));
  EXPECT_EQ(got, "whole");
}

// Compaction may write a level-1+ name again after an interruption.
TEST_P(ReplicaClientTest, RewritingANameReplacesTheWholeFile) {
  Write(Info(1, 1, 1, 1), Bytes(5000, 1));
  Write(Info(1, 1, 1, 1), "short");
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(Info(1, 1, 1, 1)));
  EXPECT_EQ(got, "short");
}

// A directory replica writes a level-0 name once: the same bytes again are a
// retry, other bytes mean another writer uses the replica (AlreadyExists, the
// first file kept). S3 overwrites: its writer learns of a rival from the lease.
TEST_P(ReplicaClientTest, ALevelZeroNameIsWrittenOnceInADirectory) {
  Write(Info(1, 0, 1, 1), Bytes(5000, 1));
  Write(Info(1, 0, 1, 1), Bytes(5000, 1));
  std::unique_ptr<ByteSource> other = MemorySource("short");
  absl::Status s = client_->Write(Info(1, 0, 1, 1), *other);
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(Info(1, 0, 1, 1)));
  if (client_->Type() == "file") {
    EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
    EXPECT_EQ(got, Bytes(5000, 1));
  } else {
    LS_EXPECT_OK(s);
    EXPECT_EQ(got, "short");
  }
}

TEST_P(ReplicaClientTest, PingSucceedsOnAFreshReplica) { LS_EXPECT_OK(client_->Ping()); }

TEST_P(ReplicaClientTest, DescribesItselfByTypeWithoutSecrets) {
  std::string d = client_->Describe();
  EXPECT_THAT(d, HasSubstr(std::string(client_->Type()) + "://"));
  EXPECT_THAT(d, ::testing::Not(HasSubstr(testing::S3Server::kSecretAccessKey)));
}

std::unique_ptr<TestReplica> MakeFile() { return std::make_unique<FileReplica>(); }
std::unique_ptr<TestReplica> MakeS3() { return std::make_unique<S3Replica>(); }

INSTANTIATE_TEST_SUITE_P(AllBackends, ReplicaClientTest,
                         ::testing::Values(Backend{"File", &MakeFile}, Backend{"S3", &MakeS3}),
                         [](const ::testing::TestParamInfo<Backend>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace litesync
