// What one check lists (monitor/verdict.cc, NewestFile): a replica on s3rver
// whose level 0 holds more than one list page of files, with compacted levels
// above it, judged through a pass-through proxy that records every request. The
// level-0 listing must start near the newest file (one page), from the compacted
// levels or from the liveness record, and still find the newest file.
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "monitor/verdict.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/format/liveness.h"
#include "replica/storage/replica_client.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

using testing::FakeClock;
using testing::FaultProxy;
using testing::S3Server;

const absl::Time kBase = absl::FromUnixSeconds(1'750'000'000);
constexpr uint64_t kNewest = 1100;  // level 0: one file per TXID 1..1100 (two list pages)

TxFileInfo Info(int level, uint64_t min, uint64_t max) {
  TxFileInfo i;
  i.lineage = 1;
  i.level = level;
  i.min_txid = min;
  i.max_txid = max;
  i.timestamp = kBase + absl::Seconds(static_cast<int64_t>(max));
  return i;
}

std::unique_ptr<ReplicaClient> Client(const ReplicaOptions& o) {
  absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewReplicaClient(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

// The files a day of syncs and compaction would leave, in miniature: level 0
// 1..1100; level 1 in hundreds up to 1000; level 2 1..500 and 501..1000; level 3
// 1..500; snapshots of TXIDs 1 and 1050.
std::vector<TxFileInfo> Layout() {
  std::vector<TxFileInfo> files;
  for (uint64_t t = 1; t <= kNewest; t++) files.push_back(Info(0, t, t));
  for (uint64_t t = 1; t <= 1000; t += 100) files.push_back(Info(1, t, t + 99));
  files.push_back(Info(2, 1, 500));
  files.push_back(Info(2, 501, 1000));
  files.push_back(Info(3, 1, 500));
  files.push_back(Info(kSnapshotLevel, 1, 1));
  files.push_back(Info(kSnapshotLevel, 1, 1050));
  return files;
}

// Listings sent for `level` of lineage 1 (the prefix ends ".../0000000000000001/<level>/").
int Listings(const FaultProxy& proxy, int level) {
  std::regex re("list-type=2.*prefix=[^&]*0000000000000001(%2F|/)" + std::to_string(level) +
                "(%2F|/)");
  int n = 0;
  for (const std::string& line : proxy.request_lines()) n += std::regex_search(line, re);
  return n;
}

class VerdictListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<TxFileInfo> files = Layout();
    constexpr size_t kWriters = 4;
    std::vector<std::thread> writers;
    for (size_t w = 0; w < kWriters; w++) {
      writers.emplace_back([&, w] {
        std::unique_ptr<ReplicaClient> c = Client(server_.Options("app"));
        for (size_t i = w; i < files.size() && c; i += kWriters) {
          std::unique_ptr<ByteSource> src = MemorySource("x");
          absl::Status s = c->Write(files[i], *src);
          ASSERT_TRUE(s.ok()) << s;
        }
      });
    }
    for (std::thread& t : writers) t.join();
  }
  ReplicaVerdict Check(FaultProxy& proxy) {
    std::unique_ptr<ReplicaClient> c = Client(server_.Options("app", proxy.endpoint()));
    JudgeOptions o;
    o.max_age = absl::Seconds(10);
    FakeClock clock(kBase + absl::Seconds(kNewest + 1));
    return Judge(*c, o, clock);
  }
  void WriteLiveness(const TxFileInfo& file) {
    LivenessRecord r{.lineage = 1,
                     .txid = file.max_txid,
                     .file = file,
                     .confirmed = kBase + absl::Seconds(kNewest),
                     .host = "app-host"};
    LS_ASSERT_OK(Client(server_.Options("app"))->WriteRecord(kLivenessRecord, EncodeLiveness(r)));
  }

  S3Server server_;
};

TEST_F(VerdictListingTest, LevelZeroIsListedFromTheNewestCompactedFile) {
  FaultProxy proxy(server_.port());
  ReplicaVerdict v = Check(proxy);
  EXPECT_TRUE(v.fresh) << v.reason;
  ASSERT_TRUE(v.newest_file.has_value());
  EXPECT_EQ(*v.newest_file, Info(0, kNewest, kNewest));
  // Level 0 from TXID 901 (the newest level-1 file's start): one page of 200
  // names, not the two pages of all 1,100. Each compacted level: one page.
  EXPECT_EQ(Listings(proxy, 0), 1);
  for (int level = 1; level <= kMaxCompactionLevel; level++) EXPECT_EQ(Listings(proxy, level), 1);
  EXPECT_EQ(Listings(proxy, kSnapshotLevel), 1);
}

TEST_F(VerdictListingTest, ALivenessRecordSavesTheCompactedLevels) {
  // The record names the newest level-0 file, or (an idle database) a snapshot
  // level 9 holds: level 0 is listed from there, the compacted levels not at all.
  for (const TxFileInfo& named : {Info(0, kNewest, kNewest), Info(kSnapshotLevel, 1, 1050)}) {
    SCOPED_TRACE(named.RelativePath());
    WriteLiveness(named);
    FaultProxy proxy(server_.port());
    ReplicaVerdict v = Check(proxy);
    EXPECT_TRUE(v.fresh) << v.reason;
    EXPECT_TRUE(v.liveness.confirmed);
    ASSERT_TRUE(v.newest_file.has_value());
    EXPECT_EQ(*v.newest_file, Info(0, kNewest, kNewest));
    EXPECT_EQ(Listings(proxy, 0), 1);
    for (int level = 1; level <= kMaxCompactionLevel; level++) {
      EXPECT_EQ(Listings(proxy, level), 0);
    }
  }
}

TEST_F(VerdictListingTest, ARecordNamingAnOlderFileStillFindsTheNewest) {
  // A record from before the newest syncs: the listing from its file on holds them.
  WriteLiveness(Info(0, 1050, 1050));
  FaultProxy proxy(server_.port());
  ReplicaVerdict v = Check(proxy);
  ASSERT_TRUE(v.newest_file.has_value());
  EXPECT_EQ(*v.newest_file, Info(0, kNewest, kNewest));
  EXPECT_TRUE(v.liveness.confirmed);
  EXPECT_EQ(Listings(proxy, 0), 1);
}

TEST_F(VerdictListingTest, ARecordNamingAFileStorageLacksFallsBackAndIsNotTrusted) {
  WriteLiveness(Info(0, 5000, 5000));
  FaultProxy proxy(server_.port());
  ReplicaVerdict v = Check(proxy);
  ASSERT_TRUE(v.newest_file.has_value());
  EXPECT_EQ(*v.newest_file, Info(0, kNewest, kNewest));
  EXPECT_FALSE(v.liveness.confirmed);
  // The hint's listing (empty), then the descent's.
  EXPECT_EQ(Listings(proxy, 0), 2);
  EXPECT_EQ(Listings(proxy, 1), 1);
}

}  // namespace
}  // namespace litesync
