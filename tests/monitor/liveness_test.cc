// The liveness record: its text format, and the writer's schedule (at most one
// PUT per interval, none when off or before a file is known).
#include "replica/format/liveness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/engine/liveness.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/replica_client.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;

TxFileInfo File(Lineage lineage, int level, uint64_t min, uint64_t max, int64_t ms) {
  TxFileInfo f;
  f.lineage = lineage;
  f.level = level;
  f.min_txid = min;
  f.max_txid = max;
  f.timestamp = absl::FromUnixMillis(ms);
  return f;
}

TEST(LivenessRecordTest, RoundTripsEveryField) {
  LivenessRecord r;
  r.lineage = 1;
  r.txid = 0x2a;
  r.file = File(1, 0, 0x29, 0x2a, 1'701'000'000'123);
  r.confirmed = absl::FromUnixMillis(1'701'000'005'000);
  r.host = "app-1";
  std::string text = EncodeLiveness(r);
  EXPECT_THAT(text, HasSubstr("litesync-liveness 1\nlineage 0000000000000001\n"));
  EXPECT_THAT(text, HasSubstr("file 0/0000000000000029-000000000000002a-"));
  absl::StatusOr<LivenessRecord> back = DecodeLiveness(text);
  LS_ASSERT_OK(back.status());
  EXPECT_EQ(back->lineage, 1u);
  EXPECT_EQ(back->txid, 0x2au);
  EXPECT_EQ(back->file, r.file);
  EXPECT_EQ(back->confirmed, r.confirmed);
  EXPECT_EQ(back->host, "app-1");
}

TEST(LivenessRecordTest, RefusesRecordsThatAreNotOneOrDoNotAddUp) {
  EXPECT_FALSE(DecodeLiveness("litesync-lease 1\nowner x\n").ok());
  EXPECT_FALSE(DecodeLiveness("").ok());
  LivenessRecord r;
  r.lineage = 1;
  r.txid = 9;
  r.file = File(1, 0, 1, 5, 1000);  // does not hold txid 9
  absl::StatusOr<LivenessRecord> bad = DecodeLiveness(EncodeLiveness(r));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("not a tx file holding txid"));
  r.txid = 5;
  r.file = File(1, 0, 1, 5, 1000);
  std::string text = EncodeLiveness(r);
  text.replace(text.find("txid 0"), 6, "txid x");
  EXPECT_THAT(std::string(DecodeLiveness(text).status().message()), HasSubstr("line 3: bad txid"));
}

class LivenessWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReplicaOptions o;
    o.type = "file";
    o.settings<FileSettings>().path = dir_.Join("replica");
    absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewReplicaClient(o);
    LS_ASSERT_OK(c.status());
    client_ = *std::move(c);
  }
  testing::TempDir dir_;
  std::unique_ptr<ReplicaClient> client_;
  absl::Time t0_ = absl::FromUnixSeconds(1'700'000'000);
};

TEST_F(LivenessWriterTest, WritesAtMostOncePerInterval) {
  LivenessWriter w(absl::Seconds(30), "host-a");
  LS_ASSERT_OK(w.MaybeWrite(*client_, t0_));  // no file noted yet: nothing
  EXPECT_TRUE(absl::IsNotFound(client_->ReadRecord(kLivenessRecord).status()));
  w.NoteFile(File(1, 0, 1, 3, 1000));
  LS_ASSERT_OK(w.MaybeWrite(*client_, t0_));
  absl::StatusOr<Record> first = client_->ReadRecord(kLivenessRecord);
  LS_ASSERT_OK(first.status());
  w.NoteFile(File(1, 0, 4, 6, 2000));
  LS_ASSERT_OK(w.MaybeWrite(*client_, t0_ + absl::Seconds(29)));  // not due: unchanged
  EXPECT_EQ(client_->ReadRecord(kLivenessRecord)->bytes, first->bytes);
  LS_ASSERT_OK(w.MaybeWrite(*client_, t0_ + absl::Seconds(30)));
  absl::StatusOr<LivenessRecord> r = DecodeLiveness(client_->ReadRecord(kLivenessRecord)->bytes);
  LS_ASSERT_OK(r.status());
  EXPECT_EQ(r->txid, 6u);
  EXPECT_EQ(r->confirmed, t0_ + absl::Seconds(30));
  EXPECT_EQ(r->host, "host-a");
  // An older file of the same lineage (a late acknowledgement) does not move it back.
  w.NoteFile(File(1, 0, 1, 3, 1000));
  LS_ASSERT_OK(w.MaybeWrite(*client_, t0_ + absl::Seconds(60)));
  EXPECT_EQ(DecodeLiveness(client_->ReadRecord(kLivenessRecord)->bytes)->txid, 6u);
}

TEST_F(LivenessWriterTest, OffWritesNothing) {
  LivenessWriter w(absl::ZeroDuration(), "host-a");
  w.NoteFile(File(1, 0, 1, 3, 1000));
  LS_ASSERT_OK(w.MaybeWrite(*client_, t0_));
  EXPECT_EQ(w.due(), absl::InfiniteFuture());
  EXPECT_TRUE(absl::IsNotFound(client_->ReadRecord(kLivenessRecord).status()));
}

}  // namespace
}  // namespace litesync
