// Foreign objects on S3 (s3rver): listed with sizes and times, read whole, by
// range, and as one stream fetched in parts on several connections.
#include "replica/storage/parallel_reader.h"

#include <sys/stat.h>

#include <random>
#include <span>
#include <string>

#include "base/status.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/storage/s3/s3_api.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;

class ForeignObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::InitCurlOnce();
    ASSERT_TRUE(server_.running());
    std::mt19937_64 rng(42);
    bytes_.resize((5 << 20) + 12345);
    for (char& c : bytes_) c = static_cast<char>(rng());
    LS_ASSERT_OK_AND_ASSIGN(S3Target target, ResolveS3Target(server_.Options("")));
    S3Api raw(target, {});
    for (const char* key : {"app/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4",
                            "app/0000/0000000000000001-0000000000000001.ltx"}) {
      S3Call put;
      put.method = "PUT";
      put.key = key;
      put.body = bytes_;
      put.what = std::string("PUT ") + key;
      LS_ASSERT_OK(raw.Send(put));
    }
  }
  absl::StatusOr<std::unique_ptr<ReplicaClient>> Client() {
    return NewReplicaClient(server_.Options("app"));
  }

  testing::S3Server server_{"foreign"};
  std::string bytes_;
};

TEST_F(ForeignObjectsTest, ListsByPrefixAndReadsWholeAndByRange) {
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ReplicaClient> c, Client());
  LS_ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> gens, c->ListObjects("generations/"));
  ASSERT_EQ(gens.size(), 1u);
  EXPECT_EQ(gens[0].key, "generations/0123456789abcdef/snapshots/00000000.snapshot.lz4");
  EXPECT_EQ(gens[0].size, bytes_.size());
  EXPECT_LT(absl::AbsDuration(absl::Now() - gens[0].modified), absl::Minutes(5));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> none, c->ListObjects("ltx/"));
  EXPECT_TRUE(none.empty());

  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> whole, c->OpenObject(gens[0].key));
  LS_ASSERT_OK_AND_ASSIGN(std::string all, ReadAll(*whole));
  EXPECT_TRUE(all == bytes_);
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> part, c->OpenObject(gens[0].key, 1000, 100));
  LS_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*part));
  EXPECT_TRUE(got == bytes_.substr(1000, 100));
  EXPECT_TRUE(absl::IsNotFound(c->OpenObject("generations/nothing").status()));
}

// A part of a parallel read goes straight into the caller's buffer; a range
// past the object's end is an error naming the key, never a short part.
TEST_F(ForeignObjectsTest, ARangeReadFillsTheBufferOrSaysTheObjectIsShorter) {
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ReplicaClient> c, Client());
  const std::string key = "0000/0000000000000001-0000000000000001.ltx";
  std::string buf(100000, '\0');
  LS_ASSERT_OK(c->ReadObjectRange(key, 4321, std::span(buf.data(), buf.size())));
  EXPECT_TRUE(buf == bytes_.substr(4321, buf.size()));
  LS_ASSERT_OK(c->ReadObjectRange(key, 0, std::span(buf.data(), buf.size())));
  EXPECT_TRUE(buf == bytes_.substr(0, buf.size()));

  absl::Status s = c->ReadObjectRange(key, bytes_.size() - 10, std::span(buf.data(), buf.size()));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("shorter than listed"));
  EXPECT_THAT(std::string(s.message()), HasSubstr(key));
  s = c->ReadObjectRange("0000/absent.ltx", 0, std::span(buf.data(), buf.size()));
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
}

// The same rule through the default (OpenObject) path, in a directory.
TEST(ForeignObjectsInADirectoryTest, ARangeReadFillsTheBufferOrSaysTheObjectIsShorter) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("0000").c_str(), 0755), 0);
  const std::string bytes = "0123456789abcdefghij";
  testing::WriteFileOrDie(dir.Join("0000/x.ltx"), bytes);
  LS_ASSERT_OK_AND_ASSIGN(ReplicaOptions o, ReplicaOptionsFromUrl(dir.path()));
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ReplicaClient> c, NewReplicaClient(o));
  std::string buf(5, '\0');
  LS_ASSERT_OK(c->ReadObjectRange("0000/x.ltx", 10, std::span(buf.data(), buf.size())));
  EXPECT_EQ(buf, "abcde");
  absl::Status s = c->ReadObjectRange("0000/x.ltx", 17, std::span(buf.data(), buf.size()));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("0000/x.ltx: 3 bytes at offset 17, expected 5"));
}

// An object shorter than its listing (it changed after the listing): the stream
// ends with an error, never with a short or misplaced part.
TEST_F(ForeignObjectsTest, AParallelReaderOfAnObjectShorterThanListedFails) {
  ObjectInfo listed{"0000/0000000000000001-0000000000000001.ltx", bytes_.size() + (1 << 20),
                    absl::Now()};
  ParallelReadOptions small{.part_size = 1 << 20, .threads = 3, .window = 4};
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r,
                          NewParallelObjectReader([&] { return Client(); }, listed, small));
  std::vector<char> buf(1 << 20);
  absl::Status end;
  uint64_t got = 0;
  while (true) {
    absl::StatusOr<size_t> n = r->Read(buf.data(), buf.size());
    if (!n.ok()) {
      end = n.status();
      break;
    }
    if (*n == 0) break;
    got += *n;
  }
  EXPECT_TRUE(absl::IsDataLoss(end) || absl::IsFailedPrecondition(end)) << end;
  EXPECT_LE(got, bytes_.size());
}

TEST_F(ForeignObjectsTest, AParallelReaderStreamsTheObjectInOrder) {
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ReplicaClient> c, Client());
  LS_ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> ltx, c->ListObjects("0000/"));
  ASSERT_EQ(ltx.size(), 1u);
  ParallelReadOptions small{.part_size = 1 << 20, .threads = 3, .window = 4};
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r,
                          NewParallelObjectReader([&] { return Client(); }, ltx[0], small));
  std::string got;
  std::vector<char> buf(300000);  // reads that straddle parts
  while (true) {
    LS_ASSERT_OK_AND_ASSIGN(size_t n, r->Read(buf.data(), buf.size()));
    if (n == 0) break;
    got.append(buf.data(), n);
  }
  EXPECT_EQ(got.size(), bytes_.size());
  EXPECT_TRUE(got == bytes_);
}

TEST_F(ForeignObjectsTest, AParallelReaderEndsWithThePartsError) {
  ObjectInfo missing{"0000/0000000000000002-0000000000000002.ltx", 3 << 20, absl::Now()};
  ParallelReadOptions small{.part_size = 1 << 20, .threads = 2, .window = 2};
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r,
                          NewParallelObjectReader([&] { return Client(); }, missing, small));
  std::vector<char> buf(1 << 16);
  absl::StatusOr<size_t> n = r->Read(buf.data(), buf.size());
  EXPECT_TRUE(absl::IsNotFound(n.status())) << n.status();
  EXPECT_THAT(std::string(n.status().message()),
              HasSubstr("0000000000000002-0000000000000002.ltx"));
}

}  // namespace
}  // namespace litesync
